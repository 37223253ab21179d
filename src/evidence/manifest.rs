//! `manifest.json`, and `manifest.sig`: the raw Ed25519 signature of its exact bytes.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The manifest's file name.
pub const MANIFEST: &str = "manifest.json";
/// The signature's file name.
pub const SIGNATURE: &str = "manifest.sig";
/// The manifest format (bumped when a field changes meaning).
pub const FORMAT: &str = "bastion-evidence-pack/1";

/// One file of the pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Name inside the pack (no directories).
    pub name: String,
    /// Lower-case hex SHA-256 of the content.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Data rows (CSV files only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
}

/// The period the pack covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodDoc {
    /// Inclusive start (RFC 3339).
    pub from: String,
    /// Exclusive end (RFC 3339).
    pub to: String,
    /// The Bastion host the pack is limited to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bastion: Option<String>,
}

/// Who produced the pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Generator {
    /// Crate name.
    pub name: String,
    /// Crate version.
    pub version: String,
}

impl Generator {
    /// This build.
    pub fn this() -> Self {
        Self {
            name: env!("CARGO_PKG_NAME").to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

/// The manifest document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: String,
    /// The generator.
    pub generator: Generator,
    /// The period.
    pub period: PeriodDoc,
    /// When the pack was produced (RFC 3339).
    pub generated_at: String,
    /// The signer's public key (base64 of 32 bytes); verify against the published key, not this.
    pub public_key: String,
    /// Where the rows came from (tables, accounts, containers).
    pub sources: Value,
    /// The headline figures of the report (the same numbers the APIs give for the period).
    pub figures: Value,
    /// Every file but the manifest and its signature.
    pub files: Vec<FileEntry>,
    /// Notes (e.g. why `report.pdf` is absent).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Manifest {
    /// The bytes written to `manifest.json` (and signed).
    ///
    /// # Errors
    /// Serialization failure (not expected for this type).
    pub fn to_bytes(&self) -> serde_json::Result<Vec<u8>> {
        let mut b = serde_json::to_vec_pretty(self)?;
        b.push(b'\n');
        Ok(b)
    }

    /// Every file of the pack: the listed ones, then the manifest and its signature.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        (self.files.iter().map(|f| f.name.as_str())).chain([MANIFEST, SIGNATURE])
    }
}
