//! The pack's "Authorization" section: who allowed the period's successful sessions. Its figures
//! (sessions per verdict, per host and in total; the sessions without a covering verdict; the
//! shared VM accounts) are counted by [`Tally`], which [`write_pack`](super::pack::write_pack)
//! feeds as the sessions stream past and [`authorization_figures`] feeds without writing a pack,
//! for `GET /api/sessions/authorization`: the page and the pack say the same. Its lists
//! ([`super::lists`]): `unauthorized.csv` (verdict `none`, `unknown`, or not decided yet) and
//! `sharedaccounts.csv` (one VM account used by two or more people in the period,
//! `authorization::shared`).

use std::collections::BTreeMap;

use serde::Serialize;

use super::lists::{ListSpec, SHARED, Shown, UNAUTHORIZED};
use super::options::PackOptions;
use super::rows::Facts;
use super::source::{Kind, Source};
use super::verdict::{counted, verdict, without};
use crate::authorization::shared::Shared;
use crate::authorization::shared_store::{Accounts, add, shared};
use crate::catalogue::days::DayRow;
use crate::catalogue::query::rows::AUTHORIZATIONS;
use crate::ports::Ports;

/// The section's lists, in the order the report shows them.
pub const LISTS: [ListSpec; 2] = [UNAUTHORIZED, SHARED];

/// Sessions of one host (or all) per verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdicts {
    /// Successful sessions.
    pub sessions: u64,
    /// Of them, per verdict (every verdict of `GET /api/sessions?authorization=`, `undecided`
    /// included, zero when none).
    pub verdicts: BTreeMap<String, u64>,
    /// Of them, without a covering verdict: `none`, `unknown` and `undecided`.
    pub without_authorization: u64,
}

impl Default for Verdicts {
    fn default() -> Self {
        Self {
            sessions: 0,
            verdicts: AUTHORIZATIONS
                .iter()
                .map(|v| ((*v).to_owned(), 0))
                .collect(),
            without_authorization: 0,
        }
    }
}

/// The section's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Authorization {
    /// All hosts together.
    pub total: Verdicts,
    /// Per Bastion host.
    pub hosts: BTreeMap<String, Verdicts>,
    /// VM accounts used by two or more people in the period.
    pub shared_accounts: u64,
    /// The accounts.
    #[serde(skip)]
    pub shared: Vec<Shared>,
    /// The lists, as the report shows them (a pack only).
    #[serde(skip)]
    pub lists: Vec<Shown>,
}

/// Counts the sessions as they pass.
#[derive(Debug, Default)]
pub struct Tally {
    figures: Authorization,
    accounts: Accounts,
}

impl Tally {
    /// Counts session `w`.
    pub fn session(&mut self, w: &DayRow) {
        if !counted(w) {
            return;
        }
        add(&mut self.accounts, w);
        let f = &mut self.figures;
        for v in [&mut f.total, f.hosts.entry(w.host.clone()).or_default()] {
            v.sessions += 1;
            *v.verdicts.entry(verdict(w).to_owned()).or_default() += 1;
            v.without_authorization += u64::from(without(w));
        }
    }

    /// The figures, once every session was counted.
    pub fn finish(self) -> Authorization {
        let mut f = self.figures;
        f.shared = shared(&self.accounts, time::OffsetDateTime::UNIX_EPOCH);
        f.shared_accounts = f.shared.len() as u64;
        f
    }
}

/// The figures of the pack `opts` describes, from its sessions, without writing a pack.
///
/// # Errors
/// Storage failures.
pub async fn authorization_figures(
    ports: &Ports,
    opts: &PackOptions,
) -> anyhow::Result<Authorization> {
    let mut tally = Tally::default();
    let mut source = Source::new(ports.clone(), opts);
    (source.each(&[Kind::Sessions], |f| {
        if let Facts::Session(w) = f {
            tally.session(w);
        }
    }))
    .await?;
    Ok(tally.finish())
}

#[cfg(test)]
mod tests {
    use time::Duration;

    use super::authorization_figures;
    use crate::catalogue::days::put_authorization;
    use crate::evidence::lists_tests::{NOW, seeded};
    use crate::evidence::pack::write_pack;
    use crate::evidence::pdf::Print;
    use crate::evidence::tables_tests::{options, temp_dir};
    use crate::pack::key::PackKey;

    /// `early` covered by PIM, `late` with no authorization, `never` not decided yet, a failed
    /// login (no verdict, not counted): the figures without a pack are the pack's, and
    /// `unauthorized.csv` has the two without one.
    #[tokio::test]
    async fn the_authorization_figures_are_the_packs() {
        let f = seeded().await;
        let ports = &f.state.ports;
        for (tunnel, ago, verdict) in [
            ("early", Duration::hours(3), "pim"),
            ("late", Duration::days(4), "none"),
        ] {
            let day = crate::dates::format_date((NOW - ago).date());
            put_authorization(
                ports.tables.as_ref(),
                &ports.outbox,
                (&day, tunnel),
                (verdict, "{}"),
                NOW,
            )
            .await
            .expect("put");
        }
        let opts = options(None);
        let dir = temp_dir();
        let key = PackKey::from_seed([5u8; 32]);
        let m = write_pack(&dir, ports, &key, &opts, Print::NotAsked)
            .await
            .expect("pack");
        let rows = std::fs::read_to_string(dir.join("unauthorized.csv")).expect("list");
        let _ = std::fs::remove_dir_all(&dir);
        let got = authorization_figures(ports, &opts).await.expect("figures");
        let pack = &m.figures["authorization"];
        assert_eq!(
            pack["total"],
            serde_json::to_value(&got.total).expect("json")
        );
        assert_eq!(
            pack["hosts"],
            serde_json::to_value(&got.hosts).expect("json")
        );
        let t = &got.total;
        let n = |v: &str| t.verdicts[v];
        assert_eq!(
            (t.sessions, n("pim"), n("none"), n("undecided")),
            (3, 1, 1, 1)
        );
        assert_eq!(t.without_authorization, 2);
        let listed: Vec<&str> = rows
            .lines()
            .skip(1)
            .filter_map(|l| l.split(',').next())
            .collect();
        assert_eq!(listed.len(), 2, "{rows}");
        assert!(
            listed.contains(&"none") && listed.contains(&"undecided"),
            "{rows}"
        );
    }
}
