//! The evidence pack's infrastructure: its signing key reaches the app only as a Key Vault
//! reference, and its container carries a time-based immutability policy.

fn read(path: &str) -> String {
    std::fs::read_to_string(path).expect(path)
}

#[test]
fn the_signing_key_is_a_key_vault_reference_passed_down_from_main() {
    let app = read("infra/modules/functionapp.bicep");
    let line = app
        .lines()
        .find(|l| l.trim_start().starts_with("EVIDENCE_SIGNING_KEY:"))
        .expect("EVIDENCE_SIGNING_KEY in the app settings");
    assert!(
        line.contains("${kvPrefix}${evidenceSigningKeySecret})"),
        "not a Key Vault reference: {line}"
    );
    assert!(
        line.contains("empty(evidenceSigningKeySecret) ? ''"),
        "{line}"
    );
    let main = read("infra/main.bicep");
    assert!(main.contains("param evidenceSigningKeySecret string"));
    assert!(main.contains("evidenceSigningKeySecret: evidenceSigningKeySecret"));
}

#[test]
fn the_evidence_container_has_a_time_based_immutability_policy() {
    let storage = read("infra/modules/storage.bicep");
    let policy = storage
        .split("resource ")
        .find(|r| r.contains("containers/immutabilityPolicies@"))
        .expect("an immutability policy resource");
    assert!(policy.contains("parent: evidence"), "{policy}");
    assert!(policy.contains("immutabilityPeriodSinceCreationInDays: evidenceImmutabilityDays"));
    assert!(policy.contains("allowProtectedAppendWrites: false"));
    let container = storage
        .split("resource ")
        .find(|r| r.starts_with("evidence "))
        .expect("the evidence container");
    assert!(container.contains("name: evidenceContainer"));
    let main = read("infra/main.bicep");
    assert!(main.contains("param evidenceContainer string = 'evidence'"));
    assert!(main.contains("evidenceContainer: evidenceContainer"));
}
