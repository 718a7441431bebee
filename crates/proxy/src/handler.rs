//! One request's way through the proxy: head → model → body prefix → verdict → upstream →
//! (optionally buffered and inspected) response.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use http::header::{HeaderValue, ACCEPT, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, HOST};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{Request, Response, StatusCode, Uri, Version};
use http_body::Body as _;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use palisade_engine::audit::AuditRecord;
use palisade_engine::{Action, Mode, ResponseModel, Verdict};
use palisade_http::{is_binary_media_type, Headers, RequestModel};

use crate::body::{empty, full, incoming, PrefixedBody, ProxyBody};
use crate::cohort;
use crate::forward::{add_forwarding_headers, client_ip, strip_hop_by_hop};
use crate::pages;
use crate::settings::{OversizeBody, ResponseAction};
use crate::Shared;

/// Facts about the connection a request arrived on.
#[derive(Clone, Copy)]
pub struct ConnInfo {
    pub peer: SocketAddr,
    pub tls: bool,
}

/// 32 random lowercase hex digits.
pub fn new_request_id() -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let n: u128 = rand::random();
    let digits: Vec<u8> = (0..32)
        .rev()
        .map(|i| HEX[((n >> (i * 4)) & 0xf) as usize])
        .collect();
    String::from_utf8(digits).unwrap_or_default()
}

/// Where a request goes after inspection.
enum Destination {
    Demo,
    Upstream(Upstream),
}

/// Where requests go: an upstream URL's scheme and authority.
#[derive(Clone, Debug)]
pub(crate) struct Upstream {
    scheme: Scheme,
    authority: Authority,
}

pub(crate) fn parse_upstream(url: &str) -> Result<Upstream, String> {
    let uri: Uri = url
        .parse()
        .map_err(|e| format!("invalid upstream {url:?}: {e}"))?;
    let parts = uri.into_parts();
    let authority = parts
        .authority
        .ok_or_else(|| format!("upstream {url:?} has no host"))?;
    Ok(Upstream {
        scheme: parts.scheme.unwrap_or(Scheme::HTTP),
        authority,
    })
}

fn destination(shared: &Shared, url: Option<&str>) -> Result<Destination, String> {
    match (url, &shared.default_upstream) {
        (Some(url), _) => parse_upstream(url).map(Destination::Upstream),
        (None, Some(parsed)) => parsed.clone().map(Destination::Upstream),
        (None, None) => Ok(Destination::Demo),
    }
}

/// Reads `body` until it ends or more than `limit` bytes were read. Returns the bytes (at
/// most one frame past `limit`), trailers if the body ended, and the unread rest if it did
/// not. A body of exactly `limit` bytes without a declared length only shows its end on the
/// next read, so stopping at `limit` would mistake it for a longer one.
async fn read_prefix(
    mut body: Incoming,
    limit: usize,
) -> Result<(Bytes, Option<http::HeaderMap>, Option<Incoming>), hyper::Error> {
    // Sized once from the declared length (bounded by what is read at most): grown frame
    // by frame, a 20 KB body was copied again at each regrowth. A body that arrives as one
    // frame is kept as it came, without a copy.
    let expected = body.size_hint().exact().map_or(0, |n| n as usize);
    // the first frame, until a second one arrives (then both are in `buf`, and this is None)
    let mut first: Option<Bytes> = None;
    let mut buf = BytesMut::new();
    let joined = |first: Option<Bytes>, buf: BytesMut| first.unwrap_or_else(|| buf.freeze());
    while first.as_ref().map_or(0, Bytes::len) + buf.len() <= limit {
        match body.frame().await {
            None => return Ok((joined(first, buf), None, None)),
            Some(Err(e)) => return Err(e),
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) if first.is_none() && buf.is_empty() => first = Some(data),
                Ok(data) => {
                    if buf.is_empty() {
                        let head = first.take().unwrap_or_default();
                        buf.reserve(
                            expected
                                .max(head.len() + data.len())
                                .min(limit.saturating_add(data.len())),
                        );
                        buf.extend_from_slice(&head);
                    }
                    buf.extend_from_slice(&data);
                }
                Err(frame) => {
                    if let Ok(trailers) = frame.into_trailers() {
                        return Ok((joined(first, buf), Some(trailers), None));
                    }
                }
            },
        }
    }
    let rest = (!body.is_end_stream()).then_some(body);
    Ok((joined(first, buf), None, rest))
}

fn version_str(v: Version) -> &'static str {
    match v {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

/// Whether the request's one `Upgrade` header names only protocols in `allowed` (its
/// `name/version` tokens compared by name, without case). Several `Upgrade` headers, an
/// empty token or a value that is not text are refused: the upstream picks the protocol,
/// so every offered one must be acceptable.
fn upgrade_allowed(headers: &http::HeaderMap, allowed: &[String]) -> bool {
    let mut values = headers.get_all(http::header::UPGRADE).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return false;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    value.split(',').all(|token| {
        let name = token.split('/').next().unwrap_or("").trim();
        !name.is_empty() && allowed.iter().any(|a| a.eq_ignore_ascii_case(name))
    })
}

fn is_text_type(content_type: &str) -> bool {
    let ct = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    ct.starts_with("text/")
        || ct.ends_with("json")
        || ct.ends_with("xml")
        || ct.contains("javascript")
        || ct == "application/x-www-form-urlencoded"
}

pub async fn handle(
    shared: Arc<Shared>,
    conn: ConnInfo,
    mut req: Request<Incoming>,
) -> Response<ProxyBody> {
    let request_id = new_request_id();
    shared.stats.requests.fetch_add(1, Ordering::Relaxed);
    // (counted while the handler runs: its inspections join the worker's cohort)
    let _in_flight = cohort::InFlight::enter();
    // Whether an error page should be JSON: only worked out when one is sent (lowercasing
    // and searching `Accept` cost ~1.5k instructions on every request).
    let accept = req.headers().get(ACCEPT).cloned();
    let json = || pages::wants_json(accept.as_ref());
    // RFC 9112 §3.2: an HTTP/1.1 request without Host, or any request with more than one,
    // is answered 400. Two Hosts would also let the model inspect one while the upstream
    // routes on the other.
    let hosts = req.headers().get_all(HOST).iter().count();
    if hosts > 1 || (hosts == 0 && req.version() == Version::HTTP_11) {
        shared
            .stats
            .rejected_malformed
            .fetch_add(1, Ordering::Relaxed);
        return pages::error(StatusCode::BAD_REQUEST, &request_id, json());
    }
    // CONNECT asks for a raw tunnel, which a reverse proxy in front of an application does
    // not offer (and which would bypass inspection).
    if req.method() == http::Method::CONNECT {
        let mut resp = pages::error(StatusCode::METHOD_NOT_ALLOWED, &request_id, json());
        resp.headers_mut().insert(
            http::header::ALLOW,
            HeaderValue::from_static("GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"),
        );
        return resp;
    }
    let upgrade_requested = req.version() == Version::HTTP_11
        && req.headers().contains_key(http::header::UPGRADE)
        && req
            .headers()
            .get(http::header::CONNECTION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().contains("upgrade"))
        && {
            let allowed = upgrade_allowed(req.headers(), &shared.settings.upgrade_protocols);
            if !allowed {
                // forwarded as a plain request: `strip_hop_by_hop` drops `Upgrade`
                tracing::debug!(
                    request_id,
                    "upgrade to a protocol not in upgrade_protocols: not tunnelled"
                );
            }
            allowed
        };
    let client_upgrade = upgrade_requested.then(|| hyper::upgrade::on(&mut req));
    let (mut parts, body) = req.into_parts();

    // 1. Request model from the head.
    let peer_ip: IpAddr = conn.peer.ip();
    let trusted = &shared.settings.trusted_proxies;
    let peer_trusted = trusted.iter().any(|n| n.contains(&peer_ip));
    let real_ip = client_ip(peer_ip, &parts.headers, trusted);
    let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    // sized once (with room for a Host from the target): pushing one by one regrew it
    let mut headers = Headers(Vec::with_capacity(parts.headers.len() + 1));
    for (name, value) in parts.headers.iter() {
        headers.push(name.as_str(), value.as_bytes().to_vec());
    }
    if !parts.headers.contains_key(HOST) {
        if let Some(auth) = parts.uri.authority() {
            headers.push("host", auth.as_str().as_bytes().to_vec());
        }
    }
    let mut model = RequestModel::from_head(
        parts.method.as_str(),
        target,
        version_str(parts.version),
        headers,
    );
    model.client_ip = Some(real_ip);

    // 2. Body: refuse what is too large, buffer the inspected prefix.
    let limits = &shared.settings.limits;
    let declared_len = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if limits.max_body_bytes > 0 && declared_len.is_some_and(|n| n > limits.max_body_bytes) {
        shared
            .stats
            .rejected_too_large
            .fetch_add(1, Ordering::Relaxed);
        return pages::error(StatusCode::PAYLOAD_TOO_LARGE, &request_id, json());
    }
    // The engine as it is now serves the whole request (a reload meanwhile applies to the
    // next one). A route in mode `off` inspects nothing: its body streams through unread.
    let engine = shared.engine.load_full();
    let inspected_at_all = engine.policy().route_for(&model.host, &model.path).mode != Mode::Off;
    let mime = model.mime_type().unwrap_or_default();
    let mut body_len = 0usize;
    let forward_body: ProxyBody = if body.is_end_stream() {
        empty()
    } else if !inspected_at_all || limits.inspect_body_bytes == 0 {
        PrefixedBody::new(Bytes::new(), None, Some(body), limits.max_body_bytes).boxed()
    } else {
        let read = tokio::time::timeout(
            shared.settings.timeouts.client_body,
            read_prefix(body, limits.inspect_body_bytes),
        )
        .await;
        let (prefix, trailers, rest) = match read {
            Err(_) => {
                shared.stats.client_timeouts.fetch_add(1, Ordering::Relaxed);
                return pages::error(StatusCode::REQUEST_TIMEOUT, &request_id, json());
            }
            Ok(Err(e)) => {
                tracing::debug!(request_id, "client body read failed: {e}");
                return pages::error(StatusCode::BAD_REQUEST, &request_id, json());
            }
            Ok(Ok(read)) => read,
        };
        let truncated = rest.is_some() || prefix.len() > limits.inspect_body_bytes;
        body_len = prefix.len();
        let inspected = &prefix[..prefix.len().min(limits.inspect_body_bytes)];
        // a Content-Encoding is decoded for inspection (the client's bytes are forwarded);
        // the body counts as truncated when the received or the decoded bytes exceed the
        // inspected size
        model.attach_body_limited(
            prefix.slice(..inspected.len()),
            truncated,
            limits.inspect_body_bytes,
        );
        // Bodies declared binary are read too (their prefix): a web shell PUT as image/gif
        // behind a GIF89a header is read by the body lists when it holds a script opener.
        // An upload larger than the inspected prefix is not refused for it: a size limit
        // for files is max_body_bytes'.
        if model.body.as_ref().is_some_and(|b| b.truncated)
            && limits.oversize_body == OversizeBody::Reject
            && !is_binary_media_type(&mime)
        {
            shared
                .stats
                .rejected_too_large
                .fetch_add(1, Ordering::Relaxed);
            return pages::error(StatusCode::PAYLOAD_TOO_LARGE, &request_id, json());
        }
        PrefixedBody::new(prefix, trailers, rest, limits.max_body_bytes).boxed()
    };

    // 3. Verdict.
    let verdict = if engine.has_blocking_detectors() {
        // A detector waits for an inference worker: inspect on a blocking thread, not on
        // the async executor.
        let blocking = engine.clone();
        let inspected = tokio::task::spawn_blocking(move || {
            let verdict = blocking.inspect_request(&model);
            (model, verdict)
        })
        .await;
        match inspected {
            Ok((m, verdict)) => {
                model = m;
                verdict
            }
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => return pages::error(StatusCode::SERVICE_UNAVAILABLE, &request_id, json()),
        }
    } else if inspected_at_all {
        cohort::inspect(|| engine.inspect_request(&model)).await
    } else {
        // (mode `off`: nothing to group)
        engine.inspect_request(&model)
    };
    record(&shared, &request_id, &model, &verdict, "request", None);
    if !engine.reads_request_body_with_response() {
        model.release_parsed_body();
    }
    if let Some(line) = shared
        .observer
        .as_ref()
        .and_then(|o| o.observe(real_ip, &request_id, &verdict))
    {
        if let Some(audit) = &shared.audit {
            audit.write(line);
        }
    }
    if verdict.is_block() {
        shared.stats.blocked.fetch_add(1, Ordering::Relaxed);
        tracing::info!(request_id, client = %real_ip, score = verdict.score, "request blocked");
        return pages::blocked(&request_id, json());
    }
    match verdict.action {
        Action::Flag => shared.stats.flagged.fetch_add(1, Ordering::Relaxed),
        _ => shared.stats.allowed.fetch_add(1, Ordering::Relaxed),
    };

    // 4. Forward.
    let route_upstream = engine
        .policy()
        .matching_route(&model.host, &model.path)
        .and_then(|r| r.upstream.clone());
    let Upstream { scheme, authority } = match destination(&shared, route_upstream.as_deref()) {
        Ok(Destination::Demo) => return crate::demo::respond(&model, body_len),
        Ok(Destination::Upstream(upstream)) => upstream,
        Err(e) => {
            tracing::error!(request_id, "{e}");
            return pages::error(StatusCode::BAD_GATEWAY, &request_id, json());
        }
    };
    // The request's own path and query (already parsed by hyper), in origin form: the
    // pool connects to the upstream's scheme and authority.
    let mut uri_parts = http::uri::Parts::default();
    uri_parts.path_and_query = Some(
        parts
            .uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/")),
    );
    let uri = match Uri::from_parts(uri_parts) {
        Ok(u) => u,
        Err(_) => return pages::error(StatusCode::BAD_REQUEST, &request_id, json()),
    };
    strip_hop_by_hop(&mut parts.headers, upgrade_requested);
    if !parts.headers.contains_key(HOST) {
        if let Ok(v) = HeaderValue::from_str(&model.host) {
            parts.headers.insert(HOST, v);
        }
    }
    add_forwarding_headers(
        &mut parts.headers,
        peer_ip,
        peer_trusted,
        if conn.tls { "https" } else { "http" },
        &model.host,
    );
    parts.uri = uri;
    parts.version = Version::HTTP_11;
    let upstream_req = Request::from_parts(parts, forward_body);
    let sent = tokio::time::timeout(
        shared.settings.timeouts.upstream_response,
        shared.upstream.send(&scheme, &authority, upstream_req),
    )
    .await;
    let mut resp = match sent {
        Err(_) => {
            shared
                .stats
                .upstream_timeouts
                .fetch_add(1, Ordering::Relaxed);
            tracing::warn!(request_id, upstream = %authority, "upstream timed out");
            return pages::error(StatusCode::GATEWAY_TIMEOUT, &request_id, json());
        }
        Ok(Err(e)) => {
            // The request body is streamed while the request is sent, so a failure here may
            // be the client's (body too large, broken chunked encoding): the cause sits a
            // few levels down the error chain (client error → hyper error → body error).
            if has_cause::<crate::body::BodyTooLarge>(&e) {
                shared
                    .stats
                    .rejected_too_large
                    .fetch_add(1, Ordering::Relaxed);
                return pages::error(StatusCode::PAYLOAD_TOO_LARGE, &request_id, json());
            }
            if has_cause::<crate::body::ClientBodyError>(&e) {
                tracing::debug!(request_id, "client body failed while forwarding: {e}");
                return pages::error(StatusCode::BAD_REQUEST, &request_id, json());
            }
            shared.stats.upstream_errors.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(request_id, upstream = %authority, "upstream error: {e}");
            return pages::error(StatusCode::BAD_GATEWAY, &request_id, json());
        }
        Ok(Ok(resp)) => resp,
    };

    // 5. Response: upgrades are tunnelled; text responses may be inspected.
    if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
        if let Some(client_upgrade) = client_upgrade {
            let upstream_upgrade = hyper::upgrade::on(&mut resp);
            tokio::spawn(async move {
                match tokio::try_join!(client_upgrade, upstream_upgrade) {
                    Ok((client, upstream)) => {
                        let mut client = TokioIo::new(client);
                        let mut upstream = TokioIo::new(upstream);
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                    }
                    Err(e) => tracing::debug!("upgrade failed: {e}"),
                }
            });
            let (mut rparts, _) = resp.into_parts();
            strip_hop_by_hop(&mut rparts.headers, true);
            return Response::from_parts(rparts, empty());
        }
    }
    let (mut rparts, rbody) = resp.into_parts();
    strip_hop_by_hop(&mut rparts.headers, false);
    let rsettings = &shared.settings.response;
    let content_type = rparts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let encoded = rparts
        .headers
        .get(CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|e| !e.trim().eq_ignore_ascii_case("identity"));
    let resp_len = rparts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let inspect_response = rsettings.enabled
        && verdict.mode != Mode::Off
        && model.method != "HEAD"
        && !encoded
        && is_text_type(&content_type)
        && resp_len.is_none_or(|n| n <= rsettings.max_bytes as u64)
        && !rbody.is_end_stream();
    if !inspect_response {
        return Response::from_parts(rparts, incoming(rbody));
    }
    let (prefix, trailers, rest) = match tokio::time::timeout(
        shared.settings.timeouts.upstream_response,
        read_prefix(rbody, rsettings.max_bytes),
    )
    .await
    {
        Err(_) => {
            shared
                .stats
                .upstream_timeouts
                .fetch_add(1, Ordering::Relaxed);
            return pages::error(StatusCode::GATEWAY_TIMEOUT, &request_id, json());
        }
        Ok(Err(e)) => {
            shared.stats.upstream_errors.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(request_id, "upstream body error: {e}");
            return pages::error(StatusCode::BAD_GATEWAY, &request_id, json());
        }
        Ok(Ok(read)) => read,
    };
    if rest.is_none() && prefix.len() <= rsettings.max_bytes {
        let mut headers = Headers(Vec::with_capacity(rparts.headers.len()));
        for (n, v) in rparts.headers.iter() {
            headers.push(n.as_str(), v.as_bytes().to_vec());
        }
        let response_model = ResponseModel {
            status: rparts.status.as_u16(),
            headers,
            content_type: content_type
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase(),
            body: prefix.to_vec(),
        };
        let out_verdict =
            cohort::inspect(|| engine.inspect_response(&model, &response_model)).await;
        record(
            &shared,
            &request_id,
            &model,
            &out_verdict,
            "response",
            Some(rparts.status.as_u16()),
        );
        if out_verdict.is_block() && rsettings.action == ResponseAction::Replace {
            shared
                .stats
                .responses_blocked
                .fetch_add(1, Ordering::Relaxed);
            tracing::info!(request_id, score = out_verdict.score, "response withheld");
            return pages::page(
                StatusCode::BAD_GATEWAY,
                "Response withheld",
                "The application's response was withheld by the web application firewall.",
                &request_id,
                json(),
            );
        }
        let body = match trailers {
            Some(t) => PrefixedBody::new(prefix, Some(t), None, 0).boxed(),
            None => full(prefix),
        };
        return Response::from_parts(rparts, body);
    }
    // Larger than announced: pass it on uninspected.
    Response::from_parts(rparts, PrefixedBody::new(prefix, trailers, rest, 0).boxed())
}

/// Whether `T` is anywhere in `err`'s source chain (including `err` itself).
fn has_cause<T: std::error::Error + 'static>(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(err);
    while let Some(e) = current {
        if e.is::<T>() {
            return true;
        }
        current = e.source();
    }
    false
}

/// Writes the audit line for a flagged or blocked verdict.
fn record(
    shared: &Shared,
    request_id: &str,
    model: &RequestModel,
    verdict: &Verdict,
    phase: &'static str,
    status: Option<u16>,
) {
    if verdict.action == Action::Allow {
        return;
    }
    let Some(audit) = &shared.audit else { return };
    let mut rec = AuditRecord::new(request_id, model, verdict, phase, &shared.redactor);
    rec.status = status.or(verdict.is_block().then_some(403));
    audit.write(rec.to_json_line());
}

#[cfg(test)]
mod tests {
    #[test]
    fn request_ids_are_32_lowercase_hex_digits_and_differ() {
        let a = super::new_request_id();
        let b = super::new_request_id();
        assert_eq!(a.len(), 32);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)));
        assert_ne!(a, b);
    }

    #[test]
    fn only_listed_upgrade_protocols_are_allowed() {
        let allowed = ["websocket".to_string()];
        let with = |values: &[&str]| {
            let mut h = http::HeaderMap::new();
            for v in values {
                h.append(
                    http::header::UPGRADE,
                    http::HeaderValue::from_str(v).expect("header value"),
                );
            }
            super::upgrade_allowed(&h, &allowed)
        };
        assert!(with(&["websocket"]));
        assert!(with(&["WebSocket"]));
        assert!(with(&[" websocket/13 "]));
        assert!(!with(&["h2c"]));
        assert!(!with(&["websocket, h2c"]));
        assert!(!with(&["h2c, websocket"]));
        assert!(!with(&["websocket", "h2c"]));
        assert!(!with(&["websocket,"]));
        assert!(!with(&["HTTP/2.0"]));
        assert!(!with(&[]));
        assert!(super::upgrade_allowed(
            &{
                let mut h = http::HeaderMap::new();
                h.insert(
                    http::header::UPGRADE,
                    http::HeaderValue::from_static("TLS/1.2"),
                );
                h
            },
            &["tls".to_string()]
        ));
    }
}
