//! `handler hold set|release|list`: legal holds from the command line, through the same request
//! validation ([`body::parse`]) and code path ([`holds::set`], [`holds::release`], [`holds::list`])
//! as `POST`/`DELETE`/`GET /api/holds`.
//!
//! Target flags: `--recording ID` | `--blob URL` | a bulk selector `--from D --to D [--user U]
//! [--vm V] [--session S]`; `--reason R` and `--by WHO` are required for set/release (the CLI has no
//! principal, so the operator names themself); `--id HOLD` names the hold (default: derived from the
//! target). `list [--recording ID]`. Prints the JSON result; exit 0 done, 1 failed, 2 usage.

use std::process::ExitCode;

use serde_json::{Map, Value};

use crate::app::AppState;
use crate::catalogue::api::holds::{self, HoldRequest, body};
use crate::catalogue::api::problem::ApiError;
use crate::config::Config;
use crate::retention::hold::Actor;

/// What `hold` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldAction {
    /// Set a hold.
    Set,
    /// Release it.
    Release,
    /// List active holds (or one recording's).
    List,
}

/// Parses the action word.
///
/// # Errors
/// A usage message.
pub fn action(word: Option<&str>) -> Result<HoldAction, String> {
    match word {
        Some("set") => Ok(HoldAction::Set),
        Some("release") => Ok(HoldAction::Release),
        Some("list") => Ok(HoldAction::List),
        _ => Err("hold needs `set`, `release` or `list`".to_owned()),
    }
}

/// Builds the validated request and the actor name from set/release flags.
///
/// # Errors
/// A usage message (unknown flag, missing `--by`, or the API's validation message).
pub fn request(flags: &[(String, String)]) -> Result<(HoldRequest, String), String> {
    let (mut top, mut bulk, mut by) = (Map::new(), Map::new(), None);
    for (k, v) in flags {
        let v = Value::String(v.clone());
        match k.as_str() {
            "recording" => top.insert("recording".into(), v),
            "blob" => top.insert("blobUrl".into(), v),
            "reason" => top.insert("reason".into(), v),
            "id" => top.insert("holdId".into(), v),
            "from" | "to" | "user" | "vm" | "session" => bulk.insert(k.clone(), v),
            "by" => {
                by = v.as_str().map(str::to_owned);
                None
            }
            other => return Err(format!("unknown flag --{other}")),
        };
    }
    if !bulk.is_empty() {
        top.insert("bulk".into(), Value::Object(bulk));
    }
    let by = by
        .map(|b| b.trim().to_owned())
        .filter(|b| !b.is_empty())
        .ok_or("--by WHO is required (recorded with the hold)")?;
    let body = serde_json::to_vec(&Value::Object(top)).map_err(|e| e.to_string())?;
    Ok((body::parse(&body)?, by))
}

fn list_flags(flags: &[(String, String)]) -> Result<Option<String>, String> {
    match flags {
        [] => Ok(None),
        [(k, v)] if k == "recording" => Ok(Some(v.clone())),
        _ => Err("hold list takes only --recording ID".into()),
    }
}

fn problem(e: &ApiError) -> ExitCode {
    let code = e.status().as_u16();
    eprintln!("hold failed ({code}): {e:?}");
    if code == 400 {
        ExitCode::from(2)
    } else {
        ExitCode::from(1)
    }
}

/// Runs `hold <action> <flags>`.
pub async fn run(action: HoldAction, flags: Vec<(String, String)>) -> ExitCode {
    let parsed = match action {
        HoldAction::List => list_flags(&flags).map(|r| (None, r)),
        _ => request(&flags).map(|r| (Some(r), None)),
    };
    let (req, recording) = match parsed {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let state = match Config::from_env().and_then(AppState::from_config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let result = match req {
        None => holds::list(&state, recording.as_deref()).await,
        Some((req, by)) => {
            let actor = Actor {
                who: by,
                why: req.reason.clone(),
                at: state.clock.now(),
            };
            if action == HoldAction::Set {
                holds::set(&state, &req, &actor).await
            } else {
                holds::release(&state, &req, &actor).await
            }
        }
    };
    match result {
        Ok(v) => {
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Err(e) => problem(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(f: &[(&str, &str)]) -> Vec<(String, String)> {
        f.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect()
    }

    #[test]
    fn flags_become_the_api_request() {
        let (req, by) = request(&flags(&[
            ("recording", "2025-03-14~eA"),
            ("reason", "case 9"),
            ("by", "alice"),
            ("id", "case-9"),
        ]))
        .expect("ok");
        assert_eq!(
            (by.as_str(), req.hold_id.as_deref()),
            ("alice", Some("case-9"))
        );
        let (bulk, _) = request(&flags(&[
            ("from", "2025-03-01"),
            ("to", "2025-03-02"),
            ("user", "mallory"),
            ("vm", "VM-1"),
            ("reason", "r"),
            ("by", "b"),
        ]))
        .expect("bulk");
        assert!(
            matches!(bulk.target, holds::HoldTarget::Bulk(ref s) if s.vm.as_deref() == Some("vm-1"))
        );
        for bad in [
            &[("recording", "2025-03-14~eA"), ("reason", "r")][..],
            &[("recording", "2025-03-14~eA"), ("reason", "r"), ("by", " ")],
            &[("recording", "2025-03-14~eA"), ("by", "b")],
            &[
                ("recording", "2025-03-14~eA"),
                ("blob", "https://a/c/b"),
                ("reason", "r"),
                ("by", "b"),
            ],
            &[("user", "u"), ("reason", "r"), ("by", "b")],
            &[
                ("recording", "2025-03-14~eA"),
                ("reason", "r"),
                ("by", "b"),
                ("force", "1"),
            ],
        ] {
            assert!(request(&flags(bad)).is_err(), "{bad:?}");
        }
        assert_eq!(list_flags(&[]), Ok(None));
        assert!(list_flags(&flags(&[("user", "u")])).is_err());
        assert_eq!(action(Some("release")), Ok(HoldAction::Release));
        assert!(action(None).is_err());
    }
}
