//! Just enough HTTP/1.1 for the fault proxy to count requests on a keep-alive connection: one
//! message at a time (head, then a body framed by `Content-Length`, chunked transfer coding, or —
//! for a response with neither — the end of the connection), kept as raw bytes so it is forwarded
//! unchanged. Heads are parsed by `httparse`; no pipelining, upgrades or `100-continue` (neither the
//! storage SDK nor the table client uses them).

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt};

/// What the proxy needs from a message head.
#[derive(Clone, Debug, Default)]
pub struct Head {
    /// Request method (empty for a response).
    pub method: String,
    /// Request target, query included (empty for a response).
    pub target: String,
    /// Response status (0 for a request).
    pub status: u16,
    /// `Connection: close`: no further message on this connection.
    pub close: bool,
}

/// One whole message.
#[derive(Debug)]
pub struct Message {
    /// Head and body, exactly as read.
    pub raw: Vec<u8>,
    /// The parsed head.
    pub head: Head,
}

enum Body {
    Length(usize),
    Chunked,
    UntilClose,
}

/// Reads messages from one side of a connection; `io` stays usable for writing.
pub struct Reader<S> {
    pub io: S,
    buf: Vec<u8>,
}

impl<S: AsyncRead + Unpin> Reader<S> {
    pub fn new(io: S) -> Self {
        Self {
            io,
            buf: Vec::new(),
        }
    }

    /// The next request; `None` when the peer closed the connection between messages.
    pub async fn request(&mut self) -> io::Result<Option<Message>> {
        self.message(None).await
    }

    /// The response to a request made with `method` (a `HEAD` answer has no body).
    pub async fn response(&mut self, method: &str) -> io::Result<Message> {
        self.message(Some(method)).await?.ok_or_else(eof)
    }

    async fn message(&mut self, request_method: Option<&str>) -> io::Result<Option<Message>> {
        let head_len = loop {
            if let Some(i) = memchr::memmem::find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            if self.fill().await? == 0 {
                return if self.buf.is_empty() {
                    Ok(None)
                } else {
                    Err(eof())
                };
            }
        };
        let (head, body) = parse_head(&self.buf[..head_len], request_method)?;
        let end = match body {
            Body::Length(n) => {
                self.need(head_len + n).await?;
                head_len + n
            }
            Body::Chunked => self.chunked_end(head_len).await?,
            Body::UntilClose => {
                while self.fill().await? > 0 {}
                self.buf.len()
            }
        };
        let raw = self.buf.drain(..end).collect();
        Ok(Some(Message { raw, head }))
    }

    /// The offset just past the last chunk and its trailers, starting at `pos`.
    async fn chunked_end(&mut self, mut pos: usize) -> io::Result<usize> {
        loop {
            match httparse::parse_chunk_size(&self.buf[pos..]) {
                Ok(httparse::Status::Complete((line, 0))) => {
                    pos += line;
                    // Trailer fields, each ending in CRLF, then an empty line.
                    loop {
                        match memchr::memmem::find(&self.buf[pos..], b"\r\n") {
                            Some(0) => return Ok(pos + 2),
                            Some(i) => pos += i + 2,
                            None => self.more().await?,
                        }
                    }
                }
                Ok(httparse::Status::Complete((line, size))) => {
                    let size = usize::try_from(size).map_err(invalid)?;
                    pos += line + size + 2;
                    self.need(pos).await?;
                }
                Ok(httparse::Status::Partial) => self.more().await?,
                Err(e) => return Err(invalid(e)),
            }
        }
    }

    async fn fill(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.io.read(&mut chunk).await?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    async fn more(&mut self) -> io::Result<()> {
        match self.fill().await? {
            0 => Err(eof()),
            _ => Ok(()),
        }
    }

    async fn need(&mut self, len: usize) -> io::Result<()> {
        while self.buf.len() < len {
            self.more().await?;
        }
        Ok(())
    }
}

/// Parses a head; `request_method` is `Some` when reading the response to that request.
fn parse_head(bytes: &[u8], request_method: Option<&str>) -> io::Result<(Head, Body)> {
    let mut fields = [httparse::EMPTY_HEADER; 64];
    let mut head = Head::default();
    let headers = match request_method {
        None => {
            let mut r = httparse::Request::new(&mut fields);
            r.parse(bytes).map_err(invalid)?;
            head.method = r.method.unwrap_or_default().to_owned();
            head.target = r.path.unwrap_or_default().to_owned();
            r.headers
        }
        Some(_) => {
            let mut r = httparse::Response::new(&mut fields);
            r.parse(bytes).map_err(invalid)?;
            head.status = r.code.unwrap_or_default();
            r.headers
        }
    };
    let value = |name: &str| {
        headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).trim().to_ascii_lowercase())
    };
    head.close = value("connection").is_some_and(|v| v.contains("close"));
    let chunked = value("transfer-encoding").is_some_and(|v| v.ends_with("chunked"));
    let length = value("content-length")
        .map(|v| v.parse::<usize>().map_err(invalid))
        .transpose()?;
    // RFC 9112 §6.3: no body for HEAD answers, 1xx, 204 and 304; chunked wins over a length; a
    // response with neither runs to the end of the connection, a request with neither is empty.
    let bodiless = request_method == Some("HEAD") || matches!(head.status, 100..=199 | 204 | 304);
    let body = match (request_method, bodiless, chunked, length) {
        (Some(_), true, _, _) => Body::Length(0),
        (_, _, true, _) => Body::Chunked,
        (_, _, false, Some(n)) => Body::Length(n),
        (None, _, false, None) => Body::Length(0),
        (Some(_), _, false, None) => Body::UntilClose,
    };
    Ok((head, body))
}

fn eof() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "connection closed mid-message",
    )
}

fn invalid(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}
