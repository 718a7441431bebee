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
            tokio::spawn(serve_counted(stream, n, close_after));
        }
    });
    (addr, accepted, AbortOnDrop(task))
}

async fn serve_counted(mut stream: TcpStream, n: usize, close_after: Option<usize>) {
    let mut pending = Vec::new();
    let mut buf = [0u8; 4096];
    let mut answered = 0;
    loop {
        // one request head per answer (the proxy sends these requests without a body)
        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            pending.drain(..end + 4);
            let body = format!("conn-{n}");
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            if stream.write_all(head.as_bytes()).await.is_err()
                || stream.write_all(body.as_bytes()).await.is_err()
            {
                return;
            }
            answered += 1;
            if close_after.is_some_and(|limit| answered >= limit) {
                return;
            }
        }
        match tokio::time::timeout(WAIT, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return,
            Ok(Ok(k)) => pending.extend_from_slice(&buf[..k]),
        }
    }
}

async fn get_all(proxy: &TestProxy, count: usize, pause: Duration) -> Vec<String> {
    let host = proxy.addr.to_string();
    let mut c = h1_connect(proxy.addr).await;
    let mut bodies = Vec::new();
    for i in 0..count {
        let r = c
            .send(
                req("GET", &format!("/item?n={i}"), &host)
                    .body(empty_body())
                    .expect("request"),
            )
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
    let bodies = get_all(&proxy, 25, Duration::ZERO).await;
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
    let bodies = get_all(&proxy, 3, Duration::from_millis(400)).await;
    assert_eq!(bodies, ["conn-1", "conn-2", "conn-3"]);
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_the_upstream_closed_while_idle_are_replaced() {
    let (addr, accepted, _up) = counting_upstream(Some(1)).await;
    let proxy = start_proxy(settings_for(&format!("http://{addr}")), Policy::default()).await;
    // back to back (the close may not have been seen yet when the next request is sent)
    // and with pauses (it has)
    let mut bodies = get_all(&proxy, 20, Duration::ZERO).await;
    bodies.extend(get_all(&proxy, 5, Duration::from_millis(20)).await);
    let expected: Vec<String> = (1..=25).map(|n| format!("conn-{n}")).collect();
    assert_eq!(bodies, expected);
    assert_eq!(accepted.load(Ordering::SeqCst), 25);
    assert_eq!(proxy.stat(|s| &s.upstream_errors), 0);
}
