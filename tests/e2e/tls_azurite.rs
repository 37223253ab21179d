//! A private HTTPS Azurite (`--oauth basic`; a certificate from a throwaway CA made with the
//! `openssl` CLI), blob only or with queues and tables, and a test-only Entra stand-in: a
//! [`TokenCredential`] handing out locally built JWTs with the issuer, audience, lifetime and
//! `oid`/`tid` claims Azurite checks (it does not verify their signatures). Shared by the
//! download-link and managed-identity tests.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;
use sha2::Sha256;
use time::OffsetDateTime;

use crate::harness::unique;

/// Azurite's development account (path-style on an IP host).
pub(crate) const ACCOUNT: &str = "devstoreaccount1";
/// A second account, served beside it by [`TlsAzurite::start_all`] (several sources).
pub(crate) const SECOND_ACCOUNT: &str = "stneu";
/// REST version for the raw requests the test makes itself.
pub(crate) const VERSION: &str = "2025-11-05";
const OID: &str = "11059fcc-5514-4800-b5f8-49808b9cfab6";
const TID: &str = "ab1f708d-50f6-404c-a006-d71b2ac7a606";

/// A running HTTPS Azurite; killed (and its temp dir removed) on drop.
pub(crate) struct TlsAzurite {
    child: Child,
    dir: PathBuf,
    /// Blob service: `https://127.0.0.1:<port>/devstoreaccount1`.
    pub(crate) endpoint: url::Url,
    /// Queue and table services, when started with [`TlsAzurite::start_all`].
    pub(crate) queue_and_table: Option<(url::Url, url::Url)>,
    /// The test CA (PEM) clients must trust.
    pub(crate) ca_pem: Vec<u8>,
    /// The same CA as a file (`SSL_CERT_FILE` for child processes).
    pub(crate) ca_file: PathBuf,
}

impl Drop for TlsAzurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The Azurite launcher: `AZURITE_BIN`, the project's `.tools` install (scripts/azurite.sh), or
/// `azurite` on `PATH`; with `blob_only`, the blob-only `azurite-blob` beside it when there is one.
fn azurite_bin(blob_only: bool) -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let candidates = [
        std::env::var_os("AZURITE_BIN").map(PathBuf::from),
        Some(root.join(".tools/node_modules/.bin/azurite")),
        std::env::var_os("PATH").and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("azurite"))
                .find(|f| f.is_file())
        }),
    ];
    let bin = candidates.into_iter().flatten().find(|p| p.is_file())?;
    let blob = bin.with_file_name("azurite-blob");
    Some(if blob_only && blob.is_file() {
        blob
    } else {
        bin
    })
}

/// `n` distinct free ports (all bound at once, so the OS cannot hand out one twice).
fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("free port"))
        .collect();
    held.iter()
        .map(|l| l.local_addr().expect("addr").port())
        .collect()
}

/// `openssl req` with `args`, failing the test when it cannot run.
fn openssl(args: &[&str], files: &[(&str, &Path)]) {
    let mut cmd = Command::new("openssl");
    cmd.args([
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
    ]);
    cmd.args(args);
    for (flag, path) in files {
        cmd.arg(flag).arg(path);
    }
    let status = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("the `openssl` CLI (3.0+) is needed to make Azurite's test certificate");
    assert!(status.success(), "openssl req {args:?} failed: {status}");
}

/// A throwaway CA and a leaf for `127.0.0.1` signed by it: rustls refuses a self-signed
/// certificate that is its own CA as a server certificate (`CaUsedAsEndEntity`).
/// Returns (CA certificate, leaf certificate, leaf key).
fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let (ca, ca_key) = (dir.join("ca.pem"), dir.join("ca.key"));
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    openssl(
        &["-subj", "/CN=udk test CA"],
        &[("-keyout", &ca_key), ("-out", &ca)],
    );
    openssl(
        &[
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
        ],
        &[
            ("-CA", &ca),
            ("-CAkey", &ca_key),
            ("-keyout", &key),
            ("-out", &cert),
        ],
    );
    (ca, cert, key)
}

impl TlsAzurite {
    /// Starts a blob-only Azurite with HTTPS and basic OAuth on a free port and waits until it
    /// listens. `None` (skip) when no Azurite install is found outside CI; in CI (`CI` set) that
    /// fails, because scripts/test.sh always installs it.
    pub(crate) fn start() -> Option<Self> {
        Self::launch(false)
    }

    /// As [`TlsAzurite::start`], with the queue and table services too (each on a free port).
    pub(crate) fn start_all() -> Option<Self> {
        Self::launch(true)
    }

    fn launch(all: bool) -> Option<Self> {
        let Some(bin) = azurite_bin(!all) else {
            assert!(
                std::env::var_os("CI").is_none(),
                "no Azurite install found (AZURITE_BIN, .tools, PATH)"
            );
            eprintln!(
                "skipping: no Azurite install found; set AZURITE_BIN or run scripts/azurite.sh start"
            );
            return None;
        };
        let dir = std::env::temp_dir().join(unique("udk-azurite-"));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let (ca, cert, key) = certificates(&dir);
        let ports = free_ports(if all { 3 } else { 1 });
        let mut cmd = Command::new(bin);
        cmd.args([
            "--inMemoryPersistence",
            "--silent",
            "--loose",
            "--disableTelemetry",
            "--oauth",
            "basic",
        ])
        .current_dir(&dir)
        .args([
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            &ports[0].to_string(),
        ]);
        if all {
            // Both with the published development key: OAuth decides, keys are never used.
            let key = bastion_recordings::azure::connection::DEV_KEY;
            cmd.env(
                "AZURITE_ACCOUNTS",
                format!("{ACCOUNT}:{key};{SECOND_ACCOUNT}:{key}"),
            );
            cmd.args([
                "--queueHost",
                "127.0.0.1",
                "--queuePort",
                &ports[1].to_string(),
            ])
            .args([
                "--tableHost",
                "127.0.0.1",
                "--tablePort",
                &ports[2].to_string(),
            ]);
        }
        let mut child = cmd
            .arg("--cert")
            .arg(&cert)
            .arg("--key")
            .arg(&key)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn azurite");
        let give_up_at = Instant::now() + Duration::from_secs(30);
        for port in &ports {
            while std::net::TcpStream::connect(("127.0.0.1", *port)).is_err() {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("azurite exited during start-up: {status}");
                }
                assert!(
                    Instant::now() < give_up_at,
                    "azurite did not listen within 30 s"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        let url = |port: u16| {
            url::Url::parse(&format!("https://127.0.0.1:{port}/{ACCOUNT}")).expect("url")
        };
        let ca_pem = std::fs::read(&ca).expect("ca");
        Some(Self {
            child,
            dir,
            endpoint: url(ports[0]),
            queue_and_table: all.then(|| (url(ports[1]), url(ports[2]))),
            ca_pem,
            ca_file: ca,
        })
    }

    /// An HTTP client trusting only the test CA.
    pub(crate) fn client(&self) -> reqwest::Client {
        let cert = reqwest::Certificate::from_pem(&self.ca_pem).expect("pem");
        reqwest::Client::builder()
            .tls_certs_only([cert])
            .build()
            .expect("tls client")
    }
}

/// Hands out unexpired JWTs shaped like Entra's for Storage (Azurite checks claims, not keys).
#[derive(Debug, Default)]
pub(crate) struct FakeEntra;

impl FakeEntra {
    /// A token valid for an hour, `aud` Storage, `iss` an Entra STS.
    pub(crate) fn jwt() -> String {
        Self::jwt_until(OffsetDateTime::now_utc().unix_timestamp() + 3600)
    }

    /// The same token, expiring at `exp` (Unix seconds).
    pub(crate) fn jwt_until(exp: i64) -> String {
        Self::jwt_for("https://storage.azure.com", exp)
    }

    /// A token for audience `aud` (a resource, as the identity endpoint is asked for it), expiring
    /// at `exp`.
    pub(crate) fn jwt_for(aud: &str, exp: i64) -> String {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let header = json!({"alg": "HS256", "typ": "JWT"});
        let claims = json!({
            "aud": aud,
            "iss": format!("https://sts.windows.net/{TID}/"),
            "iat": now - 60, "nbf": now - 60, "exp": exp,
            "oid": OID, "tid": TID, "sub": OID,
        });
        let enc = |v: &serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
        let signing_input = format!("{}.{}", enc(&header), enc(&claims));
        let mut mac = Hmac::<Sha256>::new_from_slice(b"test-only, never verified").expect("key");
        mac.update(signing_input.as_bytes());
        let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signing_input}.{sig}")
    }
}

#[async_trait::async_trait]
impl TokenCredential for FakeEntra {
    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let expires = OffsetDateTime::now_utc() + time::Duration::minutes(55);
        Ok(AccessToken::new(Self::jwt(), expires))
    }
}
