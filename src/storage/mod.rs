//! The blob port: [`BlobStore`] (a narrow view of Blob Storage, failing with the one
//! [`AzureError`](crate::azure::AzureError)), its value types, [`azure::AzureBlobStore`] and
//! [`links`] (read links).
//! Its test doubles are in the test kit (`bastion-testkit`, `storage`): the fake (`memory`,
//! `tag_expr`) and the decorators (`intercept`, `counting`); `tests/e2e/storage_contract/` holds
//! fake and Azure to one contract.

pub mod azure;
pub mod links;
mod port;
pub mod url;

pub use port::{
    BlobItem, BlobKind, BlobProps, BlobRef, BlobStore, Metadata, Page, TaggedBlob, Tags, Upload,
    normalize_etag, update_tags,
};
