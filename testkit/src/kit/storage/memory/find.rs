//! Tag queries over the in-memory account (`find_by_tags`): one page of matching blobs in name
//! order, with only the tags the expression names, as the service returns them.

use std::collections::BTreeMap;

use super::Blob;
use crate::testkit::storage::tag_expr::TagExpr;
use bastion_recordings::storage::{BlobRef, Page, TaggedBlob};

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
    let matching = blobs
        .iter()
        .filter(|(k, b)| k.container == container && e.eval(&b.tags));
    let item = |k: &BlobRef, b: &Blob| TaggedBlob {
        container: k.container.clone(),
        name: k.name.clone(),
        tags: b
            .tags
            .iter()
            .filter(|(t, _)| keys.contains(t))
            .map(|(t, v)| (t.clone(), v.clone()))
            .collect(),
    };
    super::page_of(matching, marker, page, item)
}
