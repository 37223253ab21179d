//! `handler evidence verify DIR`: the signature over `manifest.json`, then every listed file's size
//! and SHA-256, and no file the manifest does not list. Every mismatch is named; any one fails.

use std::io::Read as _;
use std::path::Path;

use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};

use super::manifest::{MANIFEST, Manifest, SIGNATURE};

/// What a verification found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Files whose size and hash matched.
    pub checked: Vec<String>,
    /// Every mismatch, one line each (empty: the pack verifies).
    pub problems: Vec<String>,
    /// The key the signature was checked with (base64).
    pub key: String,
}

impl Verification {
    /// True when nothing is wrong.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Verifies the pack in `dir` against `key` (else the key the manifest names, which only proves
/// the pack is unchanged since *someone* signed it: the caller says so).
pub fn verify_dir(dir: &Path, key: Option<&VerifyingKey>) -> Verification {
    let mut v = Verification::default();
    let manifest_bytes = match std::fs::read(dir.join(MANIFEST)) {
        Ok(b) => b,
        Err(e) => {
            v.problems.push(format!("{MANIFEST}: cannot read ({e})"));
            return v;
        }
    };
    let manifest: Option<Manifest> = match serde_json::from_slice(&manifest_bytes) {
        Ok(m) => Some(m),
        Err(e) => {
            v.problems.push(format!("{MANIFEST}: not a manifest ({e})"));
            None
        }
    };
    let named = manifest
        .as_ref()
        .and_then(|m| crate::pack::key::parse_public(&m.public_key).ok());
    match key.copied().or(named) {
        Some(k) => {
            v.key = base64_key(&k);
            check_signature(dir, &manifest_bytes, &k, &mut v.problems);
        }
        None => v
            .problems
            .push(format!("{SIGNATURE}: no public key to check it with")),
    }
    let Some(manifest) = manifest else { return v };
    for f in &manifest.files {
        match file_digest(&dir.join(&f.name)) {
            Err(e) => v.problems.push(format!("{}: cannot read ({e})", f.name)),
            Ok((size, _)) if size != f.size => v.problems.push(format!(
                "{}: size {size} bytes, manifest says {}",
                f.name, f.size
            )),
            Ok((_, sha)) if sha != f.sha256 => v.problems.push(format!(
                "{}: SHA-256 {sha}, manifest says {}",
                f.name, f.sha256
            )),
            Ok(_) => v.checked.push(f.name.clone()),
        }
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name != MANIFEST
                && name != SIGNATURE
                && !manifest.files.iter().any(|f| f.name == name)
            {
                v.problems
                    .push(format!("{name}: not listed in the manifest"));
            }
        }
    }
    v
}

fn check_signature(dir: &Path, manifest: &[u8], key: &VerifyingKey, problems: &mut Vec<String>) {
    let sig = match std::fs::read(dir.join(SIGNATURE)) {
        Ok(s) => s,
        Err(e) => return problems.push(format!("{SIGNATURE}: cannot read ({e})")),
    };
    let Ok(raw) = <[u8; 64]>::try_from(sig.as_slice()) else {
        return problems.push(format!("{SIGNATURE}: not a 64-byte Ed25519 signature"));
    };
    if key
        .verify_strict(manifest, &Signature::from_bytes(&raw))
        .is_err()
    {
        problems.push(format!(
            "{SIGNATURE}: the signature does not match {MANIFEST} under key {}",
            base64_key(key)
        ));
    }
}

fn base64_key(k: &VerifyingKey) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(k.as_bytes())
}

/// Size and lower-case hex SHA-256 of a file, read in 64 KiB chunks.
///
/// # Errors
/// I/O errors.
pub fn file_digest(path: &Path) -> std::io::Result<(u64, String)> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        h.update(&buf[..n]);
    }
    Ok((size, hex::encode(h.finalize())))
}
