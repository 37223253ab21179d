//! A private HTTPS Azurite (`--oauth basic`; a certificate from a throwaway CA made with the
//! `openssl` CLI) and a test-only Entra stand-in: a [`TokenCredential`] handing out locally built
//! JWTs with the issuer, audience, lifetime and `oid`/`tid` claims Azurite checks (it does not
//! verify their signatures).

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
pub(super) const ACCOUNT: &str = "devstoreaccount1";
/// REST version for the raw requests the test makes itself.
pub(super) const VERSION: &str = "2025-11-05";
const OID: &str = "11059fcc-5514-4800-b5f8-49808b9cfab6";
const TID: &str = "ab1f708d-50f6-404c-a006-d71b2ac7a606";

/// A running HTTPS Azurite blob service; killed (and its temp dir removed) on drop.
pub(super) struct TlsAzurite {
    child: Child,
    dir: PathBuf,
    /// `https://127.0.0.1:<port>/devstoreaccount1`.
    pub(super) endpoint: url::Url,
    /// The test CA (PEM) clients must trust.
    pub(super) ca_pem: Vec<u8>,
}

impl Drop for TlsAzurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The Azurite launcher: `AZURITE_BIN`, the project's `.tools` install (scripts/azurite.sh), or
/// `azurite` on `PATH`. The blob-only `azurite-blob` beside it is preferred (one port).
fn azurite_bin() -> Option<PathBuf> {
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
    let blob_only = bin.with_file_name("azurite-blob");
    Some(if blob_only.is_file() { blob_only } else { bin })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
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
    /// Starts Azurite with HTTPS and basic OAuth on a free port and waits until it listens.
    /// `None` (skip) when no Azurite install is found outside CI; in CI (`CI` set) that fails,
    /// because scripts/test.sh always installs it.
    pub(super) fn start() -> Option<Self> {
        let Some(bin) = azurite_bin() else {
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
        let port = free_port();
        let mut child = Command::new(bin)
            .args([
                "--inMemoryPersistence",
                "--silent",
                "--loose",
                "--oauth",
                "basic",
            ])
            .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
            .arg("--cert")
            .arg(&cert)
            .arg("--key")
            .arg(&key)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn azurite");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("azurite exited during start-up: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "azurite did not listen within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let endpoint =
            url::Url::parse(&format!("https://127.0.0.1:{port}/{ACCOUNT}")).expect("url");
        let ca_pem = std::fs::read(&ca).expect("ca");
        Some(Self {
            child,
            dir,
            endpoint,
            ca_pem,
        })
    }

    /// An HTTP client trusting only the test CA.
    pub(super) fn client(&self) -> reqwest::Client {
        let cert = reqwest::Certificate::from_pem(&self.ca_pem).expect("pem");
        reqwest::Client::builder()
            .tls_certs_only([cert])
            .build()
            .expect("tls client")
    }
}

/// Hands out unexpired JWTs shaped like Entra's for Storage (Azurite checks claims, not keys).
#[derive(Debug, Default)]
pub(super) struct FakeEntra;

impl FakeEntra {
    /// A token valid for an hour, `aud` Storage, `iss` an Entra STS.
    pub(super) fn jwt() -> String {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let header = json!({"alg": "HS256", "typ": "JWT"});
        let claims = json!({
            "aud": "https://storage.azure.com",
            "iss": format!("https://sts.windows.net/{TID}/"),
            "iat": now - 60, "nbf": now - 60, "exp": now + 3600,
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
