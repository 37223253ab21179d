//! MFA at a session's Entra VM sign-in (`AUTHZ_SIGNIN_MFA`), from the `SigninLogs` rows of the
//! VM sign-in applications (entra-docs `docs/identity/devices/howto-vm-sign-in-azure-ad-windows.md`,
//! "Sign in to a Windows virtual machine in Azure by using Microsoft Entra ID", its
//! troubleshooting: *Microsoft Azure Windows Virtual Machine Sign-in*, also shown as *Azure Windows
//! VM Sign-in*, "Application ID of 372140e0-b3b7-4226-8ef9-d57986796201"; azure-docs "…Linux
//! virtual machine …": *Azure Linux VM Sign-In*, app id `ce6ff14a-…`), read in the table's
//! documented columns (`Id`, `TimeGenerated`, `UserPrincipalName`, `UserId`, `AppId`,
//! `AppDisplayName`, `ResultType` (`"0"` a success), `AuthenticationRequirement` (`multiFactorAuthentication` or
//! `singleFactorAuthentication`), `AuthenticationDetails` (a list of steps with `succeeded` and
//! `authenticationStepResultDetail`)).
//!
//! The rows come in the same query as `AuditLogs` (one query per workspace a check): a fuzzy
//! `union` of its legs, each leg's table read known by a counting row of its own ([`READ_MARK`]),
//! so a workspace without `SigninLogs` reads `AuditLogs` still and says the sign-ins unread.
//!
//! A session's sign-in is its person's latest successful sign-in to either app from
//! [`BEFORE`] before its start to [`SKEW`] after it (a sign-in row names no VM): MFA `satisfied`
//! when its requirement was multi-factor or a step says MFA was completed, else
//! `not-satisfied`; none found: absent (not an Entra VM sign-in, or not logged), unless
//! `SigninLogs` could not be read: `unknown`. A session that did not sign in with Entra ID (its
//! account not in UPN form, or its VM without the login extension as last read) is not looked up.

use serde_json::Value;
use time::{Duration, OffsetDateTime};

use super::decide::{Entra, SKEW, Session};
pub use super::evidence::Mfa;
use crate::catalogue::person::forms;
use crate::dates::timestamp;
use crate::loganalytics::row::{cell, dynamic, text};

/// The VM sign-in applications' ids (Windows, Linux).
pub const APPS: [&str; 2] = [
    "372140e0-b3b7-4226-8ef9-d57986796201",
    "ce6ff14a-7fdc-4685-bbe0-f6afdfcfa8e0",
];
/// The table.
pub const TABLE: &str = "SigninLogs";
/// A leg's counting row's `Type` suffix: `AuditLogsRead`, `SigninLogsRead`.
pub const READ_MARK: &str = "Read";
/// How long before a session's start its sign-in may lie (a Linux VM's SSH certificate is
/// fetched before the connection).
pub const BEFORE: Duration = Duration::hours(1);

/// One successful or failed VM sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignIn {
    /// `Id`.
    pub id: String,
    /// `TimeGenerated`.
    pub at: OffsetDateTime,
    /// `UserPrincipalName`.
    pub upn: String,
    /// `UserId`.
    pub user_id: String,
    /// `ResultType` is `"0"`.
    pub succeeded: bool,
    /// MFA satisfied.
    pub mfa: bool,
}

/// The union legs of the VM sign-ins: their rows, and the table's counting row.
pub fn legs() -> (String, String) {
    let apps = APPS.map(|a| format!("\"{a}\"")).join(", ");
    (
        format!(
            "({TABLE}\n\
             | where AppId in ({apps})\n\
             | project Type, Id, TimeGenerated, UserPrincipalName, UserId, AppId, AppDisplayName, \
             ResultType, AuthenticationRequirement, AuthenticationDetails)"
        ),
        format!(
            "({TABLE} | summarize SigninRows = count() | extend Type = \"{TABLE}{READ_MARK}\")"
        ),
    )
}

/// One answer row as a sign-in (`None` for another table's row).
pub fn read(columns: &[String], row: &[Value]) -> Option<SignIn> {
    let t = |n: &str| text(columns, row, n);
    if t("Type") != TABLE {
        return None;
    }
    let details = dynamic(cell(columns, row, "AuthenticationDetails"));
    let completed = details.as_array().into_iter().flatten().any(|d| {
        d["succeeded"] == true
            && d["authenticationStepResultDetail"]
                .as_str()
                .is_some_and(|r| r.to_ascii_lowercase().contains("mfa"))
    });
    Some(SignIn {
        id: t("Id"),
        at: timestamp(&t("TimeGenerated"))?,
        upn: t("UserPrincipalName"),
        user_id: t("UserId").to_ascii_lowercase(),
        succeeded: t("ResultType").trim() == "0",
        mfa: t("AuthenticationRequirement").eq_ignore_ascii_case("multiFactorAuthentication")
            || completed,
    })
}

/// The MFA of `s` from `signins`, with the sign-in it rests on; `unread` says `SigninLogs` was not
/// (wholly) read somewhere. A session that did not sign in with Entra ID ([`Entra::No`]: its
/// account not in UPN form, or its VM without an Entra ID login extension) has no VM sign-in to
/// look up: absent, whatever `SigninLogs` holds (a sign-in row names no VM: the person's sign-in
/// to another VM is not this session's); one whose sign-in is untold is looked up.
pub fn of_session(s: &Session, signins: &[SignIn], unread: bool) -> (Option<Mfa>, String) {
    if s.entra == Entra::No {
        return (None, String::new());
    }
    let Some(start) = s.start else {
        return (unread.then_some(Mfa::Unknown), String::new());
    };
    let mine = forms(&s.upn);
    let found = signins
        .iter()
        .filter(|i| i.succeeded && i.at >= start - BEFORE && i.at <= start + SKEW)
        .filter(|i| {
            (!s.object_id.is_empty() && i.user_id.eq_ignore_ascii_case(s.object_id.trim()))
                || (!s.upn.trim().is_empty() && forms(&i.upn).iter().any(|f| mine.contains(f)))
        })
        .max_by(|a, b| a.at.cmp(&b.at).then_with(|| a.id.cmp(&b.id)));
    match found {
        Some(i) if i.mfa => (Some(Mfa::Satisfied), i.id.clone()),
        Some(i) => (Some(Mfa::NotSatisfied), i.id.clone()),
        None => (unread.then_some(Mfa::Unknown), String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    fn row(id: &str, upn: &str, at: &str, result: &str, req: &str) -> (Vec<String>, Vec<Value>) {
        let details = json!([{"authenticationStepDateTime": at, "authenticationMethod": "Password",
            "succeeded": true, "authenticationStepResultDetail": "Correct password"}]);
        let cols = [
            "Type",
            "Id",
            "TimeGenerated",
            "UserPrincipalName",
            "UserId",
            "AppId",
            "AppDisplayName",
            "ResultType",
            "AuthenticationRequirement",
            "AuthenticationDetails",
        ];
        let vals = vec![
            json!("SigninLogs"),
            json!(id),
            json!(at),
            json!(upn),
            json!("oid-1"),
            json!(APPS[1]),
            json!("Azure Linux VM Sign-In"),
            json!(result),
            json!(req),
            json!(details.to_string()),
        ];
        (cols.map(str::to_owned).to_vec(), vals)
    }

    fn signin(id: &str, upn: &str, at: &str, result: &str, req: &str) -> SignIn {
        let (c, r) = row(id, upn, at, result, req);
        read(&c, &r).expect("a sign-in")
    }

    #[test]
    fn the_latest_successful_sign_in_of_the_person_before_the_start_decides() {
        let s = Session {
            upn: "Alice@Contoso.com".into(),
            start: Some(datetime!(2026-11-25 8:00 UTC)),
            entra: Entra::Yes,
            ..Session::default()
        };
        let all = [
            signin(
                "early",
                "alice@contoso.com",
                "2026-11-25T06:30:00Z",
                "0",
                "multiFactorAuthentication",
            ),
            signin(
                "single",
                "alice@contoso.com",
                "2026-11-25T07:40:00Z",
                "0",
                "singleFactorAuthentication",
            ),
            signin(
                "mfa",
                "alice@contoso.com",
                "2026-11-25T07:55:00Z",
                "0",
                "multiFactorAuthentication",
            ),
            signin(
                "failed",
                "alice@contoso.com",
                "2026-11-25T07:58:00Z",
                "50074",
                "singleFactorAuthentication",
            ),
            signin(
                "late",
                "alice@contoso.com",
                "2026-11-25T08:06:00Z",
                "0",
                "singleFactorAuthentication",
            ),
            signin(
                "bob",
                "bob@contoso.com",
                "2026-11-25T07:59:00Z",
                "0",
                "singleFactorAuthentication",
            ),
        ];
        assert_eq!(
            of_session(&s, &all, false),
            (Some(Mfa::Satisfied), "mfa".into())
        );
        assert_eq!(
            of_session(&s, &all[..2], true),
            (Some(Mfa::NotSatisfied), "single".into())
        );
        assert_eq!(of_session(&s, &all[..1], false), (None, String::new()));
        assert_eq!(
            of_session(&s, &all[..1], true),
            (Some(Mfa::Unknown), String::new())
        );
    }

    /// A session that did not sign in with Entra ID (a local account, or a UPN on a VM without
    /// the login extension) has no VM sign-in: absent even with `SigninLogs` unread; an untold one
    /// is looked up.
    #[test]
    fn a_session_without_entra_sign_in_is_not_looked_up() {
        let s = |entra: Entra| Session {
            upn: "alice@contoso.com".into(),
            start: Some(datetime!(2026-11-25 8:00 UTC)),
            entra,
            ..Session::default()
        };
        let all = [signin(
            "mfa",
            "alice@contoso.com",
            "2026-11-25T07:55:00Z",
            "0",
            "multiFactorAuthentication",
        )];
        assert_eq!(of_session(&s(Entra::No), &all, true), (None, String::new()));
        let untold = s(Entra::Untold("not read yet".into()));
        assert_eq!(
            of_session(&untold, &all, false),
            (Some(Mfa::Satisfied), "mfa".into())
        );
        assert_eq!(
            of_session(&untold, &[], true),
            (Some(Mfa::Unknown), String::new())
        );
    }

    #[test]
    fn a_step_completing_mfa_counts_and_other_tables_rows_are_not_sign_ins() {
        let (c, mut r) = row(
            "x",
            "a@b.c",
            "2026-11-25T07:55:00Z",
            "0",
            "singleFactorAuthentication",
        );
        r[9] = json!(json!([{"succeeded": true, "authenticationStepResultDetail": "MFA requirement satisfied by claim in the token"}]).to_string());
        assert!(read(&c, &r).is_some_and(|i| i.mfa));
        r[0] = json!("AuditLogs");
        assert_eq!(read(&c, &r), None);
    }
}
