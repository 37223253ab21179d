//! `report.pdf`: the report printed by headless Chromium where one is installed.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The Chromium binaries looked for on `PATH`, in order.
pub const CANDIDATES: &[&str] = &["chromium", "chromium-browser", "google-chrome", "chrome"];
/// Longest a print may take.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// Whether and how a pack's report is printed: what its manifest says about `report.pdf`.
#[derive(Debug, Clone, Copy)]
pub enum Print<'a> {
    /// Printed by this Chromium.
    With(&'a Chromium),
    /// Not asked for (`handler evidence --no-pdf`).
    NotAsked,
    /// Asked for, but no Chromium was found on `PATH`.
    NoChromium,
    /// Made where nothing prints (`GET /api/evidence`, the `EvidencePack` timer).
    NotHere,
}

/// The report's file name.
pub const REPORT: &str = "report.html";
/// The printed report's file name.
pub const REPORT_PDF: &str = "report.pdf";

impl Print<'_> {
    /// The manifest's note when no PDF is printed (`None` when one is to be).
    pub fn note(self) -> Option<String> {
        let pdf = REPORT_PDF;
        let truth = format!("{REPORT} is the source of truth");
        match self {
            Self::With(_) => None,
            Self::NotAsked => Some(format!("{pdf} not asked for (--no-pdf); {truth}")),
            Self::NoChromium => Some(format!(
                "{pdf} not produced: no Chromium on PATH ({}); {truth}",
                CANDIDATES.join(", ")
            )),
            Self::NotHere => Some(format!(
                "{pdf} not produced: only the handler evidence command prints it; {truth}"
            )),
        }
    }
}

/// Prints through a Chromium binary.
#[derive(Debug, Clone)]
pub struct Chromium {
    /// The binary.
    pub binary: PathBuf,
}

impl Chromium {
    /// The first of [`CANDIDATES`] that runs (`--version`; the OS resolves the name on `PATH`).
    pub fn find() -> Option<Self> {
        CANDIDATES
            .iter()
            .find(|c| {
                std::process::Command::new(c)
                    .arg("--version")
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            })
            .map(|c| Self {
                binary: PathBuf::from(c),
            })
    }

    /// Prints `html` (a file path) to `pdf`.
    ///
    /// # Errors
    /// Why no PDF was produced (the note the manifest keeps).
    pub async fn print(&self, html: &Path, pdf: &Path) -> Result<(), String> {
        let html = std::fs::canonicalize(html).map_err(|e| format!("report path: {e}"))?;
        let profile =
            std::env::temp_dir().join(format!("evidence-chromium-{}", uuid::Uuid::new_v4()));
        // A throw-away profile, no network use beyond the file, no sandbox (containers run as root).
        let run = tokio::process::Command::new(&self.binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-pdf-header-footer",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(format!("--print-to-pdf={}", pdf.display()))
            .arg(format!("file://{}", html.display()))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .status();
        let status = tokio::time::timeout(TIMEOUT, run).await;
        let _ = std::fs::remove_dir_all(&profile);
        match status {
            Err(_) => Err(format!(
                "Chromium did not finish within {}s",
                TIMEOUT.as_secs()
            )),
            Ok(Err(e)) => Err(format!("Chromium did not start: {e}")),
            Ok(Ok(s)) if !s.success() => Err(format!("Chromium failed ({s})")),
            Ok(Ok(_)) if !pdf.is_file() => Err("Chromium wrote no PDF".to_owned()),
            Ok(Ok(_)) => Ok(()),
        }
    }
}
