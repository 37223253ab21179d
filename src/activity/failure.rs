//! Whether a `Failure` row of the Activity log is a request Azure refused before anything ran (an
//! attempt) or an operation that was accepted and failed later (a door used). Only the failure's
//! own error decides: `Properties_d.statusMessage` (JSON text or an object: `{"error": {"code",
//! "message", "details": [...]}}`, or `{"status": "Failed", "error": {...}}`). The status code
//! (`Properties_d.statusCode`, `ActivitySubstatusValue`) never does: Microsoft's own example of an
//! accepted operation that failed later carries `Conflict`. Every code the error names must be a
//! refusal for the failure to be an attempt; an error that names none, or any other code
//! (`VMExtensionProvisioningError`, a script's failure), is a use.

use serde_json::Value;

use crate::loganalytics::row::dynamic;

/// Codes of a request refused before anything ran: authorization, policy and validation.
const REFUSED: [&str; 12] = [
    "AuthorizationFailed",
    "LinkedAuthorizationFailed",
    "RequestDisallowedByPolicy",
    "InvalidParameter",
    "InvalidRequestContent",
    "InvalidRequestFormat",
    "InvalidResourceReference",
    "MissingRequiredParameter",
    "BadRequest",
    "InvalidApiVersionParameter",
    "ResourceNotFound",
    "PropertyChangeNotAllowed",
];
/// Codes that are a refusal only when the message says the request was not run.
const REFUSED_IF_SAID: [&str; 4] = [
    "Conflict",
    "OperationNotAllowed",
    "AnotherOperationInProgress",
    "OperationPreempted",
];
/// What a message says when the request itself was refused (lower-case).
const REFUSAL_WORDS: [&str; 4] = [
    "another operation is in progress",
    "is not allowed",
    "cannot be performed",
    "was rejected",
];
/// Most characters of a failure's text the evidence keeps.
pub const MAX_TEXT: usize = 300;

/// The error a failure's properties carry: each `(code, message)` of it and its details, the
/// outermost first (`None`: no readable error).
fn errors(properties: &Value) -> Option<Vec<(String, String)>> {
    let status = dynamic(properties.get("statusMessage"));
    let error = status.get("error").unwrap_or(&status);
    let mut out = Vec::new();
    let mut stack = vec![error];
    while let Some(e) = stack.pop() {
        let code = e.get("code").and_then(Value::as_str).unwrap_or_default();
        let message = e.get("message").and_then(Value::as_str).unwrap_or_default();
        if !code.is_empty() {
            out.push((code.to_owned(), message.to_owned()));
        }
        if let Some(details) = e.get("details").and_then(Value::as_array) {
            stack.extend(details.iter().rev());
        }
    }
    (!out.is_empty()).then_some(out)
}

/// True when the failure in `properties` says Azure refused the request before anything ran.
pub fn refused(properties: &Value) -> bool {
    let Some(errors) = errors(properties) else {
        return false;
    };
    errors.iter().all(|(code, message)| {
        let is = |list: &[&str]| list.iter().any(|c| c.eq_ignore_ascii_case(code));
        let said = || {
            let m = message.to_ascii_lowercase();
            REFUSAL_WORDS.iter().any(|w| m.contains(w))
        };
        is(&REFUSED) || (is(&REFUSED_IF_SAID) && said())
    })
}

/// The failure's text for the evidence: `code: message` of each error (at most [`MAX_TEXT`]
/// characters), else the raw status message; `None` when the row carries neither.
pub fn text(properties: &Value) -> Option<String> {
    let said = match errors(properties) {
        Some(errors) => errors
            .iter()
            .map(|(c, m)| format!("{c}: {m}"))
            .collect::<Vec<_>>()
            .join("; "),
        None => match properties.get("statusMessage") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            _ => return None,
        },
    };
    let flat: String = said
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    Some(match flat.char_indices().nth(MAX_TEXT) {
        Some((at, _)) => format!("{}…", &flat[..at]),
        None => flat,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn status(error: Value) -> Value {
        json!({"statusCode": "Conflict", "statusMessage": json!({"status": "Failed", "error": error}).to_string()})
    }

    #[test]
    fn only_an_error_that_says_the_request_was_refused_is_an_attempt() {
        let refused_up_front = [
            json!({"code": "AuthorizationFailed", "message": "The client 'x' does not have authorization to perform action"}),
            json!({"code": "InvalidParameter", "message": "The value of parameter script is invalid."}),
            json!({"code": "OperationNotAllowed", "message": "Operation 'runCommand' is not allowed since the VM is deallocated."}),
            json!({"code": "Conflict", "message": "Cannot run the command: another operation is in progress on the VM."}),
        ];
        for e in refused_up_front {
            assert!(refused(&status(e.clone())), "{e}");
        }
        let used = [
            // An extension accepted, then its provisioning failed: the script ran.
            json!({"code": "ResourceOperationFailure", "message": "The resource operation completed with terminal provisioning state 'Failed'.",
                "details": [{"code": "VMExtensionProvisioningError", "message": "VM has reported a failure when processing extension 'x'. Error message: \"Enable failed: exit status 1\""}]}),
            // Conflict alone says nothing of whether anything ran.
            json!({"code": "Conflict", "message": "The operation failed."}),
            // A refusal code beside one that says something ran: a use.
            json!({"code": "BadRequest", "message": "x", "details": [{"code": "VMExtensionProvisioningError", "message": "exit 1"}]}),
            json!({"code": "InternalExecutionError", "message": "Run command script failed"}),
        ];
        for e in used {
            assert!(!refused(&status(e.clone())), "{e}");
        }
        // No error at all, or a status code alone: a use.
        assert!(!refused(&json!({"statusCode": "Forbidden"})));
        assert!(!refused(&Value::Null));
        // The status message as an object, not JSON text, reads the same.
        let object =
            json!({"statusMessage": {"error": {"code": "AuthorizationFailed", "message": "m"}}});
        assert!(refused(&object));
    }

    #[test]
    fn the_failure_text_names_each_code_and_is_cut_short() {
        let e = status(
            json!({"code": "ResourceOperationFailure", "message": "failed",
            "details": [{"code": "VMExtensionProvisioningError", "message": "exit\nstatus 1"}]}),
        );
        assert_eq!(
            text(&e).as_deref(),
            Some("ResourceOperationFailure: failed; VMExtensionProvisioningError: exit status 1")
        );
        let long = status(json!({"code": "X", "message": "a".repeat(1000)}));
        assert_eq!(text(&long).map(|t| t.chars().count()), Some(MAX_TEXT + 1));
        assert_eq!(
            text(&json!({"statusMessage": "plain words"})).as_deref(),
            Some("plain words")
        );
        assert_eq!(text(&json!({"statusCode": "OK"})), None);
    }
}
