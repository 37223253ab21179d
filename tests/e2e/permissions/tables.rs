//! Table-level read: the tables each Logs Query API query reads, held against the tables
//! `infra/main.bicep` grants read on in that kind of workspace (`auditWorkspaceTables` for
//! `AUDITLOGS_WORKSPACES`, `custodyWorkspaceTables` for `CUSTODY_WORKSPACE_ID`), both ways: a table a
//! query reads that is not granted there fails (the service answers 403), and so does a granted table
//! no query reads (least privilege).

use std::collections::{BTreeMap, BTreeSet};

use super::bicep::strip_comments;
use super::exercise::{CUSTODY_WORKSPACE, WORKSPACE};
use super::record::Query;

/// The main.bicep list for each workspace the exercise names, with its setting.
const KINDS: [(&str, &str, &str); 2] = [
    (WORKSPACE, "AUDITLOGS_WORKSPACES", "auditWorkspaceTables"),
    (
        CUSTODY_WORKSPACE,
        "CUSTODY_WORKSPACE_ID",
        "custodyWorkspaceTables",
    ),
];

/// The tables `kql` reads: the source of each tabular expression (a statement's first name, or a
/// `let` value's; the names after `union`; the first name after `join` / `lookup` or inside their
/// parentheses), not the names its `let` statements bind, functions (a name before `(`) or
/// parameters (`name=value`). String literals are skipped.
pub(super) fn tables_read(kql: &str) -> BTreeSet<String> {
    let words = tokens(kql);
    let bound: BTreeSet<&str> = words
        .windows(2)
        .filter(|w| w[0] == "let")
        .map(|w| w[1].as_str())
        .collect();
    let (mut out, mut expect, mut header) = (BTreeSet::new(), true, false);
    // How deep in parentheses, and the depth of the current `union`'s legs.
    let (mut depth, mut union_at): (usize, Option<usize>) = (0, None);
    let mut i = 0;
    while i < words.len() {
        let (w, next) = (words[i].as_str(), words.get(i + 1).map(String::as_str));
        match w {
            ";" => (expect, header, depth, union_at) = (true, false, 0, None),
            "(" => {
                expect = header || union_at == Some(depth);
                header = false;
                depth += 1;
            }
            ")" => {
                depth = depth.saturating_sub(1);
                (expect, header) = (false, false);
                union_at = union_at.filter(|d| *d <= depth);
            }
            "|" => {
                (expect, header) = (false, false);
                union_at = union_at.filter(|d| *d != depth);
            }
            "," if union_at == Some(depth) => expect = true,
            "let" => {
                // `let name =`: the value is a statement's source again.
                i += 2;
                expect = true;
            }
            "union" | "join" | "lookup" => {
                (expect, header) = (true, true);
                if w == "union" {
                    union_at = Some(depth);
                }
            }
            _ if next == Some("=") => i += 2,
            _ if next == Some("(") || !w.starts_with(|c: char| c.is_alphabetic() || c == '_') => {}
            _ => {
                if expect && !bound.contains(w) {
                    out.insert(w.to_owned());
                }
                (expect, header) = (false, false);
            }
        }
        i += 1;
    }
    out
}

/// Names, numbers and single punctuation marks of `kql`, string literals left out.
fn tokens(kql: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    for c in kql.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => {
                flush(&mut word, &mut words);
                quote = Some(c);
            }
            None if c.is_alphanumeric() || c == '_' => word.push(c),
            None => {
                flush(&mut word, &mut words);
                if !c.is_whitespace() {
                    words.push(c.to_string());
                }
            }
        }
    }
    flush(&mut word, &mut words);
    words
}

fn flush(word: &mut String, words: &mut Vec<String>) {
    if !word.is_empty() {
        words.push(std::mem::take(word));
    }
}

/// The tables granted per list name, read from main.bicep's `var <name> = … ? [...] : []`.
pub(super) fn granted(main: &str) -> BTreeMap<&'static str, BTreeSet<String>> {
    let main = strip_comments(main);
    KINDS
        .iter()
        .map(|(_, _, var)| {
            let decl = format!("var {var} = ");
            let rest = main
                .split(&decl)
                .nth(1)
                .unwrap_or_else(|| panic!("main.bicep: no `{decl}`"));
            let list = rest.split('[').nth(1).and_then(|l| l.split(']').next());
            let list = list.unwrap_or_else(|| panic!("main.bicep: `{decl}` lists no tables"));
            let names = list
                .split(',')
                .map(|t| t.trim().trim_matches('\'').to_owned());
            (*var, names.filter(|t| !t.is_empty()).collect())
        })
        .collect()
}

/// Everything that drifted between the queries sent and the tables granted.
pub(super) fn drift(queries: &[Query], granted: &BTreeMap<&str, BTreeSet<String>>) -> Vec<String> {
    let mut out = BTreeSet::new();
    let mut read: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (function, workspace, query) in queries {
        let Some((_, setting, var)) = KINDS.iter().find(|(w, _, _)| w == workspace) else {
            out.insert(format!(
                "{function} queries workspace {workspace}, which no setting names"
            ));
            continue;
        };
        let tables = tables_read(query);
        if tables.is_empty() {
            out.insert(format!(
                "{function} sent a query whose tables cannot be told: {query}"
            ));
        }
        for t in tables {
            if !granted.get(var).is_some_and(|g| g.contains(&t)) {
                out.insert(format!(
                    "{function} reads {t} in the {setting} workspace, which infra/main.bicep's {var} does not grant"
                ));
            }
            read.entry(var).or_default().insert(t);
        }
    }
    for (var, tables) in granted {
        for t in tables
            .iter()
            .filter(|t| !read.get(var).is_some_and(|r| r.contains(*t)))
        {
            out.insert(format!(
                "infra/main.bicep's {var} grants {t}, which no query reads"
            ));
        }
    }
    out.into_iter().collect()
}

#[test]
fn the_tables_of_a_query_are_its_sources_only() {
    let t = |q: &str| tables_read(q).into_iter().collect::<Vec<_>>();
    assert_eq!(
        t(
            "let keys = pack_array(@\"/a/b\");\nlet limit = 10;\nStorageBlobLogs\n| where ObjectKey in (keys)\n| extend K = strcat_array(split(ObjectKey, \"/\"), \"/\")\n| take limit"
        ),
        ["StorageBlobLogs"]
    );
    assert_eq!(
        t(
            "union isfuzzy=true AuditLogs, (SigninLogs | where x == 'AzureActivity')\n| join kind=inner (AzureActivity | project A) on A\n| lookup Heartbeat on Computer"
        ),
        ["AuditLogs", "AzureActivity", "Heartbeat", "SigninLogs"]
    );
    // The authorization query with SigninLogs: parenthesised legs with pipes of their own.
    let epoch = time::OffsetDateTime::UNIX_EPOCH;
    let authz = bastion_recordings::authorization::auditlogs::query(10, true, (epoch, epoch));
    assert_eq!(t(&authz), ["AuditLogs", "SigninLogs"], "{authz}");
    assert_eq!(
        t("union (A | where x in (B)), (C | summarize n = count())\n| join (D) on x"),
        ["A", "C", "D"]
    );
    assert_eq!(
        t("let recent = MicrosoftAzureBastionAuditLogs | take 1;\nrecent | count"),
        ["MicrosoftAzureBastionAuditLogs"]
    );
}

#[test]
fn drift_names_an_ungranted_table_and_a_granted_one_no_query_reads() {
    let granted = granted(
        "var auditWorkspaceTables = x ? ['MicrosoftAzureBastionAuditLogs', 'SigninLogs'] : []\nvar custodyWorkspaceTables = x ? ['StorageBlobLogs'] : []",
    );
    let q = |f: &str, w: &str, k: &str| (f.to_owned(), w.to_owned(), k.to_owned());
    let problems = drift(
        &[
            q(
                "AuditLogQuery",
                WORKSPACE,
                "MicrosoftAzureBastionAuditLogs | take 1",
            ),
            q("EstateCheck", WORKSPACE, "AzureActivity | take 1"),
            q(
                "CustodyActor",
                CUSTODY_WORKSPACE,
                "StorageBlobLogs | take 1",
            ),
            q("CustodyActor", WORKSPACE, "StorageBlobLogs | take 1"),
        ],
        &granted,
    );
    assert_eq!(
        problems,
        [
            "CustodyActor reads StorageBlobLogs in the AUDITLOGS_WORKSPACES workspace, which infra/main.bicep's auditWorkspaceTables does not grant",
            "EstateCheck reads AzureActivity in the AUDITLOGS_WORKSPACES workspace, which infra/main.bicep's auditWorkspaceTables does not grant",
            "infra/main.bicep's auditWorkspaceTables grants SigninLogs, which no query reads",
        ]
    );
}
