//! Writing a pack into a directory: the CSV files, the report (and its PDF), then the manifest
//! and its signature last, so a pack without `manifest.sig` is visibly unfinished.

use std::path::Path;

use anyhow::Context as _;
use serde_json::json;

use super::doors;
use super::figures::Counter;
use super::lists::{LISTS, Lists};
use super::manifest::{FORMAT, FileEntry, Generator, MANIFEST, Manifest, PeriodDoc, SIGNATURE};
use super::options::PackOptions;
use super::pdf::Print;
use super::pdf::{REPORT, REPORT_PDF};
use super::rows::Facts;
use super::source::{INTEGRITY_COLUMNS, Kind, Source};
use super::writer::{CsvFile, write_file};
use crate::arm::ids::vm_of;
use crate::dates::format_utc;
use crate::pack::key::PackKey;
use crate::ports::Ports;

/// The derived integrity file's name.
pub const INTEGRITY: &str = "integrity.csv";

/// Writes the pack `opts` describes, from the app's tables, into `dir` (created; it must not
/// already hold a pack).
///
/// # Errors
/// Storage and I/O failures (a partial directory without `manifest.sig` is left behind).
pub async fn write_pack(
    dir: &Path,
    ports: &Ports,
    key: &PackKey,
    opts: &PackOptions,
    pdf: Print<'_>,
) -> anyhow::Result<Manifest> {
    let mut mkdir = std::fs::DirBuilder::new();
    mkdir.recursive(true);
    // The process's user's only, like the files.
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut mkdir, 0o700);
    mkdir
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    let mut counter = Counter::new(opts.to, opts.review_deadline);
    let mut files: Vec<FileEntry> = Vec::new();
    let mut source = Source::new(ports.clone(), opts);
    let columns: Vec<&str> = INTEGRITY_COLUMNS.split(' ').collect();
    let mut integrity = CsvFile::create(dir, INTEGRITY, &columns)?;
    let mut lists = Lists::create(dir, opts.review_deadline)?;
    let mut tally = super::authorized::Tally::default();
    // With `--bastion`: the VMs its sessions of the period reached (their doors are its).
    let mut vms = std::collections::BTreeSet::new();
    for kind in Kind::ALL {
        let (file, columns) = kind.file();
        let mut csv = CsvFile::create(dir, file, &columns)?;
        let mut chunk = 0;
        while let Some(rows) = (source.chunk(kind, chunk).await)
            .with_context(|| format!("reading the rows of {file}"))?
        {
            for row in rows {
                csv.row(&row.cells)?;
                match &row.facts {
                    Facts::Recording {
                        integrity_cells, ..
                    } => integrity.row(integrity_cells)?,
                    Facts::Session(w) => {
                        vms.extend(vm_of(&w.target_resource_id));
                        lists.session(w, counter.first_review(w))?;
                        tally.session(w);
                    }
                    Facts::Review {
                        finding: Some(r), ..
                    } => lists.review(ports.tables.as_ref(), r).await?,
                    _ => {}
                }
                counter.add(&row.facts);
            }
            chunk += 1;
        }
        files.push(csv.finish()?);
    }
    files.push(integrity.finish()?);
    let mut authorization = tally.finish();
    let (listed, mut shown) = lists.finish(&authorization.shared)?;
    files.extend(listed);
    authorization.lists = shown.split_off(LISTS.len());
    let host_vms = opts.bastion.as_ref().map(|_| &vms);
    let tables = ports.tables.as_ref();
    let (doors_files, other_ways) = doors::write(dir, tables, (opts.from, opts.to), host_vms)
        .await
        .context("reading the other ways in (table estate)")?;
    files.extend(doors_files);
    // Overdue is the queue's state when the pack is made: the queued sessions of the period.
    super::reviewed::count_overdue(ports, opts, &mut counter).await?;
    let mut figures = counter.finish();
    figures.lists = shown;
    figures.other_ways_in = other_ways;
    figures.authorization = authorization;
    let html = super::report::render(&figures, opts, key);
    files.push(write_file(dir, REPORT, html.as_bytes())?);
    let mut notes = Vec::new();
    if opts.period_open() {
        notes.push(format!(
            "the period is not over: made at {}, before its end {}; its figures can still change",
            format_utc(opts.now),
            format_utc(opts.to)
        ));
    }
    match pdf {
        Print::NotAsked | Print::NoChromium | Print::NotHere => notes.extend(pdf.note()),
        Print::With(p) => match p.print(&dir.join(REPORT), &dir.join(REPORT_PDF)).await {
            Ok(()) => {
                // Chromium writes it with its umask: the pack's other files are the owner's only.
                #[cfg(unix)]
                std::fs::set_permissions(
                    dir.join(REPORT_PDF),
                    std::os::unix::fs::PermissionsExt::from_mode(0o600),
                )?;
                let (size, sha256) = super::verify::file_digest(&dir.join(REPORT_PDF))?;
                files.push(FileEntry {
                    name: REPORT_PDF.to_owned(),
                    sha256,
                    size,
                    rows: None,
                });
            }
            Err(why) => {
                let _ = std::fs::remove_file(dir.join(REPORT_PDF));
                notes.push(format!("{REPORT_PDF} not produced: {why}"));
            }
        },
    }
    let manifest = Manifest {
        format: FORMAT.to_owned(),
        generator: Generator::this(),
        period: PeriodDoc {
            from: format_utc(opts.from),
            to: format_utc(opts.to),
            bastion: opts.bastion.clone(),
        },
        generated_at: format_utc(opts.now),
        public_key: key.public_base64(),
        sources: json!({"tables": source.describe()}),
        figures: serde_json::to_value(&figures)?,
        files,
        notes,
    };
    let bytes = manifest.to_bytes()?;
    write_new(dir, MANIFEST, &bytes)?;
    write_new(dir, SIGNATURE, &key.sign(&bytes))?;
    Ok(manifest)
}

fn write_new(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut f = super::writer::create_private(&dir.join(name))?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// A new private (`0700`) directory for one pack in the temporary folder, removed on drop.
///
/// # Errors
/// I/O errors creating it.
pub fn pack_dir() -> std::io::Result<tempfile::TempDir> {
    let mut b = tempfile::Builder::new();
    b.prefix("evidence-");
    // Created so: no moment in which another user could open it.
    #[cfg(unix)]
    b.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
    b.tempdir()
}
