//! A newcomer's first hour: what the handler, its command line and devhost say when something is
//! wrong (a refused key, a misspelt connection string, storage that is down, a taken port), and
//! the quick start of docs/devhost.md run as written ([`quickstart`]).

#![allow(dead_code, unreachable_pub, missing_docs)]

mod cli;
mod errors;
mod quickstart;

use std::process::Command;

/// A port nothing listens on (bound, read, released).
pub fn dead_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// A connection string to storage that does not answer (Azurite's published account and key).
pub fn dead_storage() -> String {
    let p = dead_port();
    format!(
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={};BlobEndpoint=http://127.0.0.1:{p}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{p}/devstoreaccount1;TableEndpoint=http://127.0.0.1:{p}/devstoreaccount1",
        bastion_recordings::azure::connection::DEV_KEY
    )
}

/// Runs `handler args` with only PATH and `env`: exit code, stdout, stderr.
pub fn handler(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    run(
        std::path::Path::new(env!("CARGO_BIN_EXE_handler")),
        args,
        env,
    )
}

/// [`handler`] of the in-memory handler ([`crate::harness::in_memory_handler`]).
pub fn in_memory(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    run(&crate::harness::in_memory_handler(), args, env)
}

fn run(
    bin: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> (Option<i32>, String, String) {
    let out = Command::new(bin)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .output()
        .expect("run handler");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

/// The lines of `text` that are not log lines (the command's own words).
pub fn said(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| !l.contains(" WARN ") && !l.contains(" INFO ") && !l.contains(" DEBUG "))
        .collect()
}
