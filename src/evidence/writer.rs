//! Files of a pack, written once and hashed on their way to disk (no second read), each readable by
//! the process's user only: a pack holds user names, e-mail and client addresses.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::manifest::FileEntry;
use crate::csv_text;

/// A file being written, hashed as it goes.
pub struct HashingFile {
    name: String,
    out: BufWriter<File>,
    hash: Sha256,
    size: u64,
}

impl HashingFile {
    /// Creates `dir/name` (refusing to replace an existing file: a pack is written once).
    ///
    /// # Errors
    /// I/O errors.
    pub fn create(dir: &Path, name: &str) -> std::io::Result<Self> {
        let file = create_private(&dir.join(name))?;
        Ok(Self {
            name: name.to_owned(),
            out: BufWriter::with_capacity(64 * 1024, file),
            hash: Sha256::new(),
            size: 0,
        })
    }

    /// Flushes and closes the file; its manifest entry.
    ///
    /// # Errors
    /// I/O errors.
    pub fn finish(mut self, rows: Option<u64>) -> std::io::Result<FileEntry> {
        self.out.flush()?;
        self.out.get_ref().sync_all()?;
        Ok(FileEntry {
            name: self.name,
            sha256: hex::encode(self.hash.finalize()),
            size: self.size,
            rows,
        })
    }
}

impl Write for HashingFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        self.hash.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// Creates `path` for writing, never over an existing file, mode `0600` whatever the umask.
///
/// # Errors
/// I/O errors.
pub fn create_private(path: &Path) -> std::io::Result<File> {
    let mut options = File::options();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Writes a whole small file (the report) and returns its entry.
///
/// # Errors
/// I/O errors.
pub fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<FileEntry> {
    let mut f = HashingFile::create(dir, name)?;
    f.write_all(bytes)?;
    f.finish(None)
}

/// A CSV file whose cells a spreadsheet shows as text ([`csv_text`], as the API's lists).
pub struct CsvFile {
    out: HashingFile,
    rows: u64,
}

impl CsvFile {
    /// Creates the file and writes its header.
    ///
    /// # Errors
    /// I/O errors.
    pub fn create(dir: &Path, name: &str, columns: &[&str]) -> std::io::Result<Self> {
        let mut out = HashingFile::create(dir, name)?;
        csv_text::row(&mut out, columns)?;
        Ok(Self { out, rows: 0 })
    }

    /// Writes one row.
    ///
    /// # Errors
    /// I/O errors.
    pub fn row(&mut self, cells: &[String]) -> std::io::Result<()> {
        csv_text::row(&mut self.out, cells)?;
        self.rows += 1;
        Ok(())
    }

    /// Closes the file; its manifest entry (with the row count).
    ///
    /// # Errors
    /// I/O errors.
    pub fn finish(self) -> std::io::Result<FileEntry> {
        self.out.finish(Some(self.rows))
    }
}
