//! Translation between SDK types and the port's types: error codes, properties, tags.

use std::collections::HashMap;

use azure_core::error::ErrorKind;
use azure_core::http::Etag;
use azure_storage_blob::models::{
    BlobClientGetPropertiesResult, BlobClientGetPropertiesResultHeaders as _, BlobTags, BlobType,
};

use crate::storage::port::{BlobKind, BlobProps, Metadata, Tags, normalize_etag};

/// `Get Blob Properties` headers to the port's properties.
pub(crate) fn props(
    r: &azure_core::http::Response<BlobClientGetPropertiesResult, azure_core::http::NoFormat>,
) -> azure_core::Result<BlobProps> {
    Ok(BlobProps {
        content_length: r.content_length()?.unwrap_or(0),
        content_type: r.content_type()?,
        etag: etag(r.etag()?.as_ref()),
        last_modified: r.last_modified()?,
        created: r.creation_time()?,
        kind: kind(r.blob_type()?.as_ref()),
        metadata: metadata(r.metadata()?),
        // Absent header = no tags (the service omits it for untagged blobs).
        tag_count: Some(
            r.tag_count()?
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(0),
        ),
    })
}

/// Lower-cases metadata names: headers arrive lower-cased, listings keep the writer's case.
pub(crate) fn metadata(m: HashMap<String, String>) -> Metadata {
    m.into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect()
}

/// The service error code of an HTTP error (`ContainerNotFound`, `ConditionNotMet`, …).
pub(crate) fn error_code(e: &azure_core::Error) -> Option<&str> {
    match e.kind() {
        ErrorKind::HttpResponse { error_code, .. } => error_code.as_deref(),
        _ => None,
    }
}

/// ETag text without quotes.
pub(crate) fn etag(e: Option<&Etag>) -> String {
    e.map(|e| normalize_etag(e.as_ref()).to_owned())
        .unwrap_or_default()
}

/// An ETag as the SDK wants it for `If-Match` (quoted, as the service issued it).
pub(crate) fn if_match(etag: &str) -> Etag {
    Etag::from(format!("\"{}\"", normalize_etag(etag)))
}

/// Blob type to the port's enum.
pub(crate) fn kind(t: Option<&BlobType>) -> Option<BlobKind> {
    Some(match t? {
        BlobType::BlockBlob => BlobKind::Block,
        BlobType::AppendBlob => BlobKind::Append,
        BlobType::PageBlob => BlobKind::Page,
    })
}

/// SDK tag set to the port's ordered map.
pub(crate) fn tags(t: BlobTags) -> Tags {
    t.blob_tag_set
        .unwrap_or_default()
        .into_iter()
        .filter_map(|t| Some((t.key?, t.value.unwrap_or_default())))
        .collect()
}

/// The port's tags to the SDK's model.
pub(crate) fn sdk_tags(t: &Tags) -> BlobTags {
    BlobTags::from(t.clone().into_iter().collect::<HashMap<_, _>>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_round_trip_with_quotes() {
        assert_eq!(etag(Some(&Etag::from("\"0x1\""))), "0x1");
        assert_eq!(if_match("0x1").to_string(), "\"0x1\"");
        assert_eq!(if_match("\"0x1\"").to_string(), "\"0x1\"");
    }
}
