//! Inspection outcomes seen from outside: the block page, detect mode with its audit log
//! (secrets redacted), and response inspection.

mod common;

use std::time::Duration;

use common::*;
use palisade_engine::{Mode, Policy};

const COOKIE_SECRET: &str = "COOKIESECRET4711";
const AUTH_SECRET: &str = "AUTHSECRET0815";
const PASSWORD_SECRET: &str = "hunter2SECRET";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_page_reflects_nothing_from_the_request() {
    let up = start_upstream().await;
    let proxy = start_proxy(settings_for(&up.url()), Policy::default()).await;
    let target = format!("/search?q={MARKER}%3Cscript%3E&password={PASSWORD_SECRET}");
    let r = send_one(
        proxy.addr,
        req("GET", &target, "app.example.test")
            .header("cookie", format!("sid={COOKIE_SECRET}"))
            .header("authorization", format!("Bearer {AUTH_SECRET}"))
            .header("user-agent", "UA-VALUE-xyz")
            .body(empty_body())
            .expect("request"),
    )
    .await;
    assert_eq!(r.status, 403);
    assert!(r.header("content-type").starts_with("text/html"));
    let rid = r.header("x-request-id");
    assert_eq!(rid.len(), 32, "{rid}");
    let body = r.text();
    assert!(
        body.contains(&rid),
        "block page lacks the request id: {body}"
    );
    for leaked in [
        MARKER,
        "script",
        COOKIE_SECRET,
        AUTH_SECRET,
        PASSWORD_SECRET,
        "UA-VALUE",
        "app.example.test",
        "/search",
    ] {
        assert!(
            !contains_ci(body.as_bytes(), leaked.as_bytes()),
            "block page reflects {leaked:?}: {body}"
        );
        for (name, value) in r.headers.iter() {
            assert!(
                !contains_ci(value.as_bytes(), leaked.as_bytes()),
                "response header {name} reflects {leaked:?}"
            );
        }
    }

    // JSON for API clients.
    let r = send_one(
        proxy.addr,
        req("GET", &target, "app.example.test")
            .header("accept", "application/json")
            .body(empty_body())
            .expect("request"),
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.header("content-type"), "application/json");
    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON block body");
    assert_eq!(v["status"], 403);
    assert_eq!(v["request_id"], r.header("x-request-id"));
    assert_eq!(v["error"], "Request blocked");
    assert!(!r.text().contains(MARKER));

    // The marker is found wherever it hides: encoded in the query, in a form or JSON body,
    // in a cookie, in a header.
    let host = "app.example.test";
    let cases = vec![
        (
            "query, percent-encoded",
            req("GET", "/x?q=%65vil%2Dpayload", host).body(empty_body()),
        ),
        (
            "query, double-encoded",
            req("GET", "/x?q=%2565vil-payload", host).body(empty_body()),
        ),
        (
            "form body",
            req("POST", "/x", host)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(full_body(format!("a=1&comment=hello+{MARKER}+there"))),
        ),
        (
            "JSON body",
            req("POST", "/x", host)
                .header("content-type", "application/json")
                .body(full_body(format!(r#"{{"user":{{"bio":"{MARKER}"}}}}"#))),
        ),
        (
            "text body",
            req("PUT", "/x", host)
                .header("content-type", "text/plain; charset=utf-8")
                .body(full_body(format!("line one\nline {MARKER} two\n"))),
        ),
        (
            "cookie",
            req("GET", "/x", host)
                .header("cookie", format!("a=1; pref={MARKER}"))
                .body(empty_body()),
        ),
        (
            "header",
            req("GET", "/x", host)
                .header("x-custom", format!("zz {HEADER_MARKER} zz"))
                .body(empty_body()),
        ),
    ];
    let mut c = h1_connect(proxy.addr).await;
    for (name, request) in cases {
        let r = c.send(request.expect("request")).await;
        assert_eq!(r.status, 403, "{name}");
    }
    // ...and a near miss is not blocked.
    let r = c
        .send(
            req("GET", "/x?q=evil+payload", host)
                .body(empty_body())
                .expect("request"),
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(
        up.hits().iter().all(|h| !h.contains("search")),
        "{:?}",
        up.hits()
    );
    assert_eq!(up.hits().len(), 1, "{:?}", up.hits());
    assert_eq!(proxy.stat(|s| &s.blocked), 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detect_mode_forwards_and_audits_without_secrets() {
    let up = start_upstream().await;
    let dir = TempDir::new("detect");
    let audit = dir.0.join("audit.log");
    let mut settings = settings_for(&up.url());
    settings.audit_log = Some(audit.clone());
    settings.redact_args = vec!["pin".to_string()];
    let mut policy = Policy::default();
    policy.mode = Mode::Detect;
    let proxy = start_proxy_in(dir, settings, policy).await;
    // Markers in a normal argument and in secret places (password argument, custom redacted
    // argument, cookie, Authorization header), so that every redaction path is exercised.
    let target = format!(
        "/detect-probe?q={MARKER}-visible&password={MARKER}-{PASSWORD_SECRET}&pin={MARKER}-PIN9999&user=bob"
    );
    let r = send_one(
        proxy.addr,
        req("POST", &target, "app.example.test")
            .header(
                "cookie",
                format!("sid={MARKER}-{COOKIE_SECRET}; theme=dark"),
            )
            .header(
                "authorization",
                format!("Bearer {HEADER_MARKER}-{AUTH_SECRET}"),
            )
            .header("content-type", "application/x-www-form-urlencoded")
            .body(full_body(format!(
                "login=alice&passwd={MARKER}-{PASSWORD_SECRET}&note=hi"
            )))
            .expect("request"),
    )
    .await;
    assert_eq!(r.status, 200, "detect mode must forward: {}", r.text());
    assert_eq!(r.header("x-echo-method"), "POST");
    assert_eq!(r.header("x-echo-uri"), target);
    assert_eq!(proxy.stat(|s| &s.flagged), 1);
    assert_eq!(proxy.stat(|s| &s.blocked), 0);

    let (lines, text) = audit_lines(
        &audit,
        Duration::from_secs(5),
        |v| v["path"] == "/detect-probe",
        1,
    )
    .await;
    assert_eq!(lines.len(), 1, "audit log: {text}");
    let line = &lines[0];
    assert_eq!(line["action"], "flag");
    assert_eq!(line["mode"], "detect");
    assert_eq!(line["phase"], "request");
    assert_eq!(line["method"], "POST");
    assert_eq!(line["client_ip"], "127.0.0.1");
    assert!(line["score"].as_u64().unwrap_or(0) >= 5, "{line}");
    let targets: Vec<&str> = line["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .filter_map(|f| f["target"].as_str())
        .collect();
    for want in [
        "ARGS:q",
        "ARGS:password",
        "ARGS:pin",
        "ARGS:passwd",
        "REQUEST_COOKIES:sid",
        "REQUEST_HEADERS:Authorization",
    ] {
        assert!(
            targets.iter().any(|t| t.eq_ignore_ascii_case(want)),
            "no finding for {want}: {targets:?}"
        );
    }
    // Excerpts do carry values (so redaction matters)...
    let findings = line["findings"].as_array().expect("findings array");
    assert!(
        findings
            .iter()
            .any(|f| f["target"] == "ARGS:q" && f["excerpt"] == format!("{MARKER}-visible")),
        "{line}"
    );
    for f in findings {
        let t = f["target"].as_str().unwrap_or("");
        if t != "ARGS:q" && t != "REQUEST_BODY" {
            assert_eq!(f["excerpt"], "[redacted]", "{f}");
        }
    }
    // ...and the whole raw file, not only the parsed line, has no secret in clear.
    for secret in [PASSWORD_SECRET, COOKIE_SECRET, AUTH_SECRET, "PIN9999"] {
        assert!(!text.contains(secret), "audit log leaks {secret}: {text}");
    }
    assert!(
        line["query"]
            .as_str()
            .unwrap_or("")
            .contains("password=[redacted]"),
        "{line}"
    );
    assert!(
        line["query"].as_str().unwrap_or("").contains("user=bob"),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_inspection_withholds_leaks_but_not_binary_bodies() {
    let up = start_upstream().await;
    let dir = TempDir::new("resp");
    let audit = dir.0.join("audit.log");
    let mut settings = settings_for(&up.url());
    settings.audit_log = Some(audit.clone());
    let proxy = start_proxy_in(dir, settings, Policy::default()).await;

    let r = get(proxy.addr, "/leak").await;
    assert_eq!(r.status, 502);
    let body = r.text();
    assert!(body.contains("Response withheld"), "{body}");
    assert!(!body.contains(LEAK_TEXT), "{body}");
    assert!(body.contains(&r.header("x-request-id")));
    assert_eq!(proxy.stat(|s| &s.responses_blocked), 1);
    let (lines, text) = audit_lines(
        &audit,
        Duration::from_secs(5),
        |v| v["phase"] == "response",
        1,
    )
    .await;
    assert_eq!(lines.len(), 1, "{text}");
    assert_eq!(lines[0]["action"], "block");
    assert_eq!(lines[0]["status"], 500);

    // A binary response containing the same text is not inspected and passes untouched.
    let r = get(proxy.addr, "/leak?binary=1").await;
    assert_eq!(r.status, 500);
    assert_eq!(r.header("content-type"), "application/octet-stream");
    assert!(r.text().contains(LEAK_TEXT));
    assert_eq!(proxy.stat(|s| &s.responses_blocked), 1);

    // HEAD of the same page: nothing to inspect, headers pass.
    let r = send_one(
        proxy.addr,
        req("HEAD", "/leak", "h")
            .body(empty_body())
            .expect("request"),
    )
    .await;
    assert_eq!(r.status, 500);
    assert!(r.body.is_empty());

    // In detect mode the leak is logged but delivered.
    let up2 = start_upstream().await;
    let mut policy = Policy::default();
    policy.mode = Mode::Detect;
    let proxy = start_proxy(settings_for(&up2.url()), policy).await;
    let r = get(proxy.addr, "/leak").await;
    assert_eq!(r.status, 500);
    assert!(r.text().contains(LEAK_TEXT));
    assert_eq!(proxy.stat(|s| &s.responses_blocked), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_in_off_mode_streams_its_bodies_unread() {
    let up = start_upstream().await;
    let mut settings = settings_for(&up.url());
    // Bodies over 1 KB are refused where they would be inspected...
    settings.limits.inspect_body_bytes = 1024;
    settings.limits.oversize_body = palisade_proxy::settings::OversizeBody::Reject;
    let mut policy = Policy::default();
    policy.routes.push(
        palisade_engine::RoutePolicy::builder()
            .path_prefix("/raw/")
            .mode(Mode::Off)
            .build()
            .expect("route"),
    );
    let proxy = start_proxy(settings, policy).await;
    let mut body = b"<script>alert(document.cookie)</script>\n".to_vec();
    body.extend((0..4096u32).map(|i| (i % 251) as u8));
    let post = |path: &str| {
        req("POST", path, "app.example.test")
            .header("content-type", "text/plain")
            .body(full_body(body.clone()))
            .expect("request")
    };
    // ...but a route in mode `off` neither reads nor inspects them: forwarded byte-exact.
    let r = send_one(proxy.addr, post("/raw/upload")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.body.as_ref(), &body[..]);
    assert_eq!(proxy.stat(|s| &s.blocked), 0);
    assert_eq!(proxy.stat(|s| &s.rejected_too_large), 0);
    let r = send_one(proxy.addr, post("/other")).await;
    assert_eq!(r.status, 413);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_declared_binary_are_read_for_script_openers_and_forwarded_exact() {
    let up = start_upstream().await;
    let mut settings = settings_for(&up.url());
    settings.limits.inspect_body_bytes = 4096;
    settings.limits.oversize_body = palisade_proxy::settings::OversizeBody::Reject;
    let proxy = start_proxy(settings, Policy::default()).await;
    let put = |content_type: &str, body: Vec<u8>| {
        req("PUT", "/uploads/avatar.php", "app.example.test")
            .header("content-type", content_type)
            .body(full_body(body))
            .expect("request")
    };
    // a PHP shell behind a GIF header, declared an image: read and blocked (the test body
    // list holds MARKER)
    let shell = format!("GIF89a;<?php system($_GET['{MARKER}']); ?>").into_bytes();
    for ct in ["image/gif", "application/octet-stream"] {
        let r = send_one(proxy.addr, put(ct, shell.clone())).await;
        assert_eq!(r.status, 403, "{ct}");
    }
    assert!(up.hits().is_empty(), "{:?}", up.hits());

    // without a script opener a binary body is not matched by the body lists
    let plain = format!("GIF89a\x00{MARKER}").into_bytes();
    let r = send_one(proxy.addr, put("image/gif", plain)).await;
    assert_eq!(r.status, 200);
    // a real image larger than the inspected prefix: forwarded byte-exact, not refused
    let mut image = b"GIF89a".to_vec();
    image.extend(random_bytes(5, 20_000));
    let r = send_one(proxy.addr, put("image/gif", image.clone())).await;
    assert_eq!(r.status, 200);
    assert!(r.body == image);
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}

fn zlib(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("zlib");
    e.finish().expect("zlib")
}

/// Applications often inflate compressed request bodies before parsing them (Express's
/// body-parser does by default), so the WAF must read what they will read: the decoded
/// body is inspected, the client's bytes are forwarded unchanged, and a body that cannot
/// be decoded is refused rather than passed unread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressed_request_bodies_are_inspected_decoded_and_forwarded_as_sent() {
    let up = start_upstream().await;
    let proxy = start_proxy(settings_for(&up.url()), Policy::default()).await;
    let post = |path: &str, ct: &str, coding: &str, body: Vec<u8>| {
        req("POST", path, "app.example.test")
            .header("content-type", ct)
            .header("content-encoding", coding)
            .body(full_body(body))
            .expect("request")
    };
    let attack_json = format!("{{\"comment\":\"{MARKER}\"}}").into_bytes();
    let attack_form = format!("a=1&comment={MARKER}").into_bytes();
    for (coding, body) in [
        ("gzip", gzip(&attack_json)),
        ("x-gzip", gzip(&attack_json)),
        ("deflate", zlib(&attack_json)),
        ("deflate, gzip", gzip(&zlib(&attack_json))),
    ] {
        let r = send_one(proxy.addr, post("/api/c", "application/json", coding, body)).await;
        assert_eq!(r.status, 403, "{coding}");
    }
    let r = send_one(
        proxy.addr,
        post(
            "/form",
            "application/x-www-form-urlencoded",
            "gzip",
            gzip(&attack_form),
        ),
    )
    .await;
    assert_eq!(r.status, 403);
    // not decodable: unknown coding, corrupt data, plain text claimed to be gzip
    for (coding, body) in [
        ("zstd", b"(\xb5/\xfd\x00Xa\x00\x00".to_vec()),
        ("gzip", gzip(&attack_json)[..10].to_vec()),
        ("gzip", b"{\"comment\":\"hello\"}".to_vec()),
    ] {
        let r = send_one(proxy.addr, post("/api/c", "application/json", coding, body)).await;
        assert_eq!(r.status, 403, "{coding}");
    }
    assert!(up.hits().is_empty(), "{:?}", up.hits());

    // benign: forwarded byte-exact, still compressed
    let benign = gzip(br#"{"comment":"see you at 5, bring the gzip'd logs"}"#);
    let r = send_one(
        proxy.addr,
        post("/api/c", "application/json", "gzip", benign.clone()),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(
        r.body == benign,
        "forwarded body differs from what the client sent"
    );
    assert_eq!(r.header("x-echo-content-encoding"), "gzip");
}

/// A few KB of gzip can decode to gigabytes: decoding stops at `inspect_body_bytes`, and
/// the oversize policy then applies to the decoded size as to a plain body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decompression_is_bounded_by_the_inspection_limit() {
    let up = start_upstream().await;
    let mut bomb_text = format!("{{\"comment\":\"{MARKER}\",\"pad\":\"").into_bytes();
    bomb_text.resize(8 << 20, b'a');
    let bomb = gzip(&bomb_text);
    assert!(bomb.len() < 64 << 10, "{}", bomb.len());
    let mut late = b"{\"pad\":\"".to_vec();
    late.resize(100_000, b'a');
    late.extend_from_slice(format!("\",\"comment\":\"{MARKER}\"}}").as_bytes());
    let late = gzip(&late);
    let post = |body: Vec<u8>| {
        req("POST", "/api/c", "app.example.test")
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .body(full_body(body))
            .expect("request")
    };
    for (policy, bomb_status) in [
        (palisade_proxy::settings::OversizeBody::InspectPrefix, 403),
        (palisade_proxy::settings::OversizeBody::Reject, 413),
    ] {
        let mut settings = settings_for(&up.url());
        settings.limits.inspect_body_bytes = 4096;
        settings.limits.oversize_body = policy;
        let proxy = start_proxy(settings, Policy::default()).await;
        // the marker is in the first decoded bytes: found without decoding the rest
        let r = send_one(proxy.addr, post(bomb.clone())).await;
        assert_eq!(r.status, bomb_status, "{policy:?}");
        // past the inspected prefix of the decoded body: as for an uncompressed body, a
        // prefix is what inspect_prefix reads, and reject refuses the request
        let r = send_one(proxy.addr, post(late.clone())).await;
        let late_status = if bomb_status == 413 { 413 } else { 200 };
        assert_eq!(r.status, late_status, "{policy:?}");
    }
}

/// Records how many body arguments the request holds when it is inspected, and when the
/// response is.
struct BodyWatcher {
    reads_with_response: bool,
    seen: std::sync::Mutex<Vec<(&'static str, usize)>>,
}

impl palisade_engine::Detector for BodyWatcher {
    fn name(&self) -> &str {
        "body-watcher"
    }
    fn inspect_request(
        &self,
        request: &palisade_http::RequestModel,
        _paranoia: u8,
        _out: &mut Vec<palisade_engine::Finding>,
    ) {
        let args = request.body.as_ref().map_or(0, |b| b.args.len());
        self.seen.lock().expect("lock").push(("request", args));
    }
    fn inspect_response(
        &self,
        request: &palisade_http::RequestModel,
        _response: &palisade_engine::ResponseModel,
        _paranoia: u8,
        _out: &mut Vec<palisade_engine::Finding>,
    ) {
        let args = request.body.as_ref().map_or(0, |b| b.args.len());
        self.seen.lock().expect("lock").push(("response", args));
    }
    fn reads_request_body_with_response(&self) -> bool {
        self.reads_with_response
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_parsed_body_is_kept_for_the_response_only_when_a_detector_reads_it() {
    // A detector that says it reads the request's body with the response sees its
    // arguments then; otherwise they are freed once the request is inspected.
    for reads_with_response in [true, false] {
        let up = start_upstream().await;
        let watcher = std::sync::Arc::new(BodyWatcher {
            reads_with_response,
            seen: std::sync::Mutex::new(Vec::new()),
        });
        let mut policy = Policy::default();
        policy.compile().expect("valid policy");
        let engine = palisade_engine::Engine::new(vec![watcher.clone()], policy);
        let proxy =
            start_proxy_with_engine(TempDir::new("keep"), settings_for(&up.url()), engine).await;
        // (the upstream answers /leak with a text page, which is inspected)
        let r = send_one(
            proxy.addr,
            req("POST", "/leak", "h")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(full_body("a=1&b=2&c=3"))
                .expect("request"),
        )
        .await;
        assert_eq!(r.status, 500);
        let seen = watcher.seen.lock().expect("lock").clone();
        let in_response = if reads_with_response { 3 } else { 0 };
        assert_eq!(seen, vec![("request", 3), ("response", in_response)]);
    }
}
