//! Proxy settings: listeners, TLS, upstreams, timeouts, limits, inspection sizes, audit log.
//!
//! Deserialized from the `[proxy]` table of the config file; every field has a default so an
//! empty table is a working configuration.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use serde::{Deserialize, Deserializer};

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProxySettings {
    /// Where to listen. Default: one plain listener on 127.0.0.1:8080.
    pub listen: Vec<ListenerSettings>,
    /// Default upstream (`http://host:port` or `https://...`). None: the built-in demo app.
    pub upstream: Option<String>,
    /// Skip verification of upstream TLS certificates (testing only).
    pub upstream_insecure: bool,
    /// Extra PEM CA bundle trusted for upstream TLS (besides the built-in web PKI roots).
    pub upstream_ca: Option<PathBuf>,
    /// Peers whose `X-Forwarded-For` is believed (load balancers, CDNs).
    pub trusted_proxies: Vec<IpNet>,
    /// Protocols a client may switch to with `Upgrade` (compared without case). The tunnel
    /// after a `101` is not inspected, so only protocols meant to be tunnelled belong here:
    /// an `h2c` upgrade would hand the client an HTTP/2 connection to the upstream that
    /// every later request travels uninspected (h2c smuggling). A request asking for any
    /// other protocol is forwarded as an ordinary request, without its `Upgrade` header.
    pub upgrade_protocols: Vec<String>,
    pub timeouts: Timeouts,
    pub limits: Limits,
    pub response: ResponseInspection,
    /// Append one JSON line per blocked or flagged request here.
    pub audit_log: Option<PathBuf>,
    /// Extra argument-name substrings whose values are redacted in the audit log.
    pub redact_args: Vec<String>,
    /// Worker threads, each running its own event loop and upstream connection pool (the
    /// nginx model: a connection lives on one thread, no cross-thread wake-ups). 0: one per
    /// CPU core.
    pub workers: usize,
    /// Pin each worker thread to one CPU of those the process may run on, when there is
    /// one worker per such CPU (see `affinity`). Off: the kernel's scheduler places and
    /// moves them.
    pub pin_workers: bool,
}

impl Default for ProxySettings {
    fn default() -> Self {
        ProxySettings {
            listen: vec![ListenerSettings::default()],
            upstream: None,
            upstream_insecure: false,
            upstream_ca: None,
            trusted_proxies: Vec::new(),
            upgrade_protocols: vec!["websocket".to_string()],
            timeouts: Timeouts::default(),
            limits: Limits::default(),
            response: ResponseInspection::default(),
            audit_log: None,
            redact_args: Vec::new(),
            workers: 0,
            pin_workers: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ListenerSettings {
    pub addr: SocketAddr,
    /// TLS certificates; the first is served when SNI matches none (or is absent).
    pub tls: Vec<CertSettings>,
}

impl Default for ListenerSettings {
    fn default() -> Self {
        ListenerSettings {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            tls: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertSettings {
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// SNI names this certificate answers (`*.example.com` allowed). Empty: default only.
    #[serde(default)]
    pub names: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Timeouts {
    /// Client must send the whole request head within this time; also bounds keep-alive idle.
    #[serde(deserialize_with = "duration")]
    pub client_header: Duration,
    /// Client must send the inspected part of the body within this time (else 408).
    #[serde(deserialize_with = "duration")]
    pub client_body: Duration,
    #[serde(deserialize_with = "duration")]
    pub upstream_connect: Duration,
    /// Upstream must send response headers within this time (else 504).
    #[serde(deserialize_with = "duration")]
    pub upstream_response: Duration,
    /// Pooled upstream connections idle this long are not reused: the pool closes them at
    /// its next request (it runs no timer of its own).
    #[serde(deserialize_with = "duration")]
    pub upstream_idle: Duration,
    /// On SIGTERM, in-flight requests get this long to finish.
    #[serde(deserialize_with = "duration")]
    pub shutdown_grace: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            client_header: Duration::from_secs(30),
            client_body: Duration::from_secs(60),
            upstream_connect: Duration::from_secs(5),
            upstream_response: Duration::from_secs(60),
            upstream_idle: Duration::from_secs(90),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// What to do with a body larger than `inspect_body_bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OversizeBody {
    /// Inspect the first `inspect_body_bytes`, stream the rest uninspected.
    #[default]
    InspectPrefix,
    /// Answer 413 (not for bodies of a binary type, uploads, whose prefix is read for
    /// server script openers only).
    Reject,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest request head (request line + headers), in bytes. Larger: 431.
    pub max_header_bytes: usize,
    /// Most request headers. More: 431.
    pub max_headers: usize,
    /// Largest request body; larger: 413. 0 = unlimited.
    pub max_body_bytes: u64,
    /// Bodies are buffered and inspected up to this size.
    pub inspect_body_bytes: usize,
    pub oversize_body: OversizeBody,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_header_bytes: 64 * 1024,
            max_headers: 100,
            max_body_bytes: 100 * 1024 * 1024,
            inspect_body_bytes: 1024 * 1024,
            oversize_body: OversizeBody::InspectPrefix,
        }
    }
}

/// What to do when a response trips the outbound threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ResponseAction {
    /// Replace the response with a 502 error page (in `block` mode).
    #[default]
    Replace,
    /// Log only.
    Log,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResponseInspection {
    pub enabled: bool,
    /// Text responses up to this size are buffered and inspected; larger ones stream through.
    pub max_bytes: usize,
    pub action: ResponseAction,
}

impl Default for ResponseInspection {
    fn default() -> Self {
        ResponseInspection {
            enabled: true,
            max_bytes: 512 * 1024,
            action: ResponseAction::Replace,
        }
    }
}

/// Parses `250ms`, `30s`, `5m`, `1h`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("invalid duration {text:?} (examples: 250ms, 30s, 5m)"))?;
    let secs = match unit.trim() {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        other => return Err(format!("unknown duration unit {other:?} in {text:?}")),
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("invalid duration {text:?}"));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Secs(u64),
    }
    match Raw::deserialize(d)? {
        Raw::Text(t) => parse_duration(&t).map_err(serde::de::Error::custom),
        Raw::Secs(s) => Ok(Duration::from_secs(s)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
        assert!(parse_duration("7 fortnights").is_err());
        assert!(parse_duration("").is_err());
    }
}
