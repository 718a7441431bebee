//! WebSocket-style `Upgrade` passthrough: the handshake is inspected, then the proxy tunnels
//! raw bytes both ways.

mod common;

use std::time::Duration;

use common::*;
use palisade_engine::Policy;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn handshake(target: &str, host: &str) -> String {
    format!(
        "GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: http://{host}\r\n\r\n"
    )
}

/// Reads exactly `n` bytes or fails after `limit`.
async fn read_exact_within(s: &mut TcpStream, n: usize, limit: Duration) -> Vec<u8> {
    let mut out = vec![0u8; n];
    tokio::time::timeout(limit, s.read_exact(&mut out))
        .await
        .expect("tunnel read timed out")
        .expect("tunnel read");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade_is_tunnelled_after_inspection() {
    let up = start_upstream().await;
    let proxy = start_proxy(settings_for(&up.url()), Policy::default()).await;
    let host = proxy.addr.to_string();

    let mut s = TcpStream::connect(proxy.addr).await.expect("connect");
    s.write_all(handshake("/chat?room=lobby", &host).as_bytes())
        .await
        .expect("write handshake");
    // Read the 101 head byte by byte so no tunnelled byte is consumed with it.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(WAIT, s.read(&mut byte))
            .await
            .expect("101 timed out")
            .expect("read 101");
        assert!(n == 1, "closed before the 101 head ended: {head:?}");
        head.push(byte[0]);
        assert!(head.len() < 8192, "head too long");
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(head.contains("upgrade: websocket"), "{head}");
    assert!(head.contains("connection: upgrade"), "{head}");
    assert!(head.contains("sec-websocket-accept:"), "{head}");

    // Small messages one after another, then a large binary blob, all echoed back.
    for msg in [
        &b"hello"[..],
        b"\x00\x01\x02\xff",
        b"GET / HTTP/1.1\r\n\r\n",
    ] {
        s.write_all(msg).await.expect("tunnel write");
        let back = read_exact_within(&mut s, msg.len(), WAIT).await;
        assert_eq!(back, msg);
    }
    let blob = random_bytes(101, 512 * 1024);
    let (mut rd, mut wr) = s.into_split();
    let to_send = blob.clone();
    let writer = tokio::spawn(async move {
        wr.write_all(&to_send).await.expect("tunnel write blob");
        wr
    });
    let mut back = vec![0u8; blob.len()];
    tokio::time::timeout(WAIT, rd.read_exact(&mut back))
        .await
        .expect("blob echo timed out")
        .expect("blob echo");
    assert!(back == blob, "tunnelled blob differs");
    let mut wr = writer.await.expect("writer");
    // Closing our side ends the tunnel: the proxy closes towards us.
    wr.shutdown().await.expect("shutdown write");
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(WAIT, rd.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "tunnel stayed open after the client closed");
    assert!(rest.is_empty());
    assert_eq!(up.hit_count("GET /chat?room=lobby"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_in_upgrade_handshake_is_blocked_before_upgrade() {
    let up = start_upstream().await;
    let proxy = start_proxy(settings_for(&up.url()), Policy::default()).await;
    let host = proxy.addr.to_string();
    for target in [
        format!("/chat?room={MARKER}"),
        "/chat?room=%65vil-payload".to_string(),
    ] {
        match raw_exchange(proxy.addr, handshake(&target, &host).as_bytes(), WAIT).await {
            RawOutcome::Response(r) => {
                assert_eq!(r.status, 403, "{target}: {}", r.head);
                assert!(
                    r.header("upgrade").is_none(),
                    "a blocked handshake must not upgrade: {}",
                    r.head
                );
            }
            other => panic!("{target}: {other:?}"),
        }
    }
    // Header inspected too.
    let req = format!(
        "GET /chat HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Protocol: {HEADER_MARKER}\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    match raw_exchange(proxy.addr, req.as_bytes(), WAIT).await {
        RawOutcome::Response(r) => assert_eq!(r.status, 403, "{}", r.head),
        other => panic!("{other:?}"),
    }
    assert!(up.hits().is_empty(), "{:?}", up.hits());
}

/// An upstream that would switch to anything (as the test upstream does) must never get
/// the chance for protocols outside `upgrade_protocols`: a tunnelled `h2c` connection would
/// carry every later request to the upstream uninspected (h2c smuggling). Such a request
/// is forwarded as an ordinary one, without `Upgrade`, and the connection stays HTTP/1.1
/// under inspection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2c_and_unlisted_upgrades_are_forwarded_without_switching() {
    let up = start_upstream().await;
    let proxy = start_proxy(settings_for(&up.url()), Policy::default()).await;
    let host = proxy.addr.to_string();
    for (n, (connection, upgrade)) in [
        ("Upgrade, HTTP2-Settings", "h2c"),
        ("Upgrade", "h2c"),
        ("keep-alive, Upgrade", "websocket, h2c"),
        ("Upgrade", "TLS/1.2"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut s = TcpStream::connect(proxy.addr).await.expect("connect");
        let first = format!(
            "GET /smuggle/{n} HTTP/1.1\r\nHost: {host}\r\nConnection: {connection}\r\nUpgrade: {upgrade}\r\n\
             HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"
        );
        // then, on the same connection, a request that inspection must see and block
        let second =
            format!("GET /after?q={MARKER} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        s.write_all(first.as_bytes()).await.expect("write");
        s.write_all(second.as_bytes()).await.expect("write");
        let mut all = Vec::new();
        tokio::time::timeout(WAIT, s.read_to_end(&mut all))
            .await
            .expect("responses timed out")
            .expect("read");
        let text = String::from_utf8_lossy(&all).to_ascii_lowercase();
        assert!(text.starts_with("http/1.1 200"), "{upgrade}: {text}");
        assert!(!text.contains(" 101 "), "{upgrade}: switched: {text}");
        let second_at = text[1..]
            .find("http/1.1 ")
            .map(|i| i + 1)
            .expect("second response");
        assert!(
            text[second_at..].starts_with("http/1.1 403"),
            "{upgrade}: the next request on the connection was not inspected: {text}"
        );
        assert_eq!(up.hit_count(&format!("GET /smuggle/{n}")), 1);
    }
    assert_eq!(up.hit_count("GET /after"), 0, "{:?}", up.hits());
}
