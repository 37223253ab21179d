//! The recorded fixture files of `tests/fixtures/`, read by the component tests.

/// The bytes of `tests/fixtures/auditlogs/<name>`.
pub fn auditlog(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/auditlogs/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture")
}

/// The sample JSON Lines hour blob (`PT1H.sample.jsonl`).
pub fn sample_auditlog() -> Vec<u8> {
    auditlog("PT1H.sample.jsonl")
}
