//! The pack's signing key `EVIDENCE_SIGNING_KEY` (base64 Ed25519 seed or PKCS 8 PEM): debug
//! output and errors never show it; only the public key is printed.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _, EncodePublicKey as _};
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};

/// The setting that holds the seed (a Key Vault reference in Azure).
pub const SETTING: &str = "EVIDENCE_SIGNING_KEY";

/// The Ed25519 key that signs manifests.
#[derive(Clone, PartialEq, Eq)]
pub struct PackKey(SigningKey);

impl std::fmt::Debug for PackKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("PackKey")
            .field(&self.public_base64())
            .finish()
    }
}

impl PackKey {
    /// Parses the base64 of a 32-byte seed or a PKCS 8 PEM key (surrounding whitespace ignored).
    ///
    /// # Errors
    /// A message naming what is wrong, never the value.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.starts_with("-----BEGIN") {
            return SigningKey::from_pkcs8_pem(text)
                .map(Self)
                .map_err(|_| format!("{SETTING}: not a PKCS 8 PEM Ed25519 private key"));
        }
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| format!("{SETTING}: not base64 (expected a 32-byte Ed25519 seed)"))?;
        let seed: [u8; 32] = bytes
            .try_into()
            .map_err(|_| format!("{SETTING}: expected 32 bytes (an Ed25519 seed)"))?;
        Ok(Self(SigningKey::from_bytes(&seed)))
    }

    /// Reads the optional setting; a bad value is a start-up problem.
    pub fn from_reader(r: &mut crate::setting::Reader<'_>) -> Option<Self> {
        let text = r.get(SETTING)?;
        match Self::parse(&text) {
            Ok(k) => Some(k),
            Err(e) => {
                r.extend([e]);
                None
            }
        }
    }

    /// The Ed25519 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }

    /// The public key.
    pub fn public(&self) -> VerifyingKey {
        self.0.verifying_key()
    }

    /// The public key as base64 of its 32 bytes (what `handler evidence public-key` prints).
    pub fn public_base64(&self) -> String {
        STANDARD.encode(self.public().as_bytes())
    }

    /// The public key's fingerprint, what the report's first page names: `SHA256:` and the
    /// unpadded base64 of the SHA-256 of the key's 32 bytes (the form `ssh-keygen -l` shows),
    /// short enough to compare by eye with the published key's.
    pub fn public_fingerprint(&self) -> String {
        use base64::engine::general_purpose::STANDARD_NO_PAD;
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(self.public().as_bytes());
        format!("SHA256:{}", STANDARD_NO_PAD.encode(digest))
    }

    /// The public key as SPKI PEM (`openssl pkeyutl -verify -pubin -inkey` takes it).
    pub fn public_pem(&self) -> String {
        self.public()
            .to_public_key_pem(LineEnding::LF)
            .unwrap_or_default()
    }
}

/// How a pack is checked, said where a key is asked for: on the report's first page, and by
/// `handler evidence verify` without one.
pub const HOW_TO_VERIFY: &str = "verify it with the public key the operator publishes (`handler evidence public-key` prints it where EVIDENCE_SIGNING_KEY is set): `handler evidence verify DIR --public-key <that key>`, and compare its fingerprint with the one on the report's first page; the key a pack names itself proves only that it is unchanged since someone signed it";

/// Parses a public key printed by [`PackKey::public_base64`].
///
/// # Errors
/// Not base64, not 32 bytes, or not a valid curve point.
pub fn parse_public(text: &str) -> Result<VerifyingKey, String> {
    let text = text.trim();
    if text.starts_with("-----BEGIN") {
        return VerifyingKey::from_public_key_pem(text)
            .map_err(|_| "public key: not an SPKI PEM Ed25519 key".to_owned());
    }
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|_| "public key: not base64".to_owned())?;
    let raw: [u8; 32] = bytes
        .try_into()
        .map_err(|_| "public key: expected 32 bytes".to_owned())?;
    VerifyingKey::from_bytes(&raw).map_err(|_| "public key: not an Ed25519 point".to_owned())
}

#[cfg(test)]
impl PackKey {
    /// The key from a 32-byte seed.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self(SigningKey::from_bytes(&seed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_parses_and_its_public_key_round_trips() {
        let k = PackKey::parse(&STANDARD.encode([7u8; 32])).expect("valid");
        let public = parse_public(&k.public_base64()).expect("public");
        assert_eq!(public, k.public());
        assert_eq!(parse_public(&k.public_pem()).expect("pem"), k.public());
        assert!(!format!("{k:?}").contains(&STANDARD.encode([7u8; 32])));
    }

    #[test]
    fn a_pkcs8_pem_key_parses() {
        use ed25519_dalek::pkcs8::EncodePrivateKey as _;
        let k = PackKey::from_seed([9u8; 32]);
        let pem = k.0.to_pkcs8_pem(LineEnding::LF).expect("pem");
        assert_eq!(PackKey::parse(&pem).expect("parses"), k);
    }

    #[test]
    fn bad_values_are_named_without_the_value() {
        for bad in ["not base64!", &STANDARD.encode([1u8; 31])] {
            let e = PackKey::parse(bad).expect_err("refused");
            assert!(e.starts_with(SETTING), "{e}");
            assert!(!e.contains(bad), "{e}");
        }
    }
}
