//! The invocation body, read up to a limit of the handler's own: axum's 2 MB default would refuse
//! a longer one unread (neither Poison nor kept), and reading without a limit would let one
//! request hold any amount of memory.

use bytes::Bytes;

/// The longest invocation body read: an Event Grid event is at most 1 MB, and the host's envelope
/// repeats its data in `Metadata`, JSON-escaped; anything longer is hostile.
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// A body as read: whole, or its first `max` bytes when longer.
pub(super) enum Read {
    /// All of it.
    Whole(Bytes),
    /// Its first `max` bytes.
    Cut(Bytes),
}

/// Reads `body` up to `max` bytes (the rest is not read).
///
/// # Errors
/// The connection's, when the body cannot be read.
pub(super) async fn read_body(body: axum::body::Body, max: usize) -> Result<Read, axum::Error> {
    use futures::StreamExt as _;
    let mut stream = body.into_data_stream();
    let mut buf = bytes::BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if buf.len() + chunk.len() > max {
            let room = max - buf.len();
            buf.extend_from_slice(&chunk[..room]);
            return Ok(Read::Cut(buf.freeze()));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(Read::Whole(buf.freeze()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_body_within_the_limit_is_whole_and_a_longer_one_its_head() {
        let whole = read_body(axum::body::Body::from(vec![b'a'; 10]), 10).await;
        assert!(matches!(whole, Ok(Read::Whole(b)) if b.len() == 10));
        let cut = read_body(axum::body::Body::from(vec![b'a'; 11]), 10).await;
        assert!(matches!(cut, Ok(Read::Cut(b)) if b.len() == 10));
    }
}
