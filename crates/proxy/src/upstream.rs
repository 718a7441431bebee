//! The upstream connection pool: HTTP/1.1 connections to the upstreams (plain or TLS),
//! kept alive and reused, one pool per worker thread.
//!
//! Written for the proxy's one shape of use rather than taken from hyper-util's general
//! client: a worker's requests all run on its own thread, so the pool is a short list
//! behind an uncontended lock, searched from its most recently used end, with no hashing,
//! no waiter queues and no task spawned per request to return a connection (those were
//! ~5,700 of the 58,900 instructions of a GET proxied with inspection off). A connection goes back to
//! the list as soon as its response head has arrived and is taken again only once hyper
//! says it is ready for another request (its response body fully read): a busy one stays
//! listed but is passed over.
//!
//! A request that a pooled connection could not take (the upstream had closed it while
//! idle: hyper hands the unsent request back) is retried on another connection; so is a
//! body-less idempotent request whose pooled connection ended or reset before any of a
//! response came back (the upstream's close crossed it on the wire). Upgrades
//! (`101 Switching Protocols`) take their connection out of the pool for good.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use http::uri::{Authority, PathAndQuery, Scheme};
use http::{Request, Response, StatusCode, Uri};
use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use tower_service::Service;

use crate::body::{BoxError, ProxyBody};

/// Connections an upstream pool keeps, idle or busy, per worker.
const MAX_POOLED: usize = 256;

/// How many pooled connections a request tries before it opens a new one: each try that
/// fails hands the request back unsent (the upstream closed that connection while idle).
const POOLED_TRIES: usize = 3;

/// A copy of `req`'s head when the request may be sent again: its method is idempotent
/// (RFC 9110 9.2.2) and it has no body.
fn replayable_head(req: &Request<ProxyBody>) -> Option<http::request::Parts> {
    use http::Method;
    use http_body::Body;
    let idempotent = matches!(
        *req.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    );
    if !idempotent || !req.body().is_end_stream() {
        return None;
    }
    let mut head = Request::new(());
    *head.method_mut() = req.method().clone();
    *head.uri_mut() = req.uri().clone();
    *head.version_mut() = req.version();
    *head.headers_mut() = req.headers().clone();
    Some(head.into_parts().0)
}

/// Whether `err` says the connection ended before a response began: the end of the
/// stream, or a reset / broken pipe from the peer.
fn closed_before_response(err: &hyper::Error) -> bool {
    if err.is_incomplete_message() {
        return true;
    }
    let mut source = StdError::source(err);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::UnexpectedEof
            );
        }
        source = e.source();
    }
    false
}

/// Why a request got no response from the upstream.
#[derive(Debug)]
pub enum UpstreamError {
    /// No connection could be opened (refused, unreachable, TLS handshake failed, timeout).
    Connect(BoxError),
    /// The HTTP exchange failed: the connection broke, the response was malformed, or the
    /// request body failed while it was sent (its error is this one's source).
    Http(hyper::Error),
}

impl fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpstreamError::Connect(e) => write!(f, "connecting to the upstream: {e}"),
            UpstreamError::Http(e) => write!(f, "upstream exchange: {e}"),
        }
    }
}

impl StdError for UpstreamError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            UpstreamError::Connect(e) => Some(e.as_ref()),
            UpstreamError::Http(e) => Some(e),
        }
    }
}

/// A pooled connection: where it goes, its request handle, and when it was last listed
/// (when its latest response head arrived; older than the idle timeout, it is closed, not
/// reused).
struct Pooled {
    scheme: Scheme,
    authority: Authority,
    sender: http1::SendRequest<ProxyBody>,
    since: Instant,
}

/// One worker's upstream connections.
pub struct UpstreamPool {
    connector: HttpsConnector<HttpConnector>,
    idle_timeout: Duration,
    /// Oldest first; taken from and returned to the end.
    conns: Mutex<Vec<Pooled>>,
}

impl UpstreamPool {
    pub fn new(connector: HttpsConnector<HttpConnector>, idle_timeout: Duration) -> UpstreamPool {
        UpstreamPool {
            connector,
            idle_timeout,
            conns: Mutex::new(Vec::new()),
        }
    }

    /// Sends `req` (its URI in origin form, `Host` set) to `scheme://authority` and
    /// returns the response head with its streaming body.
    pub async fn send(
        &self,
        scheme: &Scheme,
        authority: &Authority,
        mut req: Request<ProxyBody>,
    ) -> Result<Response<Incoming>, UpstreamError> {
        for _ in 0..POOLED_TRIES {
            let Some(mut sender) = self.take(scheme, authority) else {
                break;
            };
            // A request without a body whose method may be repeated is sent again on a
            // new connection when the pooled one turns out closed after taking it: the
            // upstream's close crossed the request on the wire (it had answered the last
            // request on that connection and hung up, hyper had not read the FIN yet; the
            // request then meets an end of stream or a reset), and nothing of a response
            // came back. Clients and nginx retry these too (RFC 9110 9.2.2).
            let again = replayable_head(&req);
            match sender.try_send_request(req).await {
                Ok(resp) => {
                    self.put_back(scheme, authority, sender, resp.status());
                    return Ok(resp);
                }
                Err(mut e) => match e.take_message() {
                    // not sent: the connection was closing; another one gets it
                    Some(unsent) => req = unsent,
                    None => {
                        let err = e.into_error();
                        match again {
                            Some(head) if closed_before_response(&err) => {
                                req = Request::from_parts(head, crate::body::empty());
                                break;
                            }
                            _ => return Err(UpstreamError::Http(err)),
                        }
                    }
                },
            }
        }
        let mut sender = self.connect(scheme, authority).await?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(UpstreamError::Http)?;
        self.put_back(scheme, authority, sender, resp.status());
        Ok(resp)
    }

    /// The most recently used connection to `scheme://authority` that is ready for a
    /// request, dropping closed and expired ones met on the way.
    fn take(
        &self,
        scheme: &Scheme,
        authority: &Authority,
    ) -> Option<http1::SendRequest<ProxyBody>> {
        let mut conns = self.conns.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let mut i = conns.len();
        while i > 0 {
            i -= 1;
            let c = &conns[i];
            if c.sender.is_closed() {
                conns.remove(i);
                continue;
            }
            if c.authority != *authority || c.scheme != *scheme || !c.sender.is_ready() {
                continue;
            }
            let c = conns.remove(i);
            if now.saturating_duration_since(c.since) >= self.idle_timeout {
                // idle too long: dropping the handle closes the connection
                continue;
            }
            return Some(c.sender);
        }
        None
    }

    /// Lists the connection again once its response head has arrived (it is ready for
    /// the next request once that response's body has been read).
    fn put_back(
        &self,
        scheme: &Scheme,
        authority: &Authority,
        sender: http1::SendRequest<ProxyBody>,
        status: StatusCode,
    ) {
        if status == StatusCode::SWITCHING_PROTOCOLS || sender.is_closed() {
            return;
        }
        let now = Instant::now();
        let mut conns = self.conns.lock().unwrap_or_else(|p| p.into_inner());
        // The oldest go when they have idled past the timeout (connections to an upstream
        // no request goes to any more are not left open), or to make room: a dropped handle
        // closes its connection once its response, if any, is done.
        let expired = conns
            .iter()
            .take_while(|c| now.saturating_duration_since(c.since) >= self.idle_timeout)
            .count();
        conns.drain(..expired);
        if conns.len() >= MAX_POOLED {
            conns.remove(0);
        }
        conns.push(Pooled {
            scheme: scheme.clone(),
            authority: authority.clone(),
            sender,
            since: now,
        });
    }

    /// Opens a new connection (TCP, and TLS for https) and starts driving it on this
    /// worker.
    async fn connect(
        &self,
        scheme: &Scheme,
        authority: &Authority,
    ) -> Result<http1::SendRequest<ProxyBody>, UpstreamError> {
        let uri = Uri::builder()
            .scheme(scheme.clone())
            .authority(authority.clone())
            .path_and_query(PathAndQuery::from_static("/"))
            .build()
            .map_err(|e| UpstreamError::Connect(e.into()))?;
        let mut connector = self.connector.clone();
        let io = connector.call(uri).await.map_err(UpstreamError::Connect)?;
        let (sender, conn) = http1::Builder::new()
            .handshake(io)
            .await
            .map_err(UpstreamError::Http)?;
        tokio::spawn(async move {
            // (an upgraded connection ends here with its IO handed to the upgrade)
            if let Err(e) = conn.with_upgrades().await {
                tracing::debug!("upstream connection ended: {e}");
            }
        });
        Ok(sender)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A keep-alive upstream on loopback answering every request head with an empty 204.
    async fn upstream() -> (Authority, tokio::task::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut seen = Vec::new();
                    let mut buf = [0u8; 1024];
                    while let Ok(n @ 1..) = s.read(&mut buf).await {
                        seen.extend_from_slice(&buf[..n]);
                        while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                            seen.drain(..end + 4);
                            let reply = b"HTTP/1.1 204 No Content\r\n\r\n";
                            if s.write_all(reply).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        let authority = Authority::try_from(addr.to_string()).expect("authority");
        (authority, task)
    }

    /// The pool a worker gets, with the given idle timeout.
    fn pool(idle: Duration) -> Arc<UpstreamPool> {
        let mut settings = crate::ProxySettings::default();
        settings.timeouts.upstream_idle = idle;
        crate::upstream_pool(&settings).expect("pool")
    }

    async fn get(pool: &UpstreamPool, authority: &Authority) {
        let req = Request::builder()
            .uri("/")
            .header(http::header::HOST, authority.as_str())
            .body(crate::body::empty())
            .expect("request");
        let resp = pool
            .send(&Scheme::HTTP, authority, req)
            .await
            .expect("response");
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    }

    #[tokio::test]
    async fn connections_to_an_upstream_no_longer_used_are_closed_once_idle() {
        let (first, _a) = upstream().await;
        let (second, _b) = upstream().await;
        let pool = pool(Duration::from_millis(100));
        get(&pool, &first).await;
        get(&pool, &first).await;
        assert_eq!(
            pool.conns.lock().expect("lock").len(),
            1,
            "one connection reused"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
        // only the other upstream is asked from now on: the first one's idle connection
        // goes when the next one is listed
        get(&pool, &second).await;
        let conns = pool.conns.lock().expect("lock");
        assert_eq!(conns.len(), 1);
        assert_eq!(conns[0].authority, second);
    }
}
