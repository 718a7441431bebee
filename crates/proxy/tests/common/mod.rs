//! Shared helpers for the proxy's integration tests: a real upstream server on loopback, a
//! proxy started on port 0 with a small test signature set, HTTP clients (hyper and raw
//! TCP), a deterministic byte generator and temp dirs.
//!
//! Every network wait in here has an explicit timeout so a broken proxy fails a test instead
//! of hanging it.

#![allow(dead_code)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Request, Response, StatusCode, Version};
use http_body::{Body, Frame};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use palisade_engine::{BodyParseErrors, Engine, Policy};
use palisade_proxy::settings::ListenerSettings;
use palisade_proxy::{ProxySettings, Stats};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// The attack marker matched by the test `args/` and `body/` signature lists.
pub const MARKER: &str = "evil-payload";
/// Matched by the test `headers/` list (every request header value).
pub const HEADER_MARKER: &str = "evil-header";
/// Matched by the test `response/` list.
pub const LEAK_TEXT: &str = "You have an error in your SQL syntax";
/// Default bound on any single network wait.
pub const WAIT: Duration = Duration::from_secs(15);

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type ClientBody = BoxBody<Bytes, BoxError>;

// ---------------------------------------------------------------------------------------
// Temp dirs and deterministic bytes

static COUNTER: AtomicU64 = AtomicU64::new(0);

pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!(
            "palisade-proxy-it-{tag}-{}-{n}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn write(&self, rel: &str, data: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, data).expect("write temp file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// SplitMix64: tiny, deterministic, good enough to generate test data.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

/// `size` pseudo-random bytes determined by `seed` (same function on both sides).
pub fn random_bytes(seed: u64, size: usize) -> Vec<u8> {
    let mut out = vec![0u8; size];
    Rng::new(seed).fill(&mut out);
    out
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

pub fn contains_ci(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && haystack
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

// ---------------------------------------------------------------------------------------
// Bodies

pub fn full_body(data: impl Into<Bytes>) -> ClientBody {
    Full::new(data.into())
        .map_err(|never| match never {})
        .boxed()
}

pub fn empty_body() -> ClientBody {
    Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed()
}

/// A request body fed chunk by chunk through a channel; it has no known length, so hyper
/// sends it with `Transfer-Encoding: chunked`.
pub struct ChannelBody {
    rx: mpsc::Receiver<Bytes>,
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(b)) => Poll::Ready(Some(Ok(Frame::data(b)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

pub fn channel_body(buffer: usize) -> (mpsc::Sender<Bytes>, ClientBody) {
    let (tx, rx) = mpsc::channel(buffer);
    (tx, ChannelBody { rx }.boxed())
}

/// A response body served in fixed-size frames with no length (chunked on the wire).
struct ChunkedBytes {
    data: Bytes,
    chunk: usize,
}

impl Body for ChunkedBytes {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.data.is_empty() {
            return Poll::Ready(None);
        }
        let n = self.chunk.min(self.data.len());
        let part = self.data.split_to(n);
        Poll::Ready(Some(Ok(Frame::data(part))))
    }
}

// ---------------------------------------------------------------------------------------
// The upstream

type UpBody = BoxBody<Bytes, Infallible>;

fn up_full(data: impl Into<Bytes>) -> UpBody {
    Full::new(data.into()).boxed()
}

/// Kills the spawned task when dropped, so a finished test leaves nothing running.
pub struct AbortOnDrop<T>(pub JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub struct Upstream {
    pub addr: SocketAddr,
    /// `METHOD path?query` of every request the upstream received, in order.
    pub hits: Arc<Mutex<Vec<String>>>,
    _task: AbortOnDrop<()>,
}

impl Upstream {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn hits(&self) -> Vec<String> {
        self.hits.lock().expect("hits lock").clone()
    }

    pub fn hit_count(&self, prefix: &str) -> usize {
        self.hits().iter().filter(|h| h.starts_with(prefix)).count()
    }
}

fn query_map(query: Option<&str>) -> HashMap<String, String> {
    query
        .unwrap_or("")
        .split('&')
        .filter_map(|p| p.split_once('=').or(Some((p, ""))))
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Starts the test upstream (HTTP/1.1, upgrades enabled) on 127.0.0.1:0.
pub async fn start_upstream() -> Upstream {
    start_upstream_with(None).await
}

/// The same upstream behind TLS (ALPN http/1.1) with the given certificate.
pub async fn start_tls_upstream(cert: &TestCert) -> Upstream {
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("tls versions")
    .with_no_client_auth()
    .with_single_cert(cert.chain(), cert.key())
    .expect("upstream cert");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    start_upstream_with(Some(tokio_rustls::TlsAcceptor::from(Arc::new(config)))).await
}

async fn serve_upstream_conn<IO>(io: IO, hits: Arc<Mutex<Vec<String>>>)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let svc = service_fn(move |req| upstream_handle(req, hits.clone()));
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(io), svc)
        .with_upgrades()
        .await;
}

async fn start_upstream_with(tls: Option<tokio_rustls::TlsAcceptor>) -> Upstream {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind upstream");
    let addr = listener.local_addr().expect("upstream addr");
    let hits = Arc::new(Mutex::new(Vec::new()));
    let task_hits = hits.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let hits = task_hits.clone();
            let tls = tls.clone();
            tokio::spawn(async move {
                match tls {
                    None => serve_upstream_conn(stream, hits).await,
                    Some(acceptor) => {
                        if let Ok(Ok(s)) = tokio::time::timeout(WAIT, acceptor.accept(stream)).await
                        {
                            serve_upstream_conn(s, hits).await
                        }
                    }
                }
            });
        }
    });
    Upstream {
        addr,
        hits,
        _task: AbortOnDrop(task),
    }
}

fn hv(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static("<invalid>"))
}

async fn upstream_handle(
    mut req: Request<Incoming>,
    hits: Arc<Mutex<Vec<String>>>,
) -> Result<Response<UpBody>, Infallible> {
    let target = req
        .uri()
        .path_and_query()
        .map_or("/".to_string(), |pq| pq.to_string());
    hits.lock()
        .expect("hits lock")
        .push(format!("{} {}", req.method(), target));
    let q = query_map(req.uri().query());
    let path = req.uri().path().to_string();

    if req.headers().contains_key(http::header::UPGRADE) {
        let on_upgrade = hyper::upgrade::on(&mut req);
        tokio::spawn(async move {
            if let Ok(upgraded) = on_upgrade.await {
                let mut io = TokioIo::new(upgraded);
                let mut buf = vec![0u8; 16 * 1024];
                loop {
                    match io.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if io.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                            let _ = io.flush().await;
                        }
                    }
                }
            }
        });
        let mut resp = Response::new(up_full(Bytes::new()));
        *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let h = resp.headers_mut();
        h.insert(
            http::header::CONNECTION,
            HeaderValue::from_static("upgrade"),
        );
        h.insert(
            http::header::UPGRADE,
            req.headers()
                .get(http::header::UPGRADE)
                .cloned()
                .unwrap_or(HeaderValue::from_static("websocket")),
        );
        h.insert(
            "sec-websocket-accept",
            HeaderValue::from_static("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        );
        return Ok(resp);
    }

    match path.as_str() {
        "/random" => {
            let size: usize = q.get("size").and_then(|s| s.parse().ok()).unwrap_or(0);
            let seed: u64 = q.get("seed").and_then(|s| s.parse().ok()).unwrap_or(0);
            let data = Bytes::from(random_bytes(seed, size));
            let ct = match q.get("ct").map(String::as_str) {
                Some("text") => "text/plain",
                _ => "application/octet-stream",
            };
            let body = if q.get("chunked").is_some_and(|v| v == "1") {
                ChunkedBytes { data, chunk: 7919 }.boxed()
            } else {
                up_full(data)
            };
            let mut resp = Response::new(body);
            resp.headers_mut()
                .insert(http::header::CONTENT_TYPE, HeaderValue::from_static(ct));
            Ok(resp)
        }
        "/cookies" => {
            let mut resp = Response::new(up_full("cookies"));
            let h = resp.headers_mut();
            h.append(
                http::header::SET_COOKIE,
                HeaderValue::from_static("a=1; Path=/; HttpOnly"),
            );
            h.append(
                http::header::SET_COOKIE,
                HeaderValue::from_static("b=2; Path=/; Secure"),
            );
            h.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain"),
            );
            Ok(resp)
        }
        "/hop-response" => {
            // hop-by-hop headers in a response, for the proxy to remove
            let mut resp = Response::new(up_full("hop"));
            let h = resp.headers_mut();
            h.insert(
                http::header::CONNECTION,
                HeaderValue::from_static("x-up-hop"),
            );
            h.insert("x-up-hop", HeaderValue::from_static("connection-specific"));
            h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
            h.insert("proxy-authenticate", HeaderValue::from_static("Basic"));
            h.insert("x-up-end-to-end", HeaderValue::from_static("kept"));
            Ok(resp)
        }
        "/redirect" => {
            let mut resp = Response::new(up_full("moved"));
            *resp.status_mut() = StatusCode::FOUND;
            resp.headers_mut().insert(
                http::header::LOCATION,
                HeaderValue::from_static("/elsewhere?from=redirect"),
            );
            Ok(resp)
        }
        "/slow" => {
            let ms: u64 = q.get("ms").and_then(|s| s.parse().ok()).unwrap_or(5000);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            let mut resp = Response::new(up_full("slow done"));
            resp.headers_mut().insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            Ok(resp)
        }
        "/leak" => {
            let body = format!(
                "<html><body><h1>Error</h1><p>{LEAK_TEXT} near ''' at line 1</p></body></html>"
            );
            let ct = if q.contains_key("binary") {
                "application/octet-stream"
            } else {
                "text/html; charset=utf-8"
            };
            let mut resp = Response::new(up_full(body));
            *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            resp.headers_mut()
                .insert(http::header::CONTENT_TYPE, HeaderValue::from_static(ct));
            Ok(resp)
        }
        _ => Ok(echo(req).await),
    }
}

/// Echoes the body byte-exact and reports the request head in `x-echo-*` headers.
async fn echo(req: Request<Incoming>) -> Response<UpBody> {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) => {
            let mut resp = Response::new(up_full(format!("upstream body error: {e}")));
            *resp.status_mut() = StatusCode::BAD_REQUEST;
            resp.headers_mut()
                .insert("x-echo-body-error", HeaderValue::from_static("1"));
            return resp;
        }
    };
    let len = body.len();
    let mut resp = Response::new(up_full(body));
    let h = resp.headers_mut();
    let get = |name: &str| {
        let vals: Vec<&[u8]> = parts
            .headers
            .get_all(name)
            .iter()
            .map(|v| v.as_bytes())
            .collect();
        if vals.is_empty() {
            HeaderValue::from_static("<none>")
        } else {
            HeaderValue::from_bytes(&vals.join(&b" | "[..]))
                .unwrap_or(HeaderValue::from_static("<invalid>"))
        }
    };
    h.insert("x-echo-method", hv(parts.method.as_str()));
    h.insert(
        "x-echo-uri",
        hv(parts.uri.path_and_query().map_or("/", |pq| pq.as_str())),
    );
    h.insert("x-echo-version", hv(&format!("{:?}", parts.version)));
    h.insert("x-echo-host", get("host"));
    h.insert("x-echo-xff", get("x-forwarded-for"));
    h.insert("x-echo-xfp", get("x-forwarded-proto"));
    h.insert("x-echo-forwarded", get("forwarded"));
    h.insert("x-echo-content-length", get("content-length"));
    h.insert("x-echo-content-encoding", get("content-encoding"));
    h.insert("x-echo-te", get("transfer-encoding"));
    h.insert("x-echo-body-len", hv(&len.to_string()));
    // `x-t-NAME` request headers come back as `x-echo-t-NAME`, byte for byte.
    for (name, value) in parts.headers.iter() {
        if let Some(rest) = name.as_str().strip_prefix("x-t-") {
            if let Ok(n) = HeaderName::from_bytes(format!("x-echo-t-{rest}").as_bytes()) {
                h.append(n, value.clone());
            }
        }
    }
    let names: Vec<&str> = parts.headers.keys().map(HeaderName::as_str).collect();
    h.insert("x-echo-headers", hv(&names.join(",")));
    h.insert(
        http::header::CONTENT_TYPE,
        parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .cloned()
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    resp
}

// ---------------------------------------------------------------------------------------
// Certificates

/// A self-signed certificate for `localhost` and 127.0.0.1, written as PEM files.
pub struct TestCert {
    pub cert_pem: String,
    pub key_pem: String,
    pub cert_path: PathBuf,
    pub key_path: PathBuf,
}

impl TestCert {
    pub fn new(dir: &TempDir, name: &str) -> TestCert {
        let ck = rcgen::generate_simple_self_signed(vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
        ])
        .expect("generate certificate");
        let cert_pem = ck.cert.pem();
        let key_pem = ck.key_pair.serialize_pem();
        let cert_path = dir.write(&format!("{name}.crt"), &cert_pem);
        let key_path = dir.write(&format!("{name}.key"), &key_pem);
        TestCert {
            cert_pem,
            key_pem,
            cert_path,
            key_path,
        }
    }

    pub fn chain(&self) -> Vec<rustls::pki_types::CertificateDer<'static>> {
        rustls_pemfile::certs(&mut self.cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .expect("parse cert PEM")
    }

    pub fn key(&self) -> rustls::pki_types::PrivateKeyDer<'static> {
        rustls_pemfile::private_key(&mut self.key_pem.as_bytes())
            .expect("parse key PEM")
            .expect("a key")
    }

    /// A client config trusting only this certificate, offering `alpn`.
    pub fn client_config(&self, alpn: &[&[u8]]) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        for c in self.chain() {
            roots.add(c).expect("trust test cert");
        }
        let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("tls versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(config)
    }
}

/// TLS-connects to `addr` as `localhost`.
pub async fn tls_connect(
    addr: SocketAddr,
    config: Arc<rustls::ClientConfig>,
) -> tokio_rustls::client::TlsStream<TcpStream> {
    let tcp = tokio::time::timeout(WAIT, TcpStream::connect(addr))
        .await
        .expect("connect timed out")
        .expect("connect");
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("server name");
    tokio::time::timeout(
        WAIT,
        tokio_rustls::TlsConnector::from(config).connect(name, tcp),
    )
    .await
    .expect("TLS handshake timed out")
    .expect("TLS handshake")
}

// ---------------------------------------------------------------------------------------
// The proxy

/// Writes the test signature lists into `dir`.
pub fn write_signatures(dir: &TempDir) -> PathBuf {
    let sig = dir.0.join("signatures");
    dir.write("signatures/args/test.txt", format!("{MARKER}\n"));
    dir.write("signatures/body/test.txt", format!("{MARKER}\n"));
    dir.write("signatures/headers/h.txt", format!("{HEADER_MARKER}\n"));
    // Greedy variants: their excerpts carry the rest of the value, so the audit log's
    // redaction of secret arguments, cookies and headers is really exercised.
    dir.write("signatures/args/greedy.re", format!("{MARKER}.*\n"));
    dir.write(
        "signatures/headers/greedy.re",
        format!("{HEADER_MARKER}.*\n"),
    );
    dir.write(
        "signatures/response/leak.txt",
        format!("#@ severity: error\n{LEAK_TEXT}\n"),
    );
    sig
}

/// Builds the engine: the test signature lists (loaded from files, default transforms)
/// plus body parse errors.
pub fn test_engine(dir: &TempDir, mut policy: Policy) -> Engine {
    let sig = write_signatures(dir);
    let sources = palisade_rules::from_dir(&sig).expect("read test signature dir");
    let set = palisade_rules::SignatureSet::from_sources(sources).expect("compile signatures");
    policy.compile().expect("valid policy");
    Engine::new(
        vec![
            Arc::new(palisade_rules::SignatureDetector::new(set)),
            Arc::new(BodyParseErrors),
        ],
        policy,
    )
}

/// Settings for tests: one plain listener on 127.0.0.1:0, `upstream`, short timeouts.
pub fn settings_for(upstream: &str) -> ProxySettings {
    let mut s = ProxySettings {
        listen: vec![ListenerSettings {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: Vec::new(),
        }],
        upstream: Some(upstream.to_string()),
        ..ProxySettings::default()
    };
    s.timeouts.client_header = Duration::from_secs(10);
    s.timeouts.client_body = Duration::from_secs(10);
    s.timeouts.upstream_connect = Duration::from_secs(2);
    s.timeouts.upstream_response = Duration::from_secs(10);
    s.timeouts.shutdown_grace = Duration::from_secs(5);
    s
}

pub struct TestProxy {
    /// The first listener's address.
    pub addr: SocketAddr,
    pub addrs: Vec<(SocketAddr, bool)>,
    pub stats: Arc<Stats>,
    pub dir: TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestProxy {
    /// Plain-HTTP listener address.
    pub fn plain_addr(&self) -> SocketAddr {
        self.addrs
            .iter()
            .find(|(_, tls)| !tls)
            .map(|(a, _)| *a)
            .expect("a plain listener")
    }

    pub fn tls_addr(&self) -> SocketAddr {
        self.addrs
            .iter()
            .find(|(_, tls)| *tls)
            .map(|(a, _)| *a)
            .expect("a TLS listener")
    }

    pub fn stat(&self, f: impl Fn(&Stats) -> &AtomicU64) -> u64 {
        Stats::get(f(&self.stats))
    }

    /// Triggers shutdown (as SIGTERM would) without waiting.
    pub fn trigger_shutdown(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }

    /// Waits (bounded) for `run` to return.
    pub async fn join(&mut self, limit: Duration) -> anyhow::Result<()> {
        let task = self.task.take().expect("proxy task still held");
        match tokio::time::timeout(limit, task).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => Err(anyhow::anyhow!("proxy task panicked: {e}")),
            Err(_) => Err(anyhow::anyhow!("proxy did not stop within {limit:?}")),
        }
    }
}

impl Drop for TestProxy {
    fn drop(&mut self) {
        self.trigger_shutdown();
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

/// Binds and runs a proxy with the test engine; `dir` holds signatures (and whatever the
/// caller put there, e.g. the audit log or certificates).
pub async fn start_proxy_in(dir: TempDir, settings: ProxySettings, policy: Policy) -> TestProxy {
    let engine = test_engine(&dir, policy);
    start_proxy_with_engine(dir, settings, engine).await
}

/// A proxy in front of `settings`' upstream with the given engine.
pub async fn start_proxy_with_engine(
    dir: TempDir,
    settings: ProxySettings,
    engine: Engine,
) -> TestProxy {
    let server = palisade_proxy::Server::bind(settings, Arc::new(ArcSwap::from_pointee(engine)))
        .await
        .expect("bind proxy");
    let addrs = server.local_addrs();
    let stats = server.stats();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async move {
        let _ = stop_rx.await;
    }));
    TestProxy {
        addr: addrs[0].0,
        addrs,
        stats,
        dir,
        stop: Some(stop_tx),
        task: Some(task),
    }
}

pub async fn start_proxy(settings: ProxySettings, policy: Policy) -> TestProxy {
    start_proxy_in(TempDir::new("proxy"), settings, policy).await
}

// ---------------------------------------------------------------------------------------
// Clients

/// A response read to the end.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub version: Version,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Resp {
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_else(|| format!("<missing {name}>"))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 client connection (keep-alive).
pub struct H1 {
    pub sender: hyper::client::conn::http1::SendRequest<ClientBody>,
    _conn: AbortOnDrop<()>,
}

pub async fn h1_connect(addr: SocketAddr) -> H1 {
    let stream = tokio::time::timeout(WAIT, TcpStream::connect(addr))
        .await
        .expect("connect timed out")
        .expect("connect to proxy");
    let _ = stream.set_nodelay(true);
    h1_handshake(stream).await
}

pub async fn h1_handshake<IO>(io: IO) -> H1
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .expect("http1 handshake");
    let task = tokio::spawn(async move {
        let _ = conn.await;
    });
    H1 {
        sender,
        _conn: AbortOnDrop(task),
    }
}

impl H1 {
    pub async fn send(&mut self, req: Request<ClientBody>) -> Resp {
        self.try_send(req, WAIT)
            .await
            .expect("request through proxy")
    }

    pub async fn try_send(
        &mut self,
        req: Request<ClientBody>,
        limit: Duration,
    ) -> Result<Resp, String> {
        let fut = async {
            self.sender
                .ready()
                .await
                .map_err(|e| format!("connection not ready: {e}"))?;
            let resp = self
                .sender
                .send_request(req)
                .await
                .map_err(|e| format!("send: {e}"))?;
            read_resp(resp).await
        };
        tokio::time::timeout(limit, fut)
            .await
            .map_err(|_| format!("no complete response within {limit:?}"))?
    }
}

pub async fn read_resp(resp: Response<Incoming>) -> Result<Resp, String> {
    let (parts, body) = resp.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|e| format!("reading response body: {e}"))?
        .to_bytes();
    Ok(Resp {
        status: parts.status,
        version: parts.version,
        headers: parts.headers,
        body,
    })
}

/// A request builder with the Host header hyper's low-level client does not add itself.
pub fn req(method: &str, target: &str, host: &str) -> http::request::Builder {
    Request::builder()
        .method(method)
        .uri(target)
        .header(http::header::HOST, host)
}

/// One request on a fresh connection.
pub async fn send_one(addr: SocketAddr, req: Request<ClientBody>) -> Resp {
    let mut c = h1_connect(addr).await;
    c.send(req).await
}

pub async fn get(addr: SocketAddr, target: &str) -> Resp {
    send_one(
        addr,
        req("GET", target, &addr.to_string())
            .body(empty_body())
            .expect("request"),
    )
    .await
}

// ---------------------------------------------------------------------------------------
// Raw TCP

/// A response parsed from raw bytes.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub head: String,
    /// Lowercased names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub chunked: bool,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses one complete response at the start of `buf`; None if more bytes are needed.
/// Returns the response and the number of bytes it used.
pub fn parse_raw_response(buf: &[u8], head_only: bool) -> Option<(RawResponse, usize)> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&buf[..end - 4]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let status: u16 = status_line.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let find = |n: &str| headers.iter().find(|(h, _)| h == n).map(|(_, v)| v.clone());
    let chunked =
        find("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let mut resp = RawResponse {
        status,
        head,
        headers: headers.clone(),
        body: Vec::new(),
        chunked,
    };
    if head_only || status == 101 || status == 204 || status == 304 || (100..200).contains(&status)
    {
        return Some((resp, end));
    }
    if chunked {
        let mut pos = end;
        loop {
            let line_end = buf[pos..].windows(2).position(|w| w == b"\r\n")? + pos;
            let size_text = String::from_utf8_lossy(&buf[pos..line_end]).into_owned();
            let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
            pos = line_end + 2;
            if size == 0 {
                // trailers until an empty line
                loop {
                    let le = buf[pos..].windows(2).position(|w| w == b"\r\n")? + pos;
                    let empty = le == pos;
                    pos = le + 2;
                    if empty {
                        return Some((resp, pos));
                    }
                }
            }
            if buf.len() < pos + size + 2 {
                return None;
            }
            resp.body.extend_from_slice(&buf[pos..pos + size]);
            pos += size + 2;
        }
    }
    match find("content-length").and_then(|v| v.parse::<usize>().ok()) {
        Some(n) => {
            if buf.len() < end + n {
                return None;
            }
            resp.body = buf[end..end + n].to_vec();
            Some((resp, end + n))
        }
        // no length: body until close; the caller decides when the connection is done
        None => None,
    }
}

/// What a raw exchange ended with.
#[derive(Debug)]
pub enum RawOutcome {
    Response(RawResponse),
    /// The connection closed; the bytes received (no complete response).
    Closed(Vec<u8>),
    TimedOut(Vec<u8>),
}

/// Sends `bytes` on a new connection and reads one response (bounded by `limit`).
pub async fn raw_exchange(addr: SocketAddr, bytes: &[u8], limit: Duration) -> RawOutcome {
    let mut stream = tokio::time::timeout(WAIT, TcpStream::connect(addr))
        .await
        .expect("connect timed out")
        .expect("connect to proxy");
    // The server may answer (and close) before reading everything: ignore write errors.
    let _ = stream.write_all(bytes).await;
    raw_read_response(&mut stream, limit).await
}

pub async fn raw_read_response<S: AsyncRead + Unpin>(
    stream: &mut S,
    limit: Duration,
) -> RawOutcome {
    let mut buf = Vec::new();
    let deadline = tokio::time::Instant::now() + limit;
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        if let Some((resp, _)) = parse_raw_response(&buf, false) {
            return RawOutcome::Response(resp);
        }
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Err(_) => return RawOutcome::TimedOut(buf),
            Ok(Ok(0)) | Ok(Err(_)) => {
                // Closed: a response without length ends here.
                if let Some((mut resp, used)) = parse_raw_response(&buf, true) {
                    resp.body = buf[used..].to_vec();
                    return RawOutcome::Response(resp);
                }
                return RawOutcome::Closed(buf);
            }
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Reads `n` consecutive (pipelined) responses from one connection.
pub async fn raw_read_responses<S: AsyncRead + Unpin>(
    stream: &mut S,
    n: usize,
    limit: Duration,
) -> Vec<RawResponse> {
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + limit;
    let mut chunk = vec![0u8; 64 * 1024];
    while out.len() < n {
        if let Some((resp, used)) = parse_raw_response(&buf, false) {
            buf.drain(..used);
            out.push(resp);
            continue;
        }
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(k)) => buf.extend_from_slice(&chunk[..k]),
        }
    }
    out
}

/// Runs `f` until it returns true, for at most `limit`.
pub async fn eventually<F: FnMut() -> bool>(limit: Duration, mut f: F) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if f() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Reads the audit log lines that parse as JSON, waiting (bounded) until `want` match `pred`.
pub async fn audit_lines(
    path: &Path,
    limit: Duration,
    mut pred: impl FnMut(&serde_json::Value) -> bool,
    want: usize,
) -> (Vec<serde_json::Value>, String) {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let matching: Vec<serde_json::Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| pred(v))
            .collect();
        if matching.len() >= want || tokio::time::Instant::now() >= deadline {
            return (matching, text);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
