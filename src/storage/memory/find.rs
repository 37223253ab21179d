//! Tag queries over the in-memory account (`find_by_tags`): one page of matching blobs in name
//! order, with only the tags the expression names, as the service returns them.

use std::collections::BTreeMap;

use super::Blob;
use crate::storage::tag_expr::TagExpr;
use crate::storage::{BlobRef, Page, TaggedBlob};

/// Up to `page` blobs of `container` matching `e`, from `marker` on; `next` names the first blob
/// of the following page.
pub(super) fn page(
    blobs: &BTreeMap<BlobRef, Blob>,
    container: &str,
    e: &TagExpr,
    marker: Option<&str>,
    page: usize,
) -> Page<TaggedBlob> {
    let keys = e.keys();
    let mut items: Vec<TaggedBlob> = blobs
        .iter()
        .filter(|(k, b)| k.container == container && e.eval(&b.tags))
        .filter(|(k, _)| marker.is_none_or(|m| k.name.as_str() >= m))
        .take(page + 1)
        .map(|(k, b)| TaggedBlob {
            container: k.container.clone(),
            name: k.name.clone(),
            tags: b
                .tags
                .iter()
                .filter(|(t, _)| keys.contains(t))
                .map(|(t, v)| (t.clone(), v.clone()))
                .collect(),
        })
        .collect();
    let next = (items.len() > page)
        .then(|| items.pop().map(|i| i.name))
        .flatten();
    Page { items, next }
}
