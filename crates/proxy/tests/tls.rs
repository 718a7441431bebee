//! TLS listeners: HTTP/2 (ALPN h2) and HTTP/1.1 (ALPN http/1.1) on the same port, and an
//! HTTPS upstream verified against a configured CA.

mod common;

use bytes::Bytes;
use common::*;
use http::{Request, Version};
use hyper_util::rt::{TokioExecutor, TokioIo};
use palisade_engine::Policy;
use palisade_proxy::settings::{CertSettings, ListenerSettings};

async fn tls_proxy(upstream: &str) -> (TestProxy, TestCert) {
    let dir = TempDir::new("tls");
    let cert = TestCert::new(&dir, "server");
    let mut settings = settings_for(upstream);
    settings.listen = vec![
        ListenerSettings {
            addr: "127.0.0.1:0".parse().expect("addr"),
            tls: vec![CertSettings {
                cert: cert.cert_path.clone(),
                key: cert.key_path.clone(),
                names: vec!["localhost".to_string()],
            }],
        },
        ListenerSettings {
            addr: "127.0.0.1:0".parse().expect("addr"),
            tls: Vec::new(),
        },
    ];
    (start_proxy_in(dir, settings, Policy::default()).await, cert)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_over_tls_forwards_and_blocks() {
    let up = start_upstream().await;
    let (proxy, cert) = tls_proxy(&up.url()).await;
    let addr = proxy.tls_addr();
    let tls = tls_connect(addr, cert.client_config(&[b"h2"])).await;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .expect("h2 handshake");
    let _conn = AbortOnDrop(tokio::spawn(async move {
        let _ = conn.await;
    }));
    let base = format!("https://localhost:{}", addr.port());

    // GET
    let resp = tokio::time::timeout(
        WAIT,
        sender.send_request(
            Request::get(format!("{base}/h2/get?x=1"))
                .body(empty_body())
                .expect("request"),
        ),
    )
    .await
    .expect("h2 GET timed out")
    .expect("h2 GET");
    let r = read_resp(resp).await.expect("h2 body");
    assert_eq!(r.status, 200);
    assert_eq!(r.version, Version::HTTP_2);
    assert_eq!(r.header("x-echo-method"), "GET");
    assert_eq!(r.header("x-echo-uri"), "/h2/get?x=1");
    // the upstream speaks HTTP/1.1 and gets the :authority as Host
    assert_eq!(r.header("x-echo-version"), "HTTP/1.1");
    assert_eq!(
        r.header("x-echo-host"),
        format!("localhost:{}", addr.port())
    );
    assert_eq!(r.header("x-echo-xfp"), "https");
    assert!(
        r.header("x-echo-forwarded").contains("proto=https"),
        "{}",
        r.header("x-echo-forwarded")
    );

    // POSTs with bodies (one larger than the default h2 flow-control window), and many
    // concurrent streams on the one connection.
    let mut pending = Vec::new();
    for i in 0..20u64 {
        let size = if i == 0 { 300_000 } else { 1000 * i as usize };
        let data = Bytes::from(random_bytes(900 + i, size));
        let ct = if i % 2 == 0 {
            "application/octet-stream"
        } else {
            "text/plain"
        };
        let mut data = data;
        if ct == "text/plain" && contains_ci(&data, MARKER.as_bytes()) {
            data = Bytes::from_static(b"plain");
        }
        let fut = sender.send_request(
            Request::post(format!("{base}/h2/post/{i}"))
                .header("content-type", ct)
                .body(full_body(data.clone()))
                .expect("request"),
        );
        pending.push((i, data, fut));
    }
    for (i, data, fut) in pending {
        let resp = tokio::time::timeout(WAIT, fut)
            .await
            .expect("h2 POST timed out")
            .expect("h2 POST");
        let r = read_resp(resp).await.expect("h2 body");
        assert_eq!(r.status, 200, "stream {i}");
        assert_eq!(r.version, Version::HTTP_2);
        assert!(r.body == data, "stream {i}: body differs");
    }

    // A large download through h2 flow control.
    let resp = tokio::time::timeout(
        WAIT,
        sender.send_request(
            Request::get(format!("{base}/random?size=2000000&seed=42"))
                .body(empty_body())
                .expect("request"),
        ),
    )
    .await
    .expect("h2 download timed out")
    .expect("h2 download");
    let r = tokio::time::timeout(WAIT, read_resp(resp))
        .await
        .expect("download body timed out")
        .expect("download body");
    assert!(r.body == random_bytes(42, 2_000_000), "download differs");

    // An attack is blocked with the block page, over h2 too.
    let resp = tokio::time::timeout(
        WAIT,
        sender.send_request(
            Request::get(format!("{base}/h2/attack?q={MARKER}"))
                .body(empty_body())
                .expect("request"),
        ),
    )
    .await
    .expect("h2 attack timed out")
    .expect("h2 attack");
    let r = read_resp(resp).await.expect("h2 body");
    assert_eq!(r.status, 403);
    assert_eq!(r.version, Version::HTTP_2);
    assert!(r.text().contains(&r.header("x-request-id")));
    let resp = tokio::time::timeout(
        WAIT,
        sender.send_request(
            Request::post(format!("{base}/h2/attack-body"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(full_body(format!("a=1&b={MARKER}")))
                .expect("request"),
        ),
    )
    .await
    .expect("h2 attack timed out")
    .expect("h2 attack");
    assert_eq!(resp.status(), 403);
    assert_eq!(up.hit_count("GET /h2/attack"), 0);
    assert_eq!(up.hit_count("POST /h2/attack"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_over_the_same_tls_listener() {
    let up = start_upstream().await;
    let (proxy, cert) = tls_proxy(&up.url()).await;
    let addr = proxy.tls_addr();
    let tls = tls_connect(addr, cert.client_config(&[b"http/1.1"])).await;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    let mut c = h1_handshake(tls).await;
    let host = format!("localhost:{}", addr.port());
    let r = c
        .send(
            req("POST", "/tls/h1", &host)
                .header("content-type", "application/json")
                .body(full_body(r#"{"a":[1,2,3]}"#))
                .expect("request"),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.version, Version::HTTP_11);
    assert_eq!(r.text(), r#"{"a":[1,2,3]}"#);
    assert_eq!(r.header("x-echo-xfp"), "https");
    assert_eq!(r.header("x-echo-host"), host);
    let r = c
        .send(
            req("GET", &format!("/tls/h1?q={MARKER}"), &host)
                .body(empty_body())
                .expect("request"),
        )
        .await;
    assert_eq!(r.status, 403);
    // Keep-alive survives a block page.
    let r = c
        .send(
            req("GET", "/tls/h1/again", &host)
                .body(empty_body())
                .expect("request"),
        )
        .await;
    assert_eq!(r.status, 200);

    // No ALPN at all: HTTP/1.1.
    let tls = tls_connect(addr, cert.client_config(&[])).await;
    let mut c = h1_handshake(tls).await;
    let r = c
        .send(
            req("GET", "/tls/no-alpn", &host)
                .body(empty_body())
                .expect("request"),
        )
        .await;
    assert_eq!(r.status, 200);

    // The plain listener next to it still answers plain HTTP.
    let r = get(proxy.plain_addr(), "/plain").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-echo-xfp"), "http");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_upstream_is_verified_against_the_configured_ca() {
    let dir = TempDir::new("up-tls");
    let cert = TestCert::new(&dir, "upstream");
    let up = start_tls_upstream(&cert).await;
    let url = format!("https://localhost:{}", up.addr.port());

    let mut settings = settings_for(&url);
    settings.upstream_ca = Some(cert.cert_path.clone());
    let proxy = start_proxy(settings, Policy::default()).await;
    let r = send_one(
        proxy.addr,
        req("POST", "/over-tls", "app.example.test")
            .header("content-type", "application/octet-stream")
            .body(full_body(random_bytes(3, 100_000)))
            .expect("request"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.body == random_bytes(3, 100_000));
    assert_eq!(r.header("x-echo-host"), "app.example.test");

    // Without the CA the upstream's self-signed certificate is refused: 502.
    let settings = settings_for(&url);
    let proxy = start_proxy(settings, Policy::default()).await;
    let r = get(proxy.addr, "/over-tls").await;
    assert_eq!(r.status, 502);
    assert_eq!(up.hit_count("GET /over-tls"), 0);
}

/// HTTP/2 with prior knowledge (h2c) on the plain listener works the same way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2c_prior_knowledge_on_the_plain_listener() {
    let up = start_upstream().await;
    let proxy = start_proxy(settings_for(&up.url()), Policy::default()).await;
    let tcp = tokio::net::TcpStream::connect(proxy.addr)
        .await
        .expect("connect");
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .expect("h2c handshake");
    let _conn = AbortOnDrop(tokio::spawn(async move {
        let _ = conn.await;
    }));
    let base = format!("http://{}", proxy.addr);
    let data = Bytes::from(random_bytes(12, 200_000));
    let resp = tokio::time::timeout(
        WAIT,
        sender.send_request(
            Request::post(format!("{base}/h2c?x=1"))
                .header("content-type", "application/octet-stream")
                .body(full_body(data.clone()))
                .expect("request"),
        ),
    )
    .await
    .expect("h2c POST timed out")
    .expect("h2c POST");
    let r = read_resp(resp).await.expect("h2c body");
    assert_eq!(r.status, 200);
    assert_eq!(r.version, Version::HTTP_2);
    assert!(r.body == data);
    assert_eq!(r.header("x-echo-xfp"), "http");
    let resp = tokio::time::timeout(
        WAIT,
        sender.send_request(
            Request::get(format!("{base}/h2c?q={MARKER}"))
                .body(empty_body())
                .expect("request"),
        ),
    )
    .await
    .expect("h2c attack timed out")
    .expect("h2c attack");
    assert_eq!(resp.status(), 403);
}
