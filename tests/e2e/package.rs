//! The deployment package (`dist/app.zip`, built by `scripts/package.sh`): exact layout, Unix exec bit
//! on `handler`, a Linux x86_64 ELF needing glibc ≤ 2.28, a binary that starts and answers `GET /`,
//! and one with no in-memory mode: without its storage it refuses to start, whatever the test kit's
//! `handler-in-memory` settings say (`scripts/ci-infra.sh` also checks that no test-double source
//! file went into it).
//! Skips with a message when the zip is absent (the release build takes minutes); `REQUIRE_PACKAGE=1`
//! (set by `scripts/ci-infra.sh` after packaging) turns absence into a failure.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{HandlerProcess, unique};

const MAX_GLIBC: (u32, u32) = (2, 28);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn package() -> Option<PathBuf> {
    let zip = root().join("dist/app.zip");
    if zip.is_file() {
        return Some(zip);
    }
    assert!(
        std::env::var("REQUIRE_PACKAGE").ok().as_deref() != Some("1"),
        "REQUIRE_PACKAGE=1 but {} is missing",
        zip.display()
    );
    eprintln!(
        "skipping: {} is absent (run scripts/package.sh first)",
        zip.display()
    );
    None
}

fn u16_at(b: &[u8], i: usize) -> usize {
    usize::from(u16::from_le_bytes([b[i], b[i + 1]]))
}

fn u32_at(b: &[u8], i: usize) -> usize {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]) as usize
}

/// Entry name → Unix mode, read from the zip's central directory (what unzippers apply).
fn zip_modes(zip: &[u8]) -> BTreeMap<String, u32> {
    let eocd = (0..=zip.len().saturating_sub(22))
        .rev()
        .find(|&i| zip[i..].starts_with(&[0x50, 0x4b, 0x05, 0x06]))
        .expect("end of central directory");
    let (count, mut at) = (u16_at(zip, eocd + 10), u32_at(zip, eocd + 16));
    let mut out = BTreeMap::new();
    for _ in 0..count {
        assert!(
            zip[at..].starts_with(&[0x50, 0x4b, 0x01, 0x02]),
            "central directory header"
        );
        assert_eq!(
            zip[at + 5],
            3,
            "entries must be made by a Unix system, or modes are ignored"
        );
        let (name_len, extra, comment) = (
            u16_at(zip, at + 28),
            u16_at(zip, at + 30),
            u16_at(zip, at + 32),
        );
        let mode = (u32_at(zip, at + 38) >> 16) as u32;
        let name =
            String::from_utf8(zip[at + 46..at + 46 + name_len].to_vec()).expect("utf-8 name");
        out.insert(name, mode);
        at += 46 + name_len + extra + comment;
    }
    out
}

/// The files the package must hold: host.json, handler and one function.json per `functions/` folder.
fn expected_entries() -> Vec<String> {
    let mut names = vec!["handler".to_owned(), "host.json".to_owned()];
    for e in std::fs::read_dir(root().join("functions")).expect("functions/") {
        let e = e.expect("entry");
        if e.path().join("function.json").is_file() {
            names.push(format!("{}/function.json", e.file_name().to_string_lossy()));
        }
    }
    names.sort();
    names
}

/// Highest `GLIBC_x.y[.z]` version named in the binary (its version-needs strings).
fn max_glibc(bin: &[u8]) -> Option<(u32, u32)> {
    let mut best = None;
    for (i, _) in bin.windows(6).enumerate().filter(|(_, w)| *w == b"GLIBC_") {
        let tail: String = bin[i + 6..]
            .iter()
            .take(12)
            .take_while(|c| c.is_ascii_digit() || **c == b'.')
            .map(|c| char::from(*c))
            .collect();
        let mut parts = tail.split('.').map(|p| p.parse::<u32>());
        if let (Some(Ok(major)), Some(Ok(minor))) = (parts.next(), parts.next()) {
            best = best.max(Some((major, minor)));
        }
    }
    best
}

fn unpack(zip: &Path, dir: &Path) {
    let status = Command::new("unzip")
        .arg("-q")
        .arg("-o")
        .arg(zip)
        .arg("-d")
        .arg(dir)
        .status();
    if status.as_ref().is_ok_and(|s| s.success()) {
        return;
    }
    // No unzip: extract with Python and apply the stored modes, as Info-ZIP and the platform do.
    let script = "import os,sys,zipfile\nz=zipfile.ZipFile(sys.argv[1])\nfor i in z.infolist():\n p=z.extract(i,sys.argv[2]); os.chmod(p,(i.external_attr>>16)&0o777)";
    let ok = Command::new("python3")
        .args(["-c", script])
        .arg(zip)
        .arg(dir)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "cannot unpack {} (unzip: {status:?})", zip.display());
}

#[test]
fn zip_has_exactly_the_host_layout_with_an_executable_handler() {
    let Some(zip) = package() else { return };
    let modes = zip_modes(&std::fs::read(&zip).expect("read zip"));
    assert_eq!(
        modes.keys().cloned().collect::<Vec<_>>(),
        expected_entries(),
        "package layout"
    );
    assert_eq!(
        modes["handler"] & 0o170_000,
        0o100_000,
        "handler is a regular file"
    );
    assert_eq!(
        modes["handler"] & 0o111,
        0o111,
        "handler must be executable (Premium/Dedicated never add +x)"
    );
    for (name, mode) in modes.iter().filter(|(n, _)| n.as_str() != "handler") {
        assert_eq!(mode & 0o444, 0o444, "{name} must be readable");
    }
}

#[tokio::test]
async fn unpacked_handler_is_old_glibc_x86_64_and_answers_get_root() {
    let Some(zip) = package() else { return };
    let dir = std::env::temp_dir().join(unique("bastion-package-"));
    unpack(&zip, &dir);
    for name in expected_entries().iter().filter(|n| n.ends_with(".json")) {
        let source = if name == "host.json" {
            root().join(name)
        } else {
            root().join("functions").join(name)
        };
        assert_eq!(
            std::fs::read(dir.join(name)).expect("unpacked"),
            std::fs::read(source).expect("source"),
            "{name} differs from source"
        );
    }
    let handler = dir.join("handler");
    let bin = std::fs::read(&handler).expect("handler");
    assert!(
        bin.starts_with(b"\x7fELF") && bin[4] == 2 && u16_at(&bin, 18) == 0x3e,
        "64-bit x86_64 ELF"
    );
    let glibc =
        max_glibc(&bin).expect("dynamically linked against glibc (GLIBC_ versions present)");
    eprintln!(
        "package: handler {} bytes, max GLIBC_{}.{}",
        bin.len(),
        glibc.0,
        glibc.1
    );
    assert!(
        glibc <= MAX_GLIBC,
        "handler needs GLIBC_{}.{} > {}.{}",
        glibc.0,
        glibc.1,
        MAX_GLIBC.0,
        MAX_GLIBC.1
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&handler)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o111,
            0o111,
            "unpacked handler lost its exec bit: {mode:o}"
        );
    }
    let refused = Command::new(&handler)
        .env_clear()
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", "0")
        .env("HANDLER_IN_MEMORY", "true")
        .env("HANDLER_IN_MEMORY_ACCOUNT", "devstoreaccount1")
        .output()
        .expect("run handler");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && stderr.contains("AzureWebJobsStorage: not set"),
        "the release handler has no in-memory mode: {:?} {stderr}",
        refused.status
    );
    // A closed local port: start-up makes no storage call, so `GET /` answers without Azurite.
    let offline = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;\
        AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;\
        BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;QueueEndpoint=http://127.0.0.1:9/devstoreaccount1;\
        TableEndpoint=http://127.0.0.1:9/devstoreaccount1;";
    let h = HandlerProcess::spawn_bin(
        handler.to_str().expect("utf-8 path"),
        &[("AzureWebJobsStorage", offline)],
    )
    .await;
    let res = reqwest::get(h.url("/")).await.expect("GET /");
    assert_eq!(res.status(), 200);
    drop(h);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn glibc_scan_finds_the_highest_version() {
    assert_eq!(
        max_glibc(b"\0GLIBC_2.2.5\0GLIBC_2.28\0GLIBC_2.3\0GLIBC_PRIVATE\0"),
        Some((2, 28))
    );
    assert_eq!(max_glibc(b"\0GLIBC_2.34\0GLIBC_2.9\0"), Some((2, 34)));
    assert_eq!(max_glibc(b"no versions here"), None);
}
