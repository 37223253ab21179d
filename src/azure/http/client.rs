//! The client itself: how its requests are authorised ([`Auth`]) and how a [`Client`] sends one,
//! each try gated by its pacer and spaced lane, bounded by its timeouts, tried under its policy.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use azure_core::credentials::TokenCredential;
use reqwest::{Method, Response, StatusCode};
use serde::de::DeserializeOwned;
use url::Url;

use super::answer::{aborted, body_json, first, of_response, transport};
use super::request::Request;
use crate::azure::connection::{StorageAuth, StorageConnection};
use crate::azure::error::AzureError;
use crate::azure::identity;
use crate::azure::pace::{Lane, Pacer, SharedPauses, Slots};
use crate::azure::retry::Policy;
use crate::azure::sas::SasSigner;
use crate::azure::timeouts::{Guard, Timeouts};

/// The token scope of Azure Storage.
const STORAGE_SCOPE: &str = "https://storage.azure.com/.default";

/// How a client's requests are authorised.
pub enum Auth {
    /// Not at all (webhook receivers, loopback fakes that check nothing).
    None,
    /// An account SAS in every try's query.
    Sas(SasSigner),
    /// A bearer token for the scope from a credential (managed identity).
    Bearer(Arc<dyn TokenCredential>, String),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Sas(signer) => signer.fmt(f),
            Self::Bearer(_, scope) => f.debug_struct("Bearer").field("scope", scope).finish(),
        }
    }
}

impl Auth {
    /// `conn`'s authorisation for its storage `services` (`t`): an account SAS with an account
    /// key, its managed identity's token for Azure Storage otherwise.
    ///
    /// # Errors
    /// `Permanent` when the credential cannot be built.
    pub fn storage(conn: &StorageConnection, services: &'static str) -> Result<Self, AzureError> {
        Ok(match &conn.auth {
            StorageAuth::Key(key) => {
                Self::Sas(SasSigner::new(&conn.account, key.clone(), services))
            }
            StorageAuth::ManagedIdentity { .. } => {
                Self::Bearer(identity::credential(conn)?, STORAGE_SCOPE.to_owned())
            }
        })
    }
}

/// A client for one endpoint (or, without authorisation, any); cheap to clone.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    http: reqwest::Client,
    auth: Arc<Auth>,
    guard: Guard,
    pacer: Option<Arc<Pacer>>,
    slots: Arc<Slots>,
}

crate::telemetry::debug_fields!(Client { inner.guard, inner.auth });

impl Client {
    /// A client of `endpoint` (`None`: receivers anywhere) for `connection` (a setting or the
    /// service's name, for logs), its calls bounded by `timeouts` and tried under `policy`. No
    /// request is made here.
    ///
    /// # Errors
    /// `Permanent` when the HTTP client cannot be built (no TLS backend).
    pub fn new(
        connection: &str,
        endpoint: Option<&Url>,
        auth: Auth,
        timeouts: Timeouts,
        policy: Policy,
    ) -> Result<Self, AzureError> {
        let http = timeouts
            .http_builder()
            .build()
            .map_err(|e| AzureError::Permanent(format!("http client: {e}")))?;
        let inner = Inner {
            http,
            auth: Arc::new(auth),
            guard: Guard::new(connection, endpoint, timeouts, policy),
            pacer: None,
            slots: Arc::default(),
        };
        let inner = Arc::new(inner);
        Ok(Self { inner })
    }

    /// The same client with every try gated by a [`Pacer`] of its own, at most `max` requests out
    /// per lane (Resource Manager: slows down as the remaining-request counts fall, before a 429),
    /// a 429's pause shared with the app's other instances through `shared`, when given.
    #[must_use]
    pub fn paced(self, max: usize, shared: Option<Arc<dyn SharedPauses>>) -> Self {
        let pacer = Some(Arc::new(Pacer::new(max, shared)));
        let inner = Arc::new(Inner {
            pacer,
            ..Inner::clone(&self.inner)
        });
        Self { inner }
    }

    /// The pacer, when [`paced`](Self::paced).
    pub fn pacer(&self) -> Option<&Pacer> {
        self.inner.pacer.as_deref()
    }

    /// The timeouts of the calls.
    pub fn timeouts(&self) -> Timeouts {
        self.inner.guard.timeouts()
    }

    /// The spaced lanes' slots, shared by every call of the client.
    #[cfg(test)]
    pub fn slots(&self) -> &Slots {
        &self.inner.slots
    }

    /// Sends `req`, trying again what may pass within its end; a successful answer comes back
    /// with its body unread, so a large one can be streamed (unless the request's
    /// [`Hook`](super::request::Hook) reads its first bytes).
    ///
    /// # Errors
    /// [`AzureError`]: `Throttled` when the service's wait (or the request's spaced lane) would
    /// pass the end.
    pub async fn send(&self, req: &Request<'_>) -> Result<Response, AzureError> {
        let end = req.end(self.timeouts(), Instant::now());
        let tries = AtomicU32::new(0);
        let attempt = || self.attempt(req, end, tries.fetch_add(1, Ordering::Relaxed) + 1);
        let role = || req.role.to_owned();
        self.inner.guard.run(req.op, Some(end), role, attempt).await
    }

    /// [`send`](Self::send), then the body as JSON.
    ///
    /// # Errors
    /// As [`send`](Self::send); a body that is unreadable, or absent (202, 204), is `Transient`.
    pub async fn json<T: DeserializeOwned>(&self, req: &Request<'_>) -> Result<T, AzureError> {
        body_json(self.send(req).await?).await
    }

    /// Try `tried` in its spaced lane's next slot, if it names one: a slot past `end` fails at
    /// once. A failed try in a spaced lane holds the lane when throttled, and is told to the hook.
    async fn attempt(
        &self,
        req: &Request<'_>,
        end: Instant,
        tried: u32,
    ) -> Result<Response, AzureError> {
        let Some((lane, every)) = req.lane else {
            return self.try_paced(req, end, tried).await;
        };
        let now = Instant::now();
        let slot = self.inner.slots.reserve((lane, every), now, end);
        let held = |slot: Instant| AzureError::Throttled {
            retry_after: Some(slot - now),
        };
        tokio::time::sleep_until(slot.map_err(held)?.into()).await;
        let e = match self.try_paced(req, end, tried).await {
            Ok(res) => return Ok(res),
            Err(e) => e,
        };
        let wait = matches!(e, AzureError::Throttled { .. }).then(|| {
            let backoff = || self.inner.guard.policy().backoff(tried, 1.0);
            let wait = e.retry_after().unwrap_or_else(backoff);
            self.inner.slots.push_back(lane, Instant::now() + wait);
            wait
        });
        if let Some(hook) = req.hook {
            hook.failed(tried, &e, wait);
        }
        Err(e)
    }

    /// One try through the pacer, if any: a request whose lane or throttle scope is paused past
    /// `end` (a `Retry-After` longer than what is left, here or recorded by another instance) fails
    /// at once; a wait for room ends at `end`. A 429's pause is shared before the retry waits it.
    async fn try_paced(
        &self,
        req: &Request<'_>,
        end: Instant,
        tried: u32,
    ) -> Result<Response, AzureError> {
        let res = match &self.inner.pacer {
            None => self.exchange(req, end, tried).await?,
            Some(pacer) => {
                let lane = Lane::of(&req.method);
                let scope = crate::azure::pace::scope_of(req.url.path());
                let acquire = pacer.acquire(lane, &scope, end);
                let _permit = match tokio::time::timeout_at(end.into(), acquire).await {
                    Ok(Ok(permit)) => permit,
                    Ok(Err(paused)) => {
                        let retry_after = Some(paused);
                        return Err(AzureError::Throttled { retry_after });
                    }
                    Err(_) => return Err(AzureError::Throttled { retry_after: None }),
                };
                let res = self.exchange(req, end, tried).await?;
                if let Some(pause) = pacer.answered(lane, &scope, res.status(), res.headers()) {
                    pacer.share(lane, &scope, pause).await;
                }
                res
            }
        };
        if !res.status().is_success() {
            return Err(of_response(res, req).await);
        }
        match req.hook {
            Some(hook) if res.status() != StatusCode::NO_CONTENT => {
                let (status, headers, body) =
                    (res.status(), res.headers().clone(), first(res).await);
                if hook.throttled(&body) {
                    return Err(AzureError::Throttled { retry_after: None });
                }
                let mut read = http::Response::new(body);
                (*read.status_mut(), *read.headers_mut()) = (status, headers);
                Ok(Response::from(read))
            }
            _ => Ok(res),
        }
    }

    /// One exchange (try `tried`), whatever its status: authorised, bounded by the per-try
    /// timeout and `end`.
    ///
    /// # Errors
    /// `Transient` for a connection or token failure or a timeout.
    async fn exchange(
        &self,
        req: &Request<'_>,
        end: Instant,
        tried: u32,
    ) -> Result<Response, AzureError> {
        let mut url = req.url.clone();
        if let Auth::Sas(signer) = self.inner.auth.as_ref() {
            crate::azure::sas::append(&mut url, &signer.token());
        }
        let mut headers = req.headers.clone();
        if let Some(hook) = req.hook {
            hook.before(tried, &mut headers);
        }
        let left = end.saturating_duration_since(Instant::now());
        let mut rb = self
            .inner
            .http
            .request(req.method.clone(), url)
            .timeout(req.try_timeout(self.timeouts()).min(left))
            .headers(headers);
        if let Some(wait) = req.server_wait {
            rb = rb.header("prefer", format!("wait={}", wait.as_secs().max(1)));
        }
        match &req.body {
            Some(body) => rb = rb.body(body.clone()),
            // Resource Manager actions refuse a POST without a length.
            None if req.method == Method::POST => rb = rb.header("content-length", "0"),
            None => {}
        }
        if let Auth::Bearer(credential, scope) = self.inner.auth.as_ref() {
            let token = identity::bearer(credential.as_ref(), scope).await;
            rb = rb.bearer_auth(token.map_err(AzureError::Transient)?);
        }
        let started = Instant::now();
        let res = rb.send().await.map_err(|e| match req.abort_is {
            Some((status, code)) if aborted(&e) => {
                AzureError::refused(status, code, "the connection was closed without an answer")
            }
            _ => transport(e),
        })?;
        let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        tracing::debug!(
            azure.op = req.op,
            http.status = res.status().as_u16(),
            ms,
            "azure try"
        );
        Ok(res)
    }
}
