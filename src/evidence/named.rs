//! What an auditor recognises of an access-audit row's recording: its blob (`container/name`), its
//! Bastion host and the person of its session, read once per recording id from the catalogue row
//! (kept after deletion), instead of the opaque id; of a session read (`session.read`), the
//! session's host and person from its `sessions` row.

use std::collections::HashMap;

use crate::catalogue::recording::{Recording, RecordingKey};
use crate::catalogue::repo;
use crate::catalogue::session::{self, SessionRecord};
use crate::tables::TableStore;

/// Answers cached per recording id before the cache is dropped (bounds memory over a month).
const CACHED: usize = 50_000;

/// A recording as an auditor knows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Named {
    /// `container/blob name` (a session: `session <tunnel id>`).
    pub blob: String,
    /// The Bastion host it is shown under ([`Recording::bastion`]).
    pub host: String,
    /// The joined session's Entra user, else its VM account marked as such, else empty.
    pub person: String,
}

impl Named {
    /// The names of catalogue row `r`.
    pub fn of(r: &Recording) -> Self {
        let person = r
            .session()
            .map_or_else(String::new, |s| person(&s.user_email, &s.user_name));
        Self {
            blob: format!("{}/{}", r.container, r.blob_name),
            host: r.bastion().to_owned(),
            person,
        }
    }

    /// The names of session `s`.
    pub fn of_session(s: &SessionRecord) -> Self {
        Self {
            blob: format!("session {}", s.tunnel_id),
            host: s.bastion_host.clone(),
            person: person(&s.user_email, &s.user_name),
        }
    }
}

/// The Entra user, else the VM account said so, else empty.
fn person(email: &str, account: &str) -> String {
    if email.is_empty() && !account.is_empty() {
        format!("{account} (VM account)")
    } else {
        email.to_owned()
    }
}

/// The names of the recordings access rows are about, cached per id.
#[derive(Debug, Default)]
pub struct Names {
    cache: HashMap<String, Option<Named>>,
}

impl Names {
    /// The names of recording (or session) `id`; `None` when the catalogue has no row for it (a
    /// list page, a pack download).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn of(&mut self, tables: &dyn TableStore, id: &str) -> anyhow::Result<Option<Named>> {
        if let Some(known) = self.cache.get(id) {
            return Ok(known.clone());
        }
        let named = match RecordingKey::parse(id) {
            Some(key) => repo::recording(tables, &key).await?.map(|r| Named::of(&r)),
            None => (session::row(tables, id).await?)
                .and_then(|e| SessionRecord::from_entity(&e))
                .map(|s| Named::of_session(&s)),
        };
        if self.cache.len() >= CACHED {
            self.cache.clear();
        }
        self.cache.insert(id.to_owned(), named.clone());
        Ok(named)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tables_tests::{build, options, seed_host, temp_dir};
    use super::*;
    use crate::pack::key::PackKey;
    use crate::testkit::fakes;

    #[tokio::test]
    async fn the_accesses_name_the_recordings_blob_host_and_person_not_its_id() {
        let f = fakes();
        let ports = &f.state.ports;
        let id = seed_host(ports, "bas-ours", "ours", 3).await;
        let dir = temp_dir();
        build(ports, &PackKey::from_seed([5u8; 32]), &options(None), &dir)
            .await
            .expect("pack");
        let html = std::fs::read_to_string(dir.join("report.html")).expect("report");
        let from = html
            .find("<caption>Reads and other accesses, one by one (first")
            .expect("the accesses table");
        let table = &html[from..from + html[from..].find("</table>").expect("its end")];
        assert!(
            table.contains("<th>Recording</th><th>Host</th><th>Person</th>"),
            "{table}"
        );
        // The session has no Entra user: its VM account, labelled as such.
        let row = "<td><bdi>recordings/rec-ours.mp4</bdi></td><td><bdi>bas-ours</bdi></td>\
            <td><bdi>user-ours (VM account)</bdi></td>";
        assert!(table.contains(row), "{table}");
        assert!(!table.contains(&id), "the opaque id {id}: {table}");
        // The CSV keeps the id beside the names.
        let csv = std::fs::read_to_string(dir.join("accessaudit.csv")).expect("csv");
        let mut rows = csv::Reader::from_reader(csv.as_bytes());
        let head = rows.headers().expect("header").clone();
        let col = |r: &csv::StringRecord, n: &str| {
            let at = head.iter().position(|h| h == n).expect(n);
            r.get(at).unwrap_or_default().to_owned()
        };
        let read = rows
            .records()
            .map(|r| r.expect("row"))
            .find(|r| col(r, "target") == id)
            .expect("the read's row");
        assert_eq!(
            ["blob", "bastionHost", "person"].map(|n| col(&read, n)),
            [
                "recordings/rec-ours.mp4",
                "bas-ours",
                "user-ours (VM account)"
            ]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_session_read_names_the_session_its_host_and_person_and_is_its_hosts() {
        use time::macros::datetime;
        let f = fakes();
        let ports = &f.state.ports;
        seed_host(ports, "bas-ours", "ours", 3).await;
        seed_host(ports, "bas-theirs", "theirs", 4).await;
        let tables = ports.tables.as_ref();
        let mut s = SessionRecord::new("5f0c2d7e-8b1a-4c3e-9d2f-000000000abc");
        s.user_email = "alice@contoso.com".into();
        s.bastion_host = "bas-ours".into();
        s.outcome = "connected".into();
        s.session_start = Some(datetime!(2025-03-03 9:00 UTC));
        let at = datetime!(2025-03-04 8:00 UTC);
        let off = crate::export::Outbox::off();
        session::write::upsert(tables, &off, &s, None, at, &|_, _| None)
            .await
            .expect("session");
        let caller = crate::catalogue::access::Access {
            who: "auditor@contoso.com".into(),
            ip: String::new(),
            agent: String::new(),
        };
        crate::catalogue::access::audit(
            tables,
            &caller,
            "session.read",
            &s.tunnel_id,
            "found",
            at,
            None,
        )
        .await
        .expect("audit");
        let row = "<td><bdi>session 5f0c2d7e-<wbr>8b1a-<wbr>4c3e-<wbr>9d2f-<wbr>000000000abc</bdi></td>\
            <td><bdi>bas-ours</bdi></td><td><bdi>alice@contoso.com</bdi></td>";
        for (bastion, listed) in [
            (None, true),
            (Some("bas-ours"), true),
            (Some("bas-theirs"), false),
        ] {
            let dir = temp_dir();
            build(
                ports,
                &PackKey::from_seed([5u8; 32]),
                &options(bastion),
                &dir,
            )
            .await
            .expect("pack");
            let html = std::fs::read_to_string(dir.join("report.html")).expect("report");
            let from = html
                .find("<caption>Reads and other accesses, one by one")
                .expect("the accesses table");
            let table = &html[from..from + html[from..].find("</table>").expect("its end")];
            assert_eq!(table.contains(row), listed, "{bastion:?}: {table}");
            let _ = std::fs::remove_dir_all(&dir);
        }
    }

    #[tokio::test]
    async fn list_queries_are_counted_per_principal_and_day_and_reads_listed_one_by_one() {
        use time::macros::datetime;
        let f = fakes();
        let ports = &f.state.ports;
        let id = seed_host(ports, "bas-ours", "ours", 3).await;
        let caller = crate::catalogue::access::Access {
            who: "function-key caller".into(),
            ip: "203.0.113.1".into(),
            agent: "ui".into(),
        };
        let tables = ports.tables.as_ref();
        for (n, at) in [
            datetime!(2025-03-05 8:00 UTC),
            datetime!(2025-03-05 9:00 UTC),
            datetime!(2025-03-05 10:00 UTC),
            datetime!(2025-03-06 8:00 UTC),
        ]
        .into_iter()
        .enumerate()
        {
            let q = format!("sessions?from=2025-03-0{n}&to=2025-03-05");
            crate::catalogue::access::audit(
                tables,
                &caller,
                "sessions.list",
                &q,
                "listed 3 rows as json",
                at,
                None,
            )
            .await
            .expect("audit");
        }
        let dir = temp_dir();
        build(ports, &PackKey::from_seed([5u8; 32]), &options(None), &dir)
            .await
            .expect("pack");
        let html = std::fs::read_to_string(dir.join("report.html")).expect("report");
        let table = |caption: &str| {
            let from = html.find(caption).expect(caption);
            html[from..from + html[from..].find("</table>").expect("its end")].to_owned()
        };
        let lists = table("<caption>List queries per principal and day");
        let who = "<bdi>function-key caller</bdi>";
        for (day, n) in [("2025-03-05", "3 times"), ("2025-03-06", "1 time")] {
            let row = format!(
                "<tr><td>{day}</td><td>{who}</td><td>{who} listed <bdi>sessions</bdi> {n}</td></tr>"
            );
            assert!(lists.contains(&row), "{row} in {lists}");
        }
        let reads = table("<caption>Reads and other accesses, one by one");
        assert!(
            reads.contains("recordings/rec-ours.mp4"),
            "the read: {reads}"
        );
        assert!(
            !reads.contains("sessions.list"),
            "no list query one by one: {reads}"
        );
        // Every row stays in the CSV.
        let csv = std::fs::read_to_string(dir.join("accessaudit.csv")).expect("csv");
        assert_eq!(csv.matches("sessions.list").count(), 4, "{csv}");
        assert!(csv.contains(&id), "{csv}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_person_is_the_entra_user_else_the_vm_account_said_so() {
        let s = |email: &str| {
            let mut s = crate::audit_logs::sessions::SessionRecord::new("t");
            s.user_name = "administrator".into();
            s.user_email = email.into();
            s.session_start = Some(time::macros::datetime!(2025-03-10 10:00 UTC));
            let r = crate::testkit::audit::recording_row(
                "r.mp4",
                time::macros::datetime!(2025-03-10 10:00 UTC),
            );
            super::Named::of(&super::super::tables_tests::joined_to(r, &s))
        };
        assert_eq!(s("bob@contoso.com").person, "bob@contoso.com");
        assert_eq!(s("").person, "administrator (VM account)");
        assert_eq!(s("").blob, "recordings/r.mp4");
    }
}
