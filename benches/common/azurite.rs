//! A fresh, empty Azurite for every run.
//!
//! Azurite's cost per call grows with everything it holds, so whoever ran last on a shared
//! instance would pay for the others' data. The benches therefore run their own instance through
//! `scripts/azurite.sh` (state in `.azurite-bench`, apart from the tests' `.azurite`) and restart
//! it before each run. `--shared-azurite` uses `AZURITE_CONNECTION_STRING` as it is instead (then
//! later runs meet a fuller emulator).

use std::cell::Cell;
use std::path::PathBuf;
use std::process::Command;

/// The bench's own Azurite, or a shared one.
pub(crate) enum Azurite {
    /// Restarted empty for every contestant; the process id of the running instance.
    Own(PathBuf, Cell<Option<u32>>),
    /// Given by `AZURITE_CONNECTION_STRING`, never restarted.
    Shared(String),
}

impl Azurite {
    /// `--shared-azurite`: the instance of `AZURITE_CONNECTION_STRING` (`None` when unset); else
    /// the bench's own.
    pub(crate) fn from_args() -> Option<Self> {
        if !super::flag("--shared-azurite") {
            return Some(Self::own());
        }
        let cs = std::env::var("AZURITE_CONNECTION_STRING").ok();
        if cs.is_none() {
            eprintln!("--shared-azurite needs AZURITE_CONNECTION_STRING");
        }
        cs.map(Self::Shared)
    }

    fn script() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/azurite.sh")
    }

    /// The bench's own instance (state under `.azurite-bench`).
    pub(crate) fn own() -> Self {
        Self::own_in(".azurite-bench")
    }

    /// Another instance of the bench's own, with its state in `dir` (under the repository): several
    /// can run side by side.
    pub(crate) fn own_in(dir: &str) -> Self {
        Self::Own(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(dir),
            Cell::new(None),
        )
    }

    /// With `--shared-azurite`, the shared instance; else one of the bench's own in `dir`.
    pub(crate) fn from_args_in(dir: &str) -> Option<Self> {
        if super::flag("--shared-azurite") {
            Self::from_args()
        } else {
            Some(Self::own_in(dir))
        }
    }

    fn script_run(dir: &PathBuf, verb: &str) -> String {
        let out = Command::new(Self::script())
            .arg(verb)
            .env("AZURITE_STATE_DIR", dir)
            .stderr(std::process::Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("scripts/azurite.sh {verb}: {e}"));
        assert!(
            out.status.success() || verb == "stop",
            "scripts/azurite.sh {verb} failed ({}); run it by hand to see why",
            out.status
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A connection string to an instance holding nothing (own), or to the shared one.
    pub(crate) fn fresh(&self) -> String {
        match self {
            Self::Shared(cs) => cs.clone(),
            Self::Own(dir, pid) => {
                Self::script_run(dir, "stop");
                let exports = Self::script_run(dir, "start");
                pid.set(
                    exports
                        .split("AZURITE_PID=")
                        .nth(1)
                        .and_then(|rest| rest.split(' ').next())
                        .and_then(|p| p.parse().ok()),
                );
                exports
                    .split("AZURITE_CONNECTION_STRING='")
                    .nth(1)
                    .and_then(|rest| rest.split('\'').next())
                    .expect("scripts/azurite.sh start prints the connection string")
                    .to_owned()
            }
        }
    }
}

impl Azurite {
    /// The process id of the bench's own instance, once started (its CPU time is sampled).
    pub(crate) fn pid(&self) -> Option<u32> {
        match self {
            Self::Own(_, pid) => pid.get(),
            Self::Shared(_) => None,
        }
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        if let Self::Own(dir, _) = self {
            Self::script_run(dir, "stop");
        }
    }
}
