//! The hold marks on catalogue rows: setting, clearing, reading, and the conditional rewrite.

use crate::catalogue::policy::{HELD_UNTIL, Retention};
use crate::catalogue::recording::Recording;
use crate::catalogue::repo::{CatalogueRepo, Versioned};
use crate::ports::RequestError;

/// The retention the row had before any hold.
pub(crate) fn pre_hold(row: &Versioned<Recording>) -> Option<Retention> {
    let r = &row.value;
    if r.held() {
        let (class, until) = r.hold.from.clone()?;
        Some(Retention { class, until })
    } else {
        (!r.retain_until.is_empty()).then(|| Retention {
            class: r.retention_class.clone(),
            until: r.retain_until.clone(),
        })
    }
}

pub(crate) fn mark_held(r: &mut Recording, id: &str) {
    if !r.held() {
        r.hold.from = Some((r.retention_class.clone(), r.retain_until.clone()));
    }
    if !r.hold.ids.iter().any(|i| i == id) {
        r.hold.ids.push(id.to_owned());
    }
    r.hold.held = true;
    r.retention_class = crate::catalogue::LEGAL_HOLD.to_owned();
    r.retain_until = HELD_UNTIL.to_owned();
}

pub(crate) fn unmark_held(r: &mut Recording, id: &str, fallback: Option<&Retention>) {
    r.hold.ids.retain(|i| i != id);
    if !r.hold.ids.is_empty() {
        return;
    }
    // Without a known pre-hold pair the row stays `legal-hold`: never guess a date.
    if let Some(f) = fallback {
        r.hold.held = false;
        r.hold.from = None;
        r.retention_class = f.class.clone();
        r.retain_until = f.until.clone();
    }
}

/// Applies `f` to the row and writes it ([`CatalogueRepo::update`]); the row as written.
pub(crate) async fn update_row(
    repo: &CatalogueRepo,
    row: Versioned<Recording>,
    f: impl Fn(&mut Recording) + Send + Sync,
) -> Result<Recording, RequestError> {
    let key = row.value.key.clone();
    let written = repo
        .update(&key, Some(row), |cur| {
            let mut r = cur?.clone();
            f(&mut r);
            Some(r)
        })
        .await?;
    // `None` only when the row was gone at a re-read.
    written
        .map(|w| w.value)
        .ok_or_else(|| RequestError::NotFound(format!("recording {}", key.id())))
}
