//! The upstream connection pool against a raw upstream that counts its connections:
//! keep-alive connections are reused, idle ones expire, and connections the upstream
//! closes while idle never surface as an error to the client.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use palisade_engine::Policy;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A raw HTTP/1.1 upstream on 127.0.0.1:0 that answers every body-less request with
/// `200` and the body `conn-N` (N: the connection's number, from 1), keeping the
/// connection open, or closing it after `close_after` responses without saying so (no
/// `Connection: close`), as an upstream whose keep-alive timeout ran out does.
async fn counting_upstream(
    close_after: Option<usize>,
) -> (SocketAddr, Arc<AtomicUsize>, AbortOnDrop<()>) {
    raw_upstream(move |stream, n| serve_counted(stream, n, close_after)).await
}

/// A raw upstream on 127.0.0.1:0 that serves each accepted connection with `serve` (given
/// the connection's number, from 1), counting them.
async fn raw_upstream<F, S>(serve: S) -> (SocketAddr, Arc<AtomicUsize>, AbortOnDrop<()>)
where
    S: Fn(TcpStream, usize) -> F + Send + 'static,
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let n = count.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::spawn(serve(stream, n));
        }
    });
    (addr, accepted, AbortOnDrop(task))
}

async fn serve_counted(mut stream: TcpStream, n: usize, close_after: Option<usize>) {
    let mut pending = Vec::new();
    let mut buf = [0u8; 4096];
    let mut answered = 0;
    loop {
        // one request head per answer (the proxy sends these requests without a body);
        // `/big` gets 4 MB of `x`, `/close` a `Connection: close` answer
        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            let head: Vec<u8> = pending.drain(..end + 4).collect();
            let big = head.starts_with(b"GET /big ");
            let closing = head.starts_with(b"GET /close ");
            let body = if big {
                vec![b'x'; 4 << 20]
            } else {
                format!("conn-{n}").into_bytes()
            };
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n{}\r\n",
                body.len(),
                if closing { "Connection: close\r\n" } else { "" }
            );
            // (a large body in two parts 300 ms apart: the proxy is still in the middle of
            // it when its client leaves)
            let (first, rest) = body.split_at(if big { 1 << 20 } else { body.len() });
            if stream.write_all(head.as_bytes()).await.is_err()
                || stream.write_all(first).await.is_err()
            {
                return;
            }
            if !rest.is_empty() {
                tokio::time::sleep(Duration::from_millis(300)).await;
                if stream.write_all(rest).await.is_err() {
                    return;
                }
            }
            answered += 1;
            if closing || close_after.is_some_and(|limit| answered >= limit) {
                return;
            }
        }
        match tokio::time::timeout(WAIT, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return,
            Ok(Ok(k)) => pending.extend_from_slice(&buf[..k]),
        }
    }
}

/// `count` GETs of `path` on one client connection, `pause` apart: the response bodies.
async fn get_all(proxy: &TestProxy, path: &str, count: usize, pause: Duration) -> Vec<String> {
    let host = proxy.addr.to_string();
    let mut c = h1_connect(proxy.addr).await;
    let mut bodies = Vec::new();
    for i in 0..count {
        let r = c
            .send(req("GET", path, &host).body(empty_body()).expect("request"))
            .await;
        assert_eq!(r.status, 200, "request {i}: {}", r.text());
        bodies.push(r.text());
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
    }
    bodies
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_upstream_connections_are_reused() {
    let (addr, accepted, _up) = counting_upstream(None).await;
    let proxy = start_proxy(settings_for(&format!("http://{addr}")), Policy::default()).await;
    let bodies = get_all(&proxy, "/item", 25, Duration::ZERO).await;
    // one client connection, served by one worker, one request at a time: one upstream
    // connection carries them all
    assert!(bodies.iter().all(|b| b == "conn-1"), "{bodies:?}");
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_idle_past_the_idle_timeout_are_not_reused() {
    let (addr, accepted, _up) = counting_upstream(None).await;
    let mut settings = settings_for(&format!("http://{addr}"));
    settings.timeouts.upstream_idle = Duration::from_millis(150);
    let proxy = start_proxy(settings, Policy::default()).await;
    let bodies = get_all(&proxy, "/item", 3, Duration::from_millis(400)).await;
    assert_eq!(bodies, ["conn-1", "conn-2", "conn-3"]);
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_the_upstream_closed_while_idle_are_replaced() {
    let (addr, accepted, _up) = counting_upstream(Some(1)).await;
    let proxy = start_proxy(settings_for(&format!("http://{addr}")), Policy::default()).await;
    // back to back (the close may not have been seen yet when the next request is sent)
    // and with pauses (it has)
    let mut bodies = get_all(&proxy, "/item", 20, Duration::ZERO).await;
    bodies.extend(get_all(&proxy, "/item", 5, Duration::from_millis(20)).await);
    let expected: Vec<String> = (1..=25).map(|n| format!("conn-{n}")).collect();
    assert_eq!(bodies, expected);
    assert_eq!(accepted.load(Ordering::SeqCst), 25);
    assert_eq!(proxy.stat(|s| &s.upstream_errors), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_answered_with_connection_close_are_not_reused() {
    let (addr, accepted, _up) = counting_upstream(None).await;
    let proxy = start_proxy(settings_for(&format!("http://{addr}")), Policy::default()).await;
    let bodies = get_all(&proxy, "/close", 5, Duration::ZERO).await;
    assert_eq!(bodies, ["conn-1", "conn-2", "conn-3", "conn-4", "conn-5"]);
    assert_eq!(accepted.load(Ordering::SeqCst), 5);
    assert_eq!(proxy.stat(|s| &s.upstream_errors), 0);
}

/// A client that leaves in the middle of a large response leaves its upstream connection
/// with unread bytes: it must not carry another request (whose response would be read
/// from the middle of the first one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_left_mid_response_is_not_reused() {
    let (addr, accepted, _up) = counting_upstream(None).await;
    let mut settings = settings_for(&format!("http://{addr}"));
    settings.workers = 1;
    let proxy = start_proxy(settings, Policy::default()).await;
    {
        let mut s = TcpStream::connect(proxy.addr).await.expect("connect");
        s.write_all(format!("GET /big HTTP/1.1\r\nHost: {}\r\n\r\n", proxy.addr).as_bytes())
            .await
            .expect("write");
        // the head and a little of the body, then away
        let mut buf = vec![0u8; 64 * 1024];
        let n = tokio::time::timeout(WAIT, s.read(&mut buf))
            .await
            .expect("response in time")
            .expect("read");
        assert!(
            buf[..n].starts_with(b"HTTP/1.1 200"),
            "{:?}",
            String::from_utf8_lossy(&buf[..n.min(200)])
        );
    }
    // The same worker's next requests, sent while that response is still arriving, get
    // whole, right answers over another connection.
    let bodies = get_all(&proxy, "/item", 5, Duration::ZERO).await;
    assert!(
        bodies.iter().all(|b| b
            .strip_prefix("conn-")
            .is_some_and(|n| n.parse::<u32>().is_ok())),
        "{bodies:?}"
    );
    assert!(!bodies.contains(&"conn-1".to_string()), "{bodies:?}");
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

/// A raw upstream that answers the first request of each connection (`200`, `conn-N`,
/// kept alive) and resets the connection when a second request arrives on it without
/// answering: the close of an upstream whose keep-alive timeout ran out, crossing the
/// proxy's next request on the wire, made deterministic.
async fn resetting_upstream() -> (SocketAddr, Arc<AtomicUsize>, AbortOnDrop<()>) {
    raw_upstream(|mut stream: TcpStream, n| async move {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
            match tokio::time::timeout(WAIT, stream.read(&mut buf)).await {
                Ok(Ok(k)) if k > 0 => seen.extend_from_slice(&buf[..k]),
                _ => return,
            }
        }
        let body = format!("conn-{n}");
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if stream.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        // the next request arrives: closed with it unread, which resets
        let _ = tokio::time::timeout(WAIT, stream.readable()).await;
    })
    .await
}

/// A pooled connection that the upstream resets when the next request arrives: a GET (no
/// body, idempotent) is sent again on a new connection and answered; a POST with a body
/// is not repeated (the upstream may have acted on it) and gets 502.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodiless_idempotent_requests_are_resent_when_a_reused_connection_resets() {
    let (addr, accepted, _up) = resetting_upstream().await;
    let mut settings = settings_for(&format!("http://{addr}"));
    settings.workers = 1;
    let proxy = start_proxy(settings, Policy::default()).await;
    let host = proxy.addr.to_string();
    let mut c = h1_connect(proxy.addr).await;
    for (i, expected) in ["conn-1", "conn-2", "conn-3"].into_iter().enumerate() {
        let r = c
            .send(
                req("GET", "/item", &host)
                    .body(empty_body())
                    .expect("request"),
            )
            .await;
        assert_eq!(r.status, 200, "GET {i}: {}", r.text());
        assert_eq!(r.text(), expected, "GET {i}");
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
    let r = c
        .send(
            req("POST", "/item", &host)
                .header("content-type", "text/plain")
                .body(full_body("order=1"))
                .expect("request"),
        )
        .await;
    assert_eq!(r.status, 502, "{}", r.text());
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        3,
        "the POST was not sent again"
    );
}
