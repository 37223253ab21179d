//! `CatalogueApi`: the HTTP API under `/api/` (forwarded HTTP mode: plain axum routes that return real
//! statuses), over the catalogue tables.
//!
//! Routes: `GET /api/recordings` and `GET /api/sessions` (filtered, sorted, paged, JSON or CSV —
//! [`listing`] over the catalogue's one query, [`crate::catalogue::query`]),
//! `GET /api/recordings/{id}` (detail + access audit — [`detail`]), `GET /api/sessions/{id}` (one
//! session with its authorization record + access audit — `session`),
//! `POST`/`DELETE`/`GET /api/holds` ([`holds`]), `POST`/`GET /api/reviews`
//! ([`reviews`]), `GET /api/evidence` (the signed evidence pack as a zip — [`evidence`]),
//! `GET /api/health` ([`health`]), `GET /api/estate` (the Bastion estate's findings — [`estate`]),
//! `GET /api/sessions/authorization` (who allowed the period's sessions — `authorized`),
//! `GET /api/sessions/live` and `POST /api/sessions/live/{id}/disconnect` ([`live`]), `GET /api/ui`
//! (the timeline page — [`ui`]).
//! Errors are problem documents ([`problem`]); callers are identified and authorized by [`auth`],
//! after every state-changing request passed the cross-site request guard ([`csrf`]).

pub mod auth;
mod authorized;
mod context;
pub mod csrf;
pub mod detail;
pub mod estate;
pub mod evidence;
pub mod health;
pub mod holds;
pub mod listing;
pub mod live;
pub mod problem;
pub mod reviews;
mod session;
pub mod ui;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use self::auth::{Authenticator, Caller};
use self::context::{Api, Reader};
use self::listing::Listing;
use self::problem::ApiError;
use crate::catalogue::days::DayRow;
use crate::catalogue::recording::Recording;
pub use crate::config::api::ApiSettings;
use crate::state::AppState;

#[cfg(test)]
impl ApiSettings {
    /// Defaults with `CATALOGUE_AUTH=none`: component tests of everything but authentication.
    pub(crate) fn key_only() -> Self {
        Self {
            auth: self::auth::AuthMode::FunctionKey,
            ..Self::default()
        }
    }
}

/// The API routes, with the settings parsed at start-up (the authentication mode is logged here,
/// once, loudly when it is unusable).
pub fn routes(app: AppState) -> Router {
    let settings = app.config.api.clone();
    let auth = Authenticator::new(&settings.auth);
    auth.announce();
    routes_with_auth(app, settings, auth)
}

/// The API routes with explicit settings (tests).
#[cfg(test)]
pub(crate) fn routes_with(app: AppState, settings: ApiSettings) -> Router {
    let auth = Authenticator::new(&settings.auth);
    routes_with_auth(app, settings, auth)
}

/// The API routes with explicit settings and authenticator (tests with a fake key source): every
/// route of `table` behind the cross-site request guard (`csrf::guard`), one layer over the
/// whole table, so that no state-changing route added to it can bypass the guard.
pub fn routes_with_auth(app: AppState, settings: ApiSettings, auth: Authenticator) -> Router {
    let api = Api::new(app, settings, auth);
    // `route_layer`: every route of the table (`/api/{*rest}` matches any other `/api/` path), not
    // the router's fallback, which the app's own invocation routes share once merged.
    table(api).route_layer(axum::middleware::from_fn(csrf::guard))
}

/// Every API route.
fn table(api: Api) -> Router {
    Router::new()
        .route("/api/recordings", get(recordings))
        .route("/api/recordings/{id}", get(one))
        .route("/api/sessions", get(sessions))
        .route("/api/sessions/{id}", get(session::get))
        .route(
            "/api/holds",
            post(holds::post)
                .delete(holds::delete)
                .get(holds::handle_list),
        )
        .route("/api/estate", get(estate::list))
        .route("/api/sessions/live", get(live::list))
        .route("/api/sessions/authorization", get(authorized::figures))
        .route("/api/sessions/live/{id}/disconnect", post(live::disconnect))
        .route("/api/evidence", get(evidence::get))
        .route("/api/reviews", post(reviews::post).get(reviews::list))
        .route("/api/reviews/queue", get(reviews::queue))
        .route("/api/reviews/figures", get(reviews::figures))
        .route("/api/health", get(health::health))
        .route("/api/ui", get(ui::page))
        .route("/api/{*rest}", axum::routing::any(unknown))
        .with_state(api)
}

async fn recordings(State(api): State<Api>, l: Listing) -> Result<Response, ApiError> {
    listing::list::<Recording>(&api, &l, "recordings").await
}

async fn sessions(State(api): State<Api>, l: Listing) -> Result<Response, ApiError> {
    listing::list::<DayRow>(&api, &l, "sessions").await
}

async fn one(
    Reader(access): Reader,
    State(api): State<Api>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let link = api
        .settings
        .download_links
        .then_some(api.settings.link_lifetime);
    let doc = detail::detail(&api.app, &id, &access, link).await?;
    Ok(axum::Json(doc).into_response())
}

/// An unknown route: 404 to an authenticated caller only (authentication comes first everywhere
/// but `/api/health`).
async fn unknown(_caller: Caller) -> ApiError {
    ApiError::NotFound("no such API route".into())
}

#[cfg(test)]
mod tests;
