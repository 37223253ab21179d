//! What every route of the API holds ([`Api`]: the app's state, the settings, the authenticator
//! and the evidence packs' permits), a request's [`Caller`] drawn from it, and the access-audit
//! record of one request's caller.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};

use super::auth::{Authenticator, Caller, ROLE_READ, client_ip};
use super::problem::{ApiError, Challenge};
use crate::catalogue::access::Access;
use crate::config::api::ApiSettings;
use crate::state::AppState;

/// The access-audit name of a caller whose only credential is the function key (`CATALOGUE_AUTH=none`).
pub const FUNCTION_KEY_CALLER: &str = "function-key caller";

/// The state of every route.
#[derive(Clone)]
pub(super) struct Api {
    pub(super) app: AppState,
    pub(super) settings: Arc<ApiSettings>,
    pub(super) auth: Arc<Authenticator>,
    /// Evidence packs being built on this instance ([`super::evidence`]): at most the settings' bound.
    pub(super) packs: Arc<tokio::sync::Semaphore>,
}

impl Api {
    pub(super) fn new(app: AppState, settings: ApiSettings, auth: Authenticator) -> Self {
        let packs = Arc::new(tokio::sync::Semaphore::new(settings.evidence_builds));
        Self {
            app,
            settings: Arc::new(settings),
            auth: Arc::new(auth),
            packs,
        }
    }
}

/// Who a caller holding `Catalogue.Read` is, as the access audit names them.
///
/// # Errors
/// 403 when an authenticated caller lacks the role.
pub(super) fn reader(caller: Caller) -> Result<String, ApiError> {
    Ok(caller
        .require(ROLE_READ)?
        .unwrap_or_else(|| FUNCTION_KEY_CALLER.to_owned()))
}

/// The access-audit record of a request by `who`: its client address and user agent (256 characters at most).
pub(super) fn access(headers: &HeaderMap, who: String) -> Access {
    Access {
        who,
        ip: client_ip(headers),
        agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .chars()
            .take(256)
            .collect(),
    }
}

/// A request's caller, authenticated by the API's authenticator; a refusal is logged with its
/// reason (never the credential).
impl FromRequestParts<Api> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, api: &Api) -> Result<Self, ApiError> {
        api.auth
            .authenticate(&parts.headers)
            .await
            .inspect_err(|e| {
                let reason = match e {
                    ApiError::Unauthenticated(Challenge::Missing(_)) => "no credentials",
                    ApiError::Unauthenticated(Challenge::InvalidToken(why)) => why,
                    ApiError::Unauthenticated(Challenge::Unconfigured(_)) => {
                        "authentication is not configured"
                    }
                    _ => "the token issuer is unavailable",
                };
                tracing::warn!(
                    status = e.status().as_u16(),
                    method = %parts.method,
                    path = parts.uri.path(),
                    reason,
                    "catalogue API: request refused"
                );
            })
    }
}
