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

/// The policy the template writes, on the container the handler writes to (no parameter that
/// would name another container the handler never writes).
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
    let handler = read("src/evidence/publish.rs");
    let name = handler
        .split("pub const CONTAINER: &str = \"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("the handler's container");
    assert!(
        container.contains(&format!("name: '{name}'")),
        "the template's evidence container is the one the handler writes ({name}): {container}"
    );
    let main = read("infra/main.bicep");
    assert!(
        !main.contains("param evidenceContainer "),
        "a container parameter the handler would never read"
    );
}

/// The create-or-update API of immutability policies writes unlocked policies only: once an
/// operator locks the evidence policy (as the docs ask), a template that still writes it fails
/// every later deployment. A parameter says it is locked, and then the policy is left alone.
#[test]
fn a_locked_evidence_policy_is_left_alone() {
    let storage = read("infra/modules/storage.bicep");
    let policy = storage
        .split("resource ")
        .find(|r| r.contains("containers/immutabilityPolicies@"))
        .expect("an immutability policy resource");
    assert!(
        policy.contains("= if (!evidenceImmutabilityLocked) {"),
        "the policy is written only while unlocked: {policy}"
    );
    assert!(storage.contains("param evidenceImmutabilityLocked bool"));
    let main = read("infra/main.bicep");
    assert!(main.contains("param evidenceImmutabilityLocked bool = false"));
    assert!(main.contains("evidenceImmutabilityLocked: evidenceImmutabilityLocked"));
    let readme = read("infra/README.md");
    assert!(
        readme.contains("az storage container immutability-policy lock"),
        "infra/README.md says how to lock it"
    );
}
