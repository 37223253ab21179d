//! A counting TCP proxy in front of Azurite's three services: every process of the run (the
//! handlers and the devhosts playing the Functions host, with its queue trigger and output
//! bindings) reaches storage through it, so every storage call of a tick is counted, the queue's
//! own included, whichever process made it. A call is an HTTP/1.1 request line whose target is a
//! path (`GET /devstoreaccount1/… HTTP/1.1`); the sub-requests inside a table batch name an
//! absolute URL and are not counted (a batch is one call, as it is billed). Each call is also
//! counted by operation kind ([`Counts::ops`]: list blobs, read, properties, a table's query, row
//! read or write, a batch, a queue's put, get or delete), never by a blob's path.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// Calls per service: blob, queue, table (in that order); and the queue service's per queue.
#[derive(Default)]
pub(crate) struct Counts {
    pub(crate) by_service: [AtomicU64; 3],
    by_queue: std::sync::Mutex<std::collections::BTreeMap<String, u64>>,
    by_op: std::sync::Mutex<std::collections::BTreeMap<String, u64>>,
}

impl Counts {
    /// The counts now.
    pub(crate) fn now(&self) -> [u64; 3] {
        [0, 1, 2].map(|i| self.by_service[i].load(Ordering::Relaxed))
    }

    /// Calls on queue `name` so far.
    pub(crate) fn queue(&self, name: &str) -> u64 {
        let by_queue = self.by_queue.lock().expect("counts");
        by_queue.get(name).copied().unwrap_or_default()
    }

    /// Calls so far by operation kind ([`op`]: `blob list auditlogs`, `table batch`, `queue delete workunits`, …).
    pub(crate) fn ops(&self) -> std::collections::BTreeMap<String, u64> {
        self.by_op.lock().expect("counts").clone()
    }

    fn add(&self, service: usize, lines: &[(String, String)]) {
        let n = lines.len() as u64;
        self.by_service[service].fetch_add(n, Ordering::Relaxed);
        let mut by_op = self.by_op.lock().expect("counts");
        for (_, op) in lines {
            let svc = ["blob", "queue", "table"][service];
            *by_op.entry(format!("{svc} {op}")).or_default() += 1;
        }
        if service == 1 {
            let mut by_queue = self.by_queue.lock().expect("counts");
            for (q, _) in lines {
                *by_queue.entry(q.clone()).or_default() += 1;
            }
        }
    }
}

/// Starts one listener per service in `cs` (Azurite's connection string); the connection string
/// through the proxy and the counts.
pub(crate) async fn start(cs: &str) -> (String, Arc<Counts>) {
    let counts = Arc::new(Counts::default());
    let mut out = cs.to_owned();
    for (i, key) in ["BlobEndpoint=", "QueueEndpoint=", "TableEndpoint="]
        .iter()
        .enumerate()
    {
        let endpoint = cs
            .split(';')
            .find_map(|p| p.strip_prefix(key))
            .unwrap_or_else(|| panic!("{key} in the connection string"));
        let url = url::Url::parse(endpoint).expect("endpoint");
        let upstream = format!(
            "{}:{}",
            url.host_str().unwrap_or("127.0.0.1"),
            url.port().expect("port")
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let mut proxied = url.clone();
        proxied.set_port(Some(port)).expect("port");
        out = out.replace(endpoint, proxied.as_str().trim_end_matches('/'));
        let counts = counts.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let counts = counts.clone();
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(&upstream).await {
                        pipe(client, server, &counts, i).await;
                    }
                });
            }
        });
    }
    (out, counts)
}

async fn pipe(client: TcpStream, server: TcpStream, counts: &Counts, service: usize) {
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = async {
        let mut buf = vec![0u8; 64 * 1024];
        // The end of the last read, so a request line split over two reads is seen once.
        let mut tail: Vec<u8> = Vec::new();
        loop {
            let n = match cr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let mut seen = std::mem::take(&mut tail);
            let from = seen.len();
            seen.extend_from_slice(&buf[..n]);
            counts.add(service, &request_lines(&seen, from));
            tail = seen[seen.len().saturating_sub(2048)..].to_vec();
            if sw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = sw.shutdown().await;
    };
    let down = async {
        let _ = tokio::io::copy(&mut sr, &mut cw).await;
        let _ = cw.shutdown().await;
    };
    tokio::join!(up, down);
}

/// The methods of the storage services' calls.
const METHODS: [&str; 7] = ["GET", "PUT", "POST", "DELETE", "HEAD", "MERGE", "PATCH"];

/// Request lines (`METHOD /path HTTP/1.1`) ending at or after byte `from` of `b`: each one's
/// second path segment (`/account/<this>/…`: a queue's or container's name) and its operation
/// ([`op`]). A request follows
/// the previous one's body with no line break between, so the line is read back from its end:
/// the target (no spaces), then the method just before it.
fn request_lines(b: &[u8], from: usize) -> Vec<(String, String)> {
    const END: &[u8] = b" HTTP/1.1\r\n";
    let mut n = Vec::new();
    let mut i = 0;
    while let Some(at) = find(&b[i..], END) {
        let end = i + at + END.len();
        let head = &b[i..i + at];
        if end > from
            && let Some(space) = head.iter().rposition(|c| *c == b' ')
            && head.get(space + 1) == Some(&b'/')
        {
            let before = String::from_utf8_lossy(&head[..space]);
            if let Some(m) = METHODS.iter().find(|m| before.ends_with(**m)) {
                let path = String::from_utf8_lossy(&head[space + 1..]);
                let name = path.split(['/', '?', '(']).nth(2).unwrap_or_default();
                if std::env::var_os("BENCH_PROXY_LOG").is_some() {
                    eprintln!("proxy: {m} {path}");
                }
                n.push((name.to_owned(), op(m, &path, name)));
            }
        }
        i = end;
    }
    n
}

/// A call's operation kind, with no blob's path in it: `blob list <container>` (List Blobs),
/// `blob read` (Get Blob, ranged or whole), `blob properties` (`HEAD`), `blob tags <method>`,
/// `blob <method>` (other writes); `table query <table>`, `table get <table>` (one row by its
/// keys), `table write <table>` (one row: insert, upsert, update, delete), `table batch` (an
/// entity group transaction); `queue put|get|delete|update <queue>` (a message's); the table's
/// name without the bench's prefix (`f<hosts>`).
fn op(method: &str, path: &str, name: &str) -> String {
    let bare = match name.strip_prefix('f') {
        Some(r) if r.starts_with(|c: char| c.is_ascii_digit()) => {
            r.trim_start_matches(|c: char| c.is_ascii_digit())
        }
        _ => name,
    };
    let (rest, query) = path.split_once('?').unwrap_or((path, ""));
    let comp = |c: &str| query.split('&').any(|p| p == format!("comp={c}"));
    let after = rest.split_once(name).map_or("", |(_, r)| r);
    if bare == "$batch" {
        return "batch".to_owned();
    }
    if after.starts_with("/messages") {
        let verb = match (method, after.starts_with("/messages/")) {
            ("POST", _) => "put",
            ("GET", _) => "get",
            ("DELETE", true) => "delete",
            ("PUT", true) => "update",
            _ => method,
        };
        return format!("{verb} {bare}");
    }
    if after.starts_with("(P") {
        let verb = if method == "GET" { "get" } else { "write" };
        return format!("{verb} {bare}");
    }
    let blob = after.len() > 1 && after.starts_with('/');
    match (method, blob) {
        (_, false) if comp("list") => format!("list {bare}"),
        (_, true) if comp("tags") => format!("tags {method}"),
        ("HEAD", true) => "properties".to_owned(),
        ("GET", true) if query.is_empty() || !query.contains("comp=") => "read".to_owned(),
        (m, true) => m.to_owned(),
        ("GET", false) => format!("query {bare}"),
        ("POST", false) => format!("write {bare}"),
        (m, false) => format!("{m} {bare}"),
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
