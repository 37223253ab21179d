//! The hold marks on catalogue rows (`LegalHold`, `HoldIds`, `HeldFromClass`, `HeldFromUntil`):
//! setting, clearing and reading them, and the ETag-conditional row rewrite that applies them.
//! Kept apart from [`super::rows`] (table `holds`) because these rows belong to the catalogue.

use serde_json::Value;

use super::HoldError;
use crate::catalogue::model::CatalogueEntry;
use crate::catalogue::repo::{CatalogueRepo, Versioned};
use crate::retention::policy::Retention;
use crate::retention::{HELD_UNTIL, LEGAL_HOLD};
use crate::tables::{Entity, get_list, get_str};

/// The retention the row had before any hold.
pub(crate) fn pre_hold(row: &Versioned<CatalogueEntry>) -> Option<Retention> {
    let from = |c: &str, u: &str| {
        Some(Retention {
            class: get_str(&row.raw, c).filter(|s| !s.is_empty())?.into(),
            until: get_str(&row.raw, u).filter(|s| !s.is_empty())?.into(),
        })
    };
    if crate::retention::sweep::row_held(row) {
        from("HeldFromClass", "HeldFromUntil")
    } else {
        (!row.value.retain_until.is_empty()).then(|| Retention {
            class: row.value.retention_class.clone(),
            until: row.value.retain_until.clone(),
        })
    }
}

/// Hold ids recorded on a catalogue row.
pub(crate) fn hold_ids(raw: &Entity) -> Vec<String> {
    get_list(raw, "HoldIds").map(str::to_owned).collect()
}

pub(crate) fn mark_held(entry: &mut CatalogueEntry, raw: &mut Entity, id: &str) {
    let held = raw
        .get("LegalHold")
        .and_then(Value::as_bool)
        .unwrap_or(false)
        || entry.retention_class == LEGAL_HOLD;
    if !held {
        raw.insert(
            "HeldFromClass".into(),
            Value::String(entry.retention_class.clone()),
        );
        raw.insert(
            "HeldFromUntil".into(),
            Value::String(entry.retain_until.clone()),
        );
    }
    let mut ids = hold_ids(raw);
    if !ids.iter().any(|i| i == id) {
        ids.push(id.to_owned());
    }
    raw.insert("HoldIds".into(), Value::String(ids.join(",")));
    raw.insert("LegalHold".into(), Value::Bool(true));
    entry.retention_class = LEGAL_HOLD.to_owned();
    entry.retain_until = HELD_UNTIL.to_owned();
}

pub(crate) fn unmark_held(
    entry: &mut CatalogueEntry,
    raw: &mut Entity,
    id: &str,
    fallback: Option<&Retention>,
) {
    let ids: Vec<String> = hold_ids(raw).into_iter().filter(|i| i != id).collect();
    raw.insert("HoldIds".into(), Value::String(ids.join(",")));
    if !ids.is_empty() {
        return;
    }
    // Without a known pre-hold pair the row stays `legal-hold`: never guess a date.
    if let Some(r) = fallback {
        raw.insert("LegalHold".into(), Value::Bool(false));
        raw.remove("HeldFromClass");
        raw.remove("HeldFromUntil");
        entry.retention_class = r.class.clone();
        entry.retain_until = r.until.clone();
    }
}

/// Applies `f` to the row and writes it ETag-conditionally ([`CatalogueRepo::update`]), re-reading
/// on races. Returns the entity as written.
pub(crate) async fn update_row(
    repo: &CatalogueRepo,
    row: Versioned<CatalogueEntry>,
    f: impl Fn(&mut CatalogueEntry, &mut Entity) + Sync,
) -> Result<Entity, HoldError> {
    let key = row.value.key.clone();
    let written = repo
        .update(&key, Some(row), &mut |cur| {
            let (mut entry, mut raw) = cur.map(|r| (r.value.clone(), r.raw.clone()))?;
            f(&mut entry, &mut raw);
            Some((entry, raw))
        })
        .await?;
    // `None` only when the row was gone at a re-read.
    written
        .map(|w| w.raw)
        .ok_or_else(|| HoldError::NotFound(format!("recording {}", key.id())))
}
