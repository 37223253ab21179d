//! Re-evaluation of not-yet-due blobs after a policy change (docs/retention.md): a change is
//! [`plan`]ned into one Find Blobs by Tags query per changed class, bounded per run, resumed
//! from [`progress`]; an unchanged policy costs one table read.

pub mod plan;
pub mod progress;
mod retag;
#[cfg(test)]
mod tests;

use futures::future::join_all;
use serde_json::json;

use self::plan::{ClassDays, class_days};
use self::progress::Progress;
use self::retag::Retag;
use super::model::{CONCURRENCY, Kind, Pass, Sweep};
use super::report::Report;
use crate::azure::AzureError;
use crate::dates::format_utc;
use crate::retention::tags::class_expr;
use crate::storage::BlobRef;

impl Sweep<'_> {
    /// One bounded step of the re-evaluation. A conflicting write of the progress row means
    /// another run is doing it: this one stops quietly.
    pub(super) async fn reevaluate(&self, report: &mut Report) -> Result<(), AzureError> {
        match self.reevaluate_inner(report).await {
            Err(AzureError::PreconditionFailed | AzureError::Conflict) => Ok(()),
            other => other,
        }
    }

    async fn reevaluate_inner(&self, report: &mut Report) -> Result<(), AzureError> {
        let tables = self.deps.ports.tables.as_ref();
        let current = class_days(&self.deps.policy);
        let Some(mut st) = progress::read(tables).await? else {
            // First run: the tags were written by this policy; it becomes the baseline.
            let mut st = Progress {
                applied: current.clone(),
                target: current,
                ..Progress::default()
            };
            return self.save(&mut st).await;
        };
        if st.target != current || (st.queue.is_empty() && st.applied != current) {
            self.replan(&mut st, current).await?;
        }
        let mut budget = self.params.max_deletes;
        while let Some((k, class)) = st.queue.first().cloned() {
            if budget == 0 {
                report.reevaluation_cut = true;
                break;
            }
            let Some(pass) = self.visit_pass(&k) else {
                // A source no longer configured: nothing of it to re-tag.
                st.queue.remove(0);
                (st.marker, st.after) = (None, None);
                if st.queue.is_empty() {
                    st.applied = st.target.clone();
                }
                self.save(&mut st).await?;
                continue;
            };
            let shorten = st.applied.get(&class).zip(st.target.get(&class));
            let shorten = shorten.is_some_and(|(old, new)| new < old);
            let page = match pass
                .source
                .store
                .find_by_tags(
                    &pass.source.container,
                    &class_expr(&class),
                    st.marker.clone(),
                )
                .await
            {
                Err(AzureError::NotFound) => crate::storage::Page {
                    items: vec![],
                    next: None,
                },
                other => other?,
            };
            let todo: Vec<BlobRef> = page
                .items
                .iter()
                .filter(|t| st.after.as_deref().is_none_or(|a| t.name.as_str() > a))
                .map(|t| BlobRef::new(t.container.clone(), t.name.clone()))
                .collect();
            let mut failure = None;
            let mut done = 0;
            for chunk in todo.chunks(CONCURRENCY) {
                if budget == 0 {
                    break;
                }
                let chunk = &chunk[..chunk.len().min(budget)];
                let results =
                    join_all(chunk.iter().map(|b| self.retag(pass, b, &class, shorten))).await;
                for (blob, r) in chunk.iter().zip(results) {
                    match r {
                        Ok(d) => report.record_retag(d),
                        Err(e) => report.fail(blob, e, "re-evaluation failed", &mut failure),
                    }
                }
                if failure.is_some() {
                    // Progress stays before this chunk: the failed blob is retried next run (the
                    // others in the chunk are redone, harmlessly: every step is idempotent).
                    break;
                }
                budget -= chunk.len();
                done += chunk.len();
                st.after = chunk.last().map(|b| b.name.clone());
            }
            if done == todo.len() {
                st.after = None;
                match page.next {
                    Some(m) => st.marker = Some(m),
                    None => {
                        st.queue.remove(0);
                        st.marker = None;
                        if st.queue.is_empty() {
                            st.applied = st.target.clone();
                            tracing::info!("policy re-evaluation complete");
                        }
                    }
                }
            }
            self.save(&mut st).await?;
            if let Some(e) = failure {
                return Err(e);
            }
        }
        Ok(())
    }

    /// Plans the visits for a policy that differs from what the tags reflect, logging (and, when
    /// allowed, recording) every class that got shorter.
    async fn replan(&self, st: &mut Progress, current: ClassDays) -> Result<(), AzureError> {
        let allow = self.deps.settings.allow_shortening;
        let p = plan::plan(&st.applied, &current, allow);
        for c in &p.kept_longer {
            tracing::warn!(class = %c, from_days = st.applied[c], to_days = current[c], "policy shortened a class: existing blobs keep their dates (RETENTION_ALLOW_SHORTENING is false)");
        }
        for c in &p.shorten {
            let (from, to) = (st.applied[c], current[c]);
            tracing::warn!(class = %c, from_days = from, to_days = to, "policy shortened a class and RETENTION_ALLOW_SHORTENING is true: existing blobs will be shortened");
            if !self.params.dry_run {
                self.record_shortening(c, from, to).await?;
            }
        }
        for c in &p.lengthen {
            tracing::info!(class = %c, from_days = st.applied[c], to_days = current[c], "policy lengthened a class: re-tagging its blobs");
        }
        let visits: Vec<String> = self.passes().into_iter().map(Self::visit_code).collect();
        st.queue = p
            .classes()
            .flat_map(|c| visits.iter().map(|v| (v.clone(), c.clone())))
            .collect();
        (st.marker, st.after) = (None, None);
        if st.queue.is_empty() {
            st.applied = current.clone();
        }
        st.target = current;
        self.save(st).await
    }

    /// One row per shortened class in table `holds`, partition `override`: who (the setting),
    /// when, from and to how many days, which run.
    async fn record_shortening(&self, class: &str, from: u32, to: u32) -> Result<(), AzureError> {
        let row = json!({
            "PartitionKey": "override",
            "RowKey": shortening_key(class, from, to),
            "Scope": "policy", "Class": class, "FromDays": from, "ToDays": to,
            "Who": "RETENTION_ALLOW_SHORTENING", "At": format_utc(self.params.now),
            "InvocationId": self.params.invocation_id,
        });
        let tables = self.deps.ports.tables.as_ref();
        crate::retention::hold::rows::upsert(tables, &crate::tables::entity(row)).await
    }

    /// How a visit names its container in the progress row: `r:<account>/<container>` or `a:…`.
    fn visit_code(pass: Pass<'_>) -> String {
        let kind = match pass.kind {
            Kind::Recordings => "r",
            Kind::AuditLogs => "a",
        };
        [kind, ":", &pass.source.label()].concat()
    }

    /// The pass a visit code names, if its source is still configured.
    fn visit_pass(&self, code: &str) -> Option<Pass<'_>> {
        self.passes()
            .into_iter()
            .find(|p| Self::visit_code(*p) == code)
    }

    /// Saves progress, except in a dry run (which only reports).
    async fn save(&self, st: &mut Progress) -> Result<(), AzureError> {
        if !self.params.dry_run {
            progress::write(self.deps.ports.tables.as_ref(), st).await?;
        }
        Ok(())
    }
}

impl Report {
    fn record_retag(&mut self, r: Retag) {
        self.reevaluated += 1;
        match r {
            Retag::Longer => self.retagged_longer += 1,
            Retag::Shorter => self.retagged_shorter += 1,
            Retag::Changed => self.changed += 1,
            Retag::Unchanged => {}
        }
    }
}

/// The row key of a class's shortening: a class name may hold `/` (a valid tag value), so it goes
/// through the one key encoder.
pub(crate) fn shortening_key(class: &str, from: u32, to: u32) -> String {
    use crate::tables::keys::{Spelling, key};
    format!("policy~{}~{from}~{to}", key(class, Spelling::Verbatim, 512))
}
