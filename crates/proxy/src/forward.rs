//! Proxy header semantics: hop-by-hop removal, the real client IP behind trusted proxies,
//! and the `X-Forwarded-*` / `Forwarded` headers sent upstream.

use std::net::IpAddr;

use http::header::{HeaderMap, HeaderName, HeaderValue};
use ipnet::IpNet;

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1). Names are
/// lowercase in a `HeaderName`, so one compiled `match` on the text decides.
fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "te"
            | "transfer-encoding"
            | "upgrade"
    )
}
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// Removes hop-by-hop headers, including those listed in `Connection`. When `keep_upgrade`
/// is set (a WebSocket handshake), `Connection: upgrade` and `Upgrade` are kept.
pub fn strip_hop_by_hop(headers: &mut HeaderMap, keep_upgrade: bool) {
    // One pass over the names, collecting the hop-by-hop ones present: most messages carry
    // none or only `Connection`, and a removal hashes the name even when it is absent.
    let mut doomed: Vec<HeaderName> = headers
        .keys()
        .filter(|k| is_hop_by_hop(k))
        .cloned()
        .collect();
    if doomed.is_empty() {
        return;
    }
    // and every name `Connection` lists
    doomed.extend(
        headers
            .get_all(http::header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
            .filter(|name| !is_hop_by_hop(name)),
    );
    let upgrade = if keep_upgrade {
        headers.get(http::header::UPGRADE).cloned()
    } else {
        None
    };
    for name in doomed {
        headers.remove(name);
    }
    if let Some(up) = upgrade {
        headers.insert(
            http::header::CONNECTION,
            HeaderValue::from_static("upgrade"),
        );
        headers.insert(http::header::UPGRADE, up);
    }
}

/// The client's address: the peer, or — when the peer is a trusted proxy — the right-most
/// address in `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let chain: Vec<IpAddr> = headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| parse_forwarded_ip(s.trim()))
        .collect();
    chain
        .iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .copied()
        .unwrap_or(peer)
}

fn parse_forwarded_ip(s: &str) -> Option<IpAddr> {
    let s = s.trim_matches('"');
    if let Ok(ip) = s.parse() {
        return Some(ip);
    }
    // "[v6]:port" or "v4:port"
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    s.rsplit_once(':')?.0.parse().ok()
}

/// Appends the peer to `X-Forwarded-For`, sets `X-Forwarded-Proto` (kept from a trusted
/// proxy), and appends an RFC 7239 `Forwarded` element.
pub fn add_forwarding_headers(
    headers: &mut HeaderMap,
    peer: IpAddr,
    peer_trusted: bool,
    proto: &str,
    host: &str,
) {
    // Merge repeated X-Forwarded-For lines into one list (all of them, in order: a second
    // line is as much part of the chain as the first, and `client_ip` reads them all).
    // Sized once: growing a string push by push reallocated it several times per request.
    let mut xff = joined(headers, &X_FORWARDED_FOR).unwrap_or_else(|| String::with_capacity(48));
    if !xff.is_empty() {
        xff.push_str(", ");
    }
    push_ip(&mut xff, peer);
    if let Ok(v) = HeaderValue::from_maybe_shared(bytes::Bytes::from(xff)) {
        // insert replaces every previous line
        headers.insert(X_FORWARDED_FOR, v);
    }
    if !(peer_trusted && headers.contains_key(X_FORWARDED_PROTO)) {
        headers.insert(
            X_FORWARDED_PROTO,
            HeaderValue::from_static(if proto == "https" { "https" } else { "http" }),
        );
    }
    let mut forwarded = joined(headers, &http::header::FORWARDED)
        .unwrap_or_else(|| String::with_capacity(64 + host.len()));
    if !forwarded.is_empty() {
        forwarded.push_str(", ");
    }
    match peer {
        IpAddr::V4(_) => {
            forwarded.push_str("for=");
            push_ip(&mut forwarded, peer);
        }
        IpAddr::V6(_) => {
            forwarded.push_str("for=\"[");
            push_ip(&mut forwarded, peer);
            forwarded.push_str("]\"");
        }
    }
    forwarded.push_str(";proto=");
    forwarded.push_str(proto);
    if !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
    {
        // RFC 7239 values are tokens or quoted-strings: `host:port`, `[v6]` (and anything
        // else with a non-token character such as `;` or `,`) must be quoted.
        forwarded.push_str(";host=");
        if host.bytes().all(is_tchar) {
            forwarded.push_str(host);
        } else {
            forwarded.push('"');
            forwarded.push_str(host);
            forwarded.push('"');
        }
    }
    if let Ok(v) = HeaderValue::from_maybe_shared(bytes::Bytes::from(forwarded)) {
        headers.insert(http::header::FORWARDED, v);
    }
}

/// Appends `ip` as text: IPv4 digit by digit (this runs twice per request and the
/// formatting machinery cost more than the rest of the header work), IPv6 through `Display`.
fn push_ip(out: &mut String, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                if octet >= 100 {
                    out.push(char::from(b'0' + octet / 100));
                }
                if octet >= 10 {
                    out.push(char::from(b'0' + octet / 10 % 10));
                }
                out.push(char::from(b'0' + octet % 10));
            }
        }
        IpAddr::V6(v6) => {
            use std::fmt::Write as _;
            let _ = write!(out, "{v6}");
        }
    }
}

/// Every non-empty line of a list header, joined with `, `; None when there is none.
fn joined(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    let parts: Vec<&str> = headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// RFC 9110 `tchar`: the characters allowed in a token.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(*n, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn ip_text_matches_display() {
        let mut samples: Vec<IpAddr> = vec![
            "0.0.0.0".parse().unwrap(),
            "255.255.255.255".parse().unwrap(),
            "10.0.100.9".parse().unwrap(),
            "::1".parse().unwrap(),
            "2001:db8::8a2e:370:7334".parse().unwrap(),
        ];
        for o in 0..=255u8 {
            samples.push(IpAddr::from([o, 255 - o, o / 3, o.wrapping_mul(7)]));
        }
        for ip in samples {
            let mut s = String::from("x");
            push_ip(&mut s, ip);
            assert_eq!(s, format!("x{ip}"));
        }
    }

    #[test]
    fn strips_every_hop_by_hop_header_in_any_case_and_nothing_else() {
        let names = [
            "Connection",
            "Keep-Alive",
            "Proxy-Connection",
            "Proxy-Authenticate",
            "Proxy-Authorization",
            "TE",
            "Transfer-Encoding",
            "Upgrade",
        ];
        let mut h = HeaderMap::new();
        for n in names {
            h.append(
                HeaderName::from_bytes(n.as_bytes()).expect("valid name"),
                HeaderValue::from_static("x"),
            );
        }
        h.append("x-keep", HeaderValue::from_static("1"));
        h.append("te-not", HeaderValue::from_static("1"));
        strip_hop_by_hop(&mut h, false);
        let mut left: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
        left.sort_unstable();
        assert_eq!(left, ["te-not", "x-keep"]);
        // nothing hop-by-hop: untouched
        let mut plain = map(&[("content-type", "text/plain"), ("x-a", "1")]);
        strip_hop_by_hop(&mut plain, false);
        assert_eq!(plain.len(), 2);
    }

    #[test]
    fn strips_hop_by_hop_and_connection_listed() {
        let mut h = map(&[
            ("connection", "keep-alive, x-secret-hop"),
            ("x-secret-hop", "1"),
            ("keep-alive", "timeout=5"),
            ("transfer-encoding", "chunked"),
            ("set-cookie", "a=1"),
            ("set-cookie", "b=2"),
        ]);
        strip_hop_by_hop(&mut h, false);
        assert!(h.get("x-secret-hop").is_none());
        assert!(h.get("connection").is_none());
        assert!(h.get("transfer-encoding").is_none());
        assert_eq!(h.get_all("set-cookie").iter().count(), 2);
    }

    #[test]
    fn keeps_upgrade_for_websocket() {
        let mut h = map(&[("connection", "Upgrade"), ("upgrade", "websocket")]);
        strip_hop_by_hop(&mut h, true);
        assert_eq!(h.get("upgrade").unwrap(), "websocket");
        assert_eq!(h.get("connection").unwrap(), "upgrade");
    }

    #[test]
    fn client_ip_only_trusts_configured_proxies() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let h = map(&[("x-forwarded-for", "6.6.6.6, 203.0.113.7, 10.1.1.1")]);
        // untrusted peer: its XFF is ignored (spoofable)
        assert_eq!(
            client_ip("198.51.100.1".parse().unwrap(), &h, &trusted),
            "198.51.100.1".parse::<IpAddr>().unwrap()
        );
        // trusted peer: right-most untrusted entry
        assert_eq!(
            client_ip("10.0.0.2".parse().unwrap(), &h, &trusted),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn forwarding_headers_append() {
        let mut h = map(&[
            ("x-forwarded-for", "203.0.113.7"),
            ("x-forwarded-proto", "https"),
        ]);
        add_forwarding_headers(
            &mut h,
            "10.0.0.2".parse().unwrap(),
            false,
            "http",
            "shop.example.com",
        );
        assert_eq!(h.get("x-forwarded-for").unwrap(), "203.0.113.7, 10.0.0.2");
        // untrusted peer cannot claim https
        assert_eq!(h.get("x-forwarded-proto").unwrap(), "http");
        assert_eq!(
            h.get("forwarded").unwrap(),
            "for=10.0.0.2;proto=http;host=shop.example.com"
        );
        // a port (or any other non-token character) needs a quoted-string
        let mut h = HeaderMap::new();
        add_forwarding_headers(&mut h, "10.0.0.2".parse().unwrap(), false, "http", "h:8080");
        assert_eq!(
            h.get("forwarded").unwrap(),
            "for=10.0.0.2;proto=http;host=\"h:8080\""
        );
        // repeated lines are one list
        let mut h = map(&[
            ("x-forwarded-for", "1.1.1.1"),
            ("x-forwarded-for", "2.2.2.2"),
        ]);
        add_forwarding_headers(&mut h, "10.0.0.2".parse().unwrap(), false, "http", "");
        assert_eq!(
            h.get("x-forwarded-for").unwrap(),
            "1.1.1.1, 2.2.2.2, 10.0.0.2"
        );
        let mut h = HeaderMap::new();
        add_forwarding_headers(&mut h, "::1".parse().unwrap(), false, "https", "");
        assert_eq!(h.get("forwarded").unwrap(), "for=\"[::1]\";proto=https");
    }
}
