//! Body types: what the proxy sends upstream and back to the client.
//!
//! A request body is either forwarded as it arrives, or its first bytes were buffered for
//! inspection and are replayed before the rest of the stream ([`PrefixedBody`]). Bytes are
//! never decoded or re-encoded on the way.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// Every body the proxy produces.
pub type ProxyBody = BoxBody<Bytes, BoxError>;

pub fn full(bytes: impl Into<Bytes>) -> ProxyBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

pub fn empty() -> ProxyBody {
    Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed()
}

pub fn incoming(body: Incoming) -> ProxyBody {
    body.map_err(|e| Box::new(e) as BoxError).boxed()
}

/// The body grew past `max_body_bytes` while streaming.
#[derive(Debug)]
pub struct BodyTooLarge;

impl std::fmt::Display for BodyTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("request body exceeds the configured maximum")
    }
}

impl std::error::Error for BodyTooLarge {}

/// Reading the client's request body failed while it was being forwarded (malformed chunked
/// encoding, connection closed mid-body): the client's fault, not the upstream's.
#[derive(Debug)]
pub struct ClientBodyError(pub hyper::Error);

impl std::fmt::Display for ClientBodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "reading the client's request body failed: {}", self.0)
    }
}

impl std::error::Error for ClientBodyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// Already-read bytes followed by the rest of the incoming stream, with a size cap.
pub struct PrefixedBody {
    prefix: Option<Bytes>,
    trailers: Option<hyper::HeaderMap>,
    rest: Option<Incoming>,
    seen: u64,
    max: u64,
    counter: Option<Arc<AtomicU64>>,
}

impl PrefixedBody {
    /// `max` = 0 means unlimited. `rest` None: the prefix is the whole body.
    pub fn new(
        prefix: Bytes,
        trailers: Option<hyper::HeaderMap>,
        rest: Option<Incoming>,
        max: u64,
    ) -> Self {
        let seen = prefix.len() as u64;
        PrefixedBody {
            prefix: (!prefix.is_empty()).then_some(prefix),
            trailers,
            rest,
            seen,
            max,
            counter: None,
        }
    }

    /// Counts bytes that pass through (for tests and metrics).
    pub fn with_counter(mut self, counter: Arc<AtomicU64>) -> Self {
        self.counter = Some(counter);
        self
    }
}

impl Body for PrefixedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Some(prefix) = self.prefix.take() {
            if let Some(c) = &self.counter {
                c.fetch_add(prefix.len() as u64, Ordering::Relaxed);
            }
            return Poll::Ready(Some(Ok(Frame::data(prefix))));
        }
        let Some(rest) = self.rest.as_mut() else {
            return Poll::Ready(self.trailers.take().map(|t| Ok(Frame::trailers(t))));
        };
        match Pin::new(rest).poll_frame(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => {
                self.rest = None;
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(e))) => {
                self.rest = None;
                Poll::Ready(Some(Err(Box::new(ClientBodyError(e)))))
            }
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.seen += data.len() as u64;
                    if let Some(c) = &self.counter {
                        c.fetch_add(data.len() as u64, Ordering::Relaxed);
                    }
                    if self.max > 0 && self.seen > self.max {
                        self.rest = None;
                        return Poll::Ready(Some(Err(Box::new(BodyTooLarge))));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.prefix.is_none()
            && self.trailers.is_none()
            && self.rest.as_ref().is_none_or(|r| r.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        let prefix = self.prefix.as_ref().map_or(0, |p| p.len() as u64);
        match &self.rest {
            None => SizeHint::with_exact(prefix),
            Some(rest) => {
                let h = rest.size_hint();
                let mut out = SizeHint::new();
                out.set_lower(h.lower() + prefix);
                if let Some(u) = h.upper() {
                    out.set_upper(u + prefix);
                }
                out
            }
        }
    }
}
