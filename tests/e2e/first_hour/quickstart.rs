//! The quick start of docs/devhost.md and the demo are run as written by `scripts/first-hour.sh`
//! (a step of `scripts/test.sh`, before `cargo test`: it builds binaries this test binary runs).
//! Here: the script still finds the block it runs, and the README says where the page is.

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).expect(path)
}

#[test]
fn the_quick_start_is_run_by_ci_and_the_readme_says_where_the_page_is() {
    let test = read("scripts/test.sh");
    assert!(
        test.contains("scripts/first-hour.sh"),
        "scripts/test.sh runs the quick start"
    );
    let doc = read("docs/devhost.md");
    let block = doc
        .split("## Quick start")
        .nth(1)
        .and_then(|s| s.split("```sh\n").nth(1))
        .and_then(|s| s.split("```").next())
        .expect("a ```sh block under ## Quick start");
    for needed in [
        "scripts/azurite.sh start",
        "CATALOGUE_AUTH=none",
        "/api/ui",
        "scripts/azurite.sh stop",
    ] {
        assert!(
            block.contains(needed),
            "{needed} in the quick start:\n{block}"
        );
    }
    // Beside a running demo (whose Azurite is `.azurite/`): its own Azurite and log, nothing
    // written into the repository's root.
    assert!(
        block.starts_with("export AZURITE_STATE_DIR=\"$PWD/.azurite-quickstart\""),
        "the quick start's own Azurite state directory first:\n{block}"
    );
    assert!(
        !block.contains(">devhost.log") && block.contains("\"$AZURITE_STATE_DIR/devhost.log\""),
        "devhost.log kept beside its Azurite:\n{block}"
    );
    let ignored = read(".gitignore");
    assert!(
        ignored.lines().any(|l| l == "/.azurite-quickstart"),
        "{ignored}"
    );
    assert!(
        !block.contains("/work/"),
        "no path of one machine:\n{block}"
    );
    let readme = read("README.md");
    assert!(
        readme.contains("/api/ui") && readme.contains("scripts/demo.sh stop"),
        "the README says where the page is and how the demo stops"
    );
}
