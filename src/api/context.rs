//! What every route of the API holds ([`Api`]: the app's state, the settings, the authenticator
//! and the evidence packs' permits), a request's [`Caller`] drawn from it, and the access-audit
//! record of one request's caller.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::auth::{Authenticator, Caller, ROLE_READ, client_ip};
use super::problem::{ApiError, Challenge};
use crate::catalogue::access::Access;
use crate::config::api::ApiSettings;
use crate::state::AppState;

/// The access-audit name of a caller whose only credential is the function key (`CATALOGUE_AUTH=none`).
pub(crate) const FUNCTION_KEY_CALLER: &str = "function-key caller";

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

/// A read by a caller holding `Catalogue.Read` (authenticated first): its access-audit record,
/// who (the function key's caller named [`FUNCTION_KEY_CALLER`]), the client address and the user
/// agent (256 characters at most). 403 when an authenticated caller lacks the role.
pub(super) struct Reader(pub(super) Access);

impl FromRequestParts<Api> for Reader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, api: &Api) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, api).await?;
        let who = caller.require(ROLE_READ)?;
        let headers = &parts.headers;
        let agent = headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok());
        Ok(Self(Access {
            who: who.unwrap_or_else(|| FUNCTION_KEY_CALLER.to_owned()),
            ip: client_ip(headers),
            agent: agent.unwrap_or_default().chars().take(256).collect(),
        }))
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
