//! Paged listings (`List Blobs` with metadata, container-scoped `Find Blobs by Tags`), one page
//! per call; a container that does not exist lists as empty.

use azure_core::http::{DeserializeWith, Format, Pager};
use azure_storage_blob::BlobContainerClient;
use azure_storage_blob::models::{
    BlobContainerClientFindBlobsByTagsOptions, BlobContainerClientListBlobsOptions,
    ListBlobsIncludeItem,
};
use futures::TryStreamExt as _;

use super::map;
use crate::azure::AzureError;
use crate::storage::port::{BlobItem, BlobProps, Page, TaggedBlob};

/// One page of `List Blobs` with metadata: names starting with `prefix`, at or after `from`
/// (`startFrom`), at most `page_size` (the service's default, 5000, when `None`).
pub(crate) async fn list(
    container: &BlobContainerClient,
    (prefix, from): (Option<&str>, Option<&str>),
    page_size: Option<u32>,
    marker: Option<String>,
) -> Result<Page<BlobItem>, AzureError> {
    let options = BlobContainerClientListBlobsOptions {
        prefix: prefix.map(str::to_owned),
        start_from: from.map(str::to_owned),
        marker,
        include: Some(vec![ListBlobsIncludeItem::Metadata]),
        maxresults: page_size.and_then(|n| i32::try_from(n).ok()),
        ..Default::default()
    };
    let Some(page) = first_page(container.list_blobs(Some(options))).await? else {
        return Ok(paged(Vec::new(), None));
    };
    let items = page
        .blob_items
        .into_iter()
        .filter_map(|b| {
            let name = b.name?;
            let p = b.properties.unwrap_or_default();
            let metadata = b.metadata.and_then(|m| m.values).unwrap_or_default();
            let props = BlobProps {
                content_length: p.content_length.unwrap_or(0),
                content_type: p.content_type,
                etag: map::etag(p.etag.as_ref()),
                last_modified: p.last_modified,
                created: p.creation_time,
                kind: map::kind(p.blob_type.as_ref()),
                metadata: super::map::metadata(metadata),
                tag_count: Some(p.tag_count.and_then(|n| u32::try_from(n).ok()).unwrap_or(0)),
            };
            Some(BlobItem { name, props })
        })
        .collect();
    Ok(paged(items, page.next_marker))
}

/// One page of `Find Blobs by Tags` within `container`.
pub(crate) async fn find_by_tags(
    container: &BlobContainerClient,
    expr: &str,
    marker: Option<String>,
    page_size: Option<u32>,
) -> Result<Page<TaggedBlob>, AzureError> {
    let options = BlobContainerClientFindBlobsByTagsOptions {
        marker,
        maxresults: page_size.and_then(|n| i32::try_from(n).ok()),
        ..Default::default()
    };
    let Some(page) = first_page(container.find_blobs_by_tags(expr, Some(options))).await? else {
        return Ok(paged(Vec::new(), None));
    };
    let items = page
        .blob_items
        .into_iter()
        .filter_map(|b| {
            Some(TaggedBlob {
                container: b.container_name.unwrap_or_default(),
                name: b.name?,
                tags: b.tags.map(map::tags).unwrap_or_default(),
            })
        })
        .collect();
    Ok(paged(items, page.next_marker))
}

/// The model of a listing's first page; `None` when empty or the container does not exist.
async fn first_page<M, F>(pager: azure_core::Result<Pager<M, F>>) -> Result<Option<M>, AzureError>
where
    M: DeserializeWith<F> + azure_core::http::pager::Page + Send,
    F: Format + Send,
{
    let mut pages = pager?.into_pages();
    match pages.try_next().await {
        Ok(Some(page)) => Ok(Some(page.into_model()?)),
        Ok(None) => Ok(None),
        Err(e) if map::error_code(&e) == Some("ContainerNotFound") => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A page of `items`, the next one at `next` (none when empty).
fn paged<T>(items: Vec<T>, next: Option<String>) -> Page<T> {
    Page {
        items,
        next: next.filter(|m| !m.is_empty()),
    }
}
