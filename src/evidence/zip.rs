//! A pack directory as one zip (the API's answer), each file streamed from disk.

use std::io::{Seek, Write};
use std::path::Path;

use zip::write::SimpleFileOptions;

use super::manifest::Manifest;

/// Writes the pack in `dir` (described by `manifest`) as a zip to `out`; the entries carry no
/// directory and a fixed time, so the same pack zips to the same bytes.
///
/// # Errors
/// I/O and zip errors.
pub fn zip_pack<W: Write + Seek>(dir: &Path, manifest: &Manifest, out: W) -> anyhow::Result<W> {
    let mut zip = zip::ZipWriter::new(out);
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    for name in manifest.names() {
        zip.start_file(name, options)?;
        let mut f = std::fs::File::open(dir.join(name))?;
        std::io::copy(&mut f, &mut zip)?;
    }
    Ok(zip.finish()?)
}
