//! A loopback fault proxy between a spawned `handler` and Azurite: one listener per storage service,
//! each forwarding HTTP/1.1 requests to the real endpoint unless a scripted [`Rule`] matches.
//!
//! Faults: forward and then drop the answer (the service committed, the client never hears so),
//! hold the answer a while (a busy service), freeze (read the request, never answer), answer a status with `Retry-After` (throttling), reset
//! the connection. Rules match by service, method and path substring, and fire from their Nth match
//! for a number of matches. Every request is logged with the fault it met, so a test can prove the
//! fault fired rather than trusting that it did.
//!
//! Each request gets its own upstream connection (a loopback connect is cheap, and Azurite's idle
//! timeout can then never close a pooled upstream under a request); the client side keeps its
//! keep-alive connection, so the handler's connection pool behaves as it does against the service.
//! Raw sockets rather than a hyper service: dropping an answer after the service committed and
//! resetting with RST need the client connection itself, which a hyper service never sees.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

use super::http1::{Head, Reader};

/// The storage service behind a listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    Blob,
    Queue,
    Table,
}

impl Service {
    const ALL: [(Service, &'static str); 3] = [
        (Service::Blob, "BlobEndpoint="),
        (Service::Queue, "QueueEndpoint="),
        (Service::Table, "TableEndpoint="),
    ];
}

/// What happens to a matched request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Forward it, read the service's whole answer, then close the client connection without it.
    DropAnswer,
    /// Read it and never answer; the connection stays open.
    Freeze,
    /// Answer this status with `Retry-After` (seconds) without forwarding.
    Status(u16, u64),
    /// Reset the connection (RST) without forwarding.
    Reset,
    /// Forward it, then hold the service's answer this many milliseconds before passing it on.
    Slow(u64),
}

/// A scripted fault: which requests it matches, and which of its matches it hits.
#[derive(Clone, Debug)]
pub struct Rule {
    service: Option<Service>,
    method: Option<&'static str>,
    path: Option<String>,
    from: usize,
    times: usize,
    fault: Fault,
    matched: usize,
}

impl Rule {
    /// `fault` on the first matching request (every request until narrowed).
    pub fn new(fault: Fault) -> Self {
        Self {
            service: None,
            method: None,
            path: None,
            from: 1,
            times: 1,
            fault,
            matched: 0,
        }
    }

    pub fn service(mut self, s: Service) -> Self {
        self.service = Some(s);
        self
    }

    pub fn method(mut self, m: &'static str) -> Self {
        self.method = Some(m);
        self
    }

    /// Requests whose path (query excluded) contains `p`.
    pub fn path(mut self, p: &str) -> Self {
        self.path = Some(p.to_owned());
        self
    }

    /// Starts at the `n`th match (1-based), counted from when the rule was added.
    pub fn nth(mut self, n: usize) -> Self {
        self.from = n.max(1);
        self
    }

    /// Hits `n` consecutive matches.
    pub fn times(mut self, n: usize) -> Self {
        self.times = n;
        self
    }

    /// Hits every match from the first one on.
    pub fn always(self) -> Self {
        self.times(usize::MAX)
    }

    fn matches(&self, service: Service, head: &Head) -> bool {
        self.service.is_none_or(|s| s == service)
            && self.method.is_none_or(|m| m == head.method)
            && self
                .path
                .as_deref()
                .is_none_or(|p| path_of(&head.target).contains(p))
    }
}

/// One request the proxy saw, and the fault it met (`None`: forwarded and answered).
#[derive(Clone, Debug)]
pub struct Seen {
    pub service: Service,
    pub method: String,
    pub path: String,
    pub fault: Option<Fault>,
    /// The service's status, when the request was forwarded and answered.
    pub status: Option<u16>,
}

#[derive(Default)]
struct Shared {
    rules: Vec<Rule>,
    seen: Vec<Seen>,
    connections: usize,
}

/// The running proxy; its listeners live as long as the test's runtime.
#[derive(Clone)]
pub struct Proxy {
    shared: Arc<Mutex<Shared>>,
    /// `connection` with every service endpoint pointing at this proxy.
    pub connection: String,
}

impl Proxy {
    /// Starts one listener per `*Endpoint=` of the Azurite connection string `connection`.
    pub async fn start(connection: &str) -> Self {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let mut parts = Vec::new();
        for part in connection.split(';') {
            let Some((service, key)) = Service::ALL.iter().find(|(_, k)| part.starts_with(k))
            else {
                parts.push(part.to_owned());
                continue;
            };
            let mut url = url::Url::parse(&part[key.len()..]).expect("endpoint url");
            let upstream: SocketAddr = format!(
                "{}:{}",
                url.host_str().expect("host"),
                url.port().expect("port")
            )
            .parse()
            .expect("loopback endpoint");
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let port = listener.local_addr().expect("addr").port();
            tokio::spawn(accept(listener, upstream, *service, shared.clone()));
            url.set_port(Some(port)).expect("port");
            parts.push(format!("{key}{}", url.as_str().trim_end_matches('/')));
        }
        Self {
            shared,
            connection: parts.join(";"),
        }
    }

    pub fn add(&self, rule: Rule) {
        self.lock().rules.push(rule);
    }

    /// Removes every rule (requests already frozen stay frozen).
    pub fn clear(&self) {
        self.lock().rules.clear();
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.lock().seen.clone()
    }

    /// Client connections accepted so far.
    pub fn connections(&self) -> usize {
        self.lock().connections
    }

    /// How many requests met `fault`.
    pub fn fired(&self, fault: Fault) -> usize {
        self.lock()
            .seen
            .iter()
            .filter(|s| s.fault == Some(fault))
            .count()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().expect("proxy state")
    }
}

fn path_of(target: &str) -> &str {
    target.split('?').next().unwrap_or(target)
}

async fn accept(
    listener: TcpListener,
    upstream: SocketAddr,
    service: Service,
    shared: Arc<Mutex<Shared>>,
) {
    while let Ok((client, _)) = listener.accept().await {
        shared.lock().expect("proxy state").connections += 1;
        tokio::spawn(serve(client, upstream, service, shared.clone()));
    }
}

/// One client connection: requests in order until it closes or a fault ends it.
async fn serve(
    client: TcpStream,
    upstream: SocketAddr,
    service: Service,
    shared: Arc<Mutex<Shared>>,
) {
    let mut client = Reader::new(client);
    while let Ok(Some(req)) = client.request().await {
        let (fault, at) = decide(&shared, service, &req.head);
        match fault {
            Some(Fault::Freeze) => std::future::pending::<()>().await,
            Some(Fault::Reset) => {
                // Zero linger: closing sends RST instead of FIN.
                let _ = client.io.set_zero_linger();
                return;
            }
            Some(Fault::Status(code, secs)) => {
                let answer = format!(
                    "HTTP/1.1 {code} Injected\r\nRetry-After: {secs}\r\nx-ms-error-code: ServerBusy\r\nContent-Length: 0\r\n\r\n"
                );
                if client.io.write_all(answer.as_bytes()).await.is_err() {
                    return;
                }
            }
            None | Some(Fault::DropAnswer | Fault::Slow(_)) => {
                let Ok(res) = forward(upstream, &req.raw, &req.head.method).await else {
                    return;
                };
                if let Some(Fault::Slow(ms)) = fault {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                }
                shared.lock().expect("proxy state").seen[at].status = Some(res.head.status);
                if fault == Some(Fault::DropAnswer) {
                    return; // the service committed; the client never hears
                }
                if client.io.write_all(&res.raw).await.is_err() || req.head.close || res.head.close
                {
                    return;
                }
            }
        }
    }
}

/// Logs the request and picks its fault: every matching rule counts it, the first rule whose
/// window holds the count decides. Returns it with the request's place in the log.
fn decide(shared: &Mutex<Shared>, service: Service, head: &Head) -> (Option<Fault>, usize) {
    let mut s = shared.lock().expect("proxy state");
    let mut chosen = None;
    for rule in s.rules.iter_mut().filter(|r| r.matches(service, head)) {
        rule.matched += 1;
        let hit = rule.matched >= rule.from && rule.matched - rule.from < rule.times;
        if hit && chosen.is_none() {
            chosen = Some(rule.fault);
        }
    }
    s.seen.push(Seen {
        service,
        method: head.method.clone(),
        path: path_of(&head.target).to_owned(),
        fault: chosen,
        status: None,
    });
    (chosen, s.seen.len() - 1)
}

async fn forward(
    upstream: SocketAddr,
    request: &[u8],
    method: &str,
) -> std::io::Result<super::http1::Message> {
    let mut up = Reader::new(
        tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(upstream)).await??,
    );
    up.io.write_all(request).await?;
    up.response(method).await
}
