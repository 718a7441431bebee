//! The `[ips]` section of the configuration file: what `setup`, `run`, the ban commands and
//! the WAF-to-ban bridge read. Every field has a default, so an empty section works.

use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use serde::{Deserialize, Deserializer};

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IpsSettings {
    /// Name of Palisade's own nftables table (`inet` family).
    pub table: String,
    /// Destination ports sent to the verdict daemon.
    pub ports: Vec<u16>,
    /// Transport protocols sent to the verdict daemon: "tcp", "udp".
    pub protocols: Vec<String>,
    /// Also queue TCP SYNs to every other port, so port scans are seen (the other ports'
    /// established traffic stays in the kernel).
    pub syn_all_ports: bool,
    /// First NFQUEUE number; the daemon uses `queues` consecutive numbers from here.
    pub queue_base: u16,
    /// Number of queues (and verdict threads); 0: one per CPU core.
    pub queues: u16,
    /// Microseconds a verdict thread waits before its next receive when packets stream in
    /// (receives less than 1 ms apart) but the last receive took fewer than 32: more
    /// packets then come per system call and per wake-up, so less CPU per verdict under
    /// load, in the daemon and in the kernel's wake-ups (bench/ips.sh, 2026-12-01: daemon
    /// 1.52 us per verdict at 100 us, 1.3 at 250 us; flat-out verdicts/s 287k at 100 us,
    /// 312k-323k at 250 us), for about this much added latency per packet under load (a
    /// sleep: at least this long, plus the scheduler's slack). Occasional packets are never
    /// delayed. 0: no wait.
    pub batch_wait_us: u32,
    /// Drop queued traffic when no daemon is listening (default: let it through).
    pub fail_closed: bool,
    /// Sources never dropped or banned (anti-lockout); checked first, in the kernel.
    pub allow: Vec<IpNet>,
    /// Sources dropped in the kernel on every port.
    pub deny: Vec<IpNet>,
    /// Allow-list files (one address or CIDR per line) loaded by the daemon.
    pub allow_lists: Vec<PathBuf>,
    /// Deny-list files (plain or Emerging Threats format) loaded by the daemon.
    pub deny_lists: Vec<PathBuf>,
    /// Ban the sources of denied packets too (so they are dropped in the kernel afterwards).
    pub ban_denied: bool,
    /// TTL of bans raised by detections and by `ban` without `--ttl`.
    #[serde(deserialize_with = "duration")]
    pub ban_ttl: Duration,
    /// Where bans are persisted across restarts.
    pub state_file: PathBuf,
    /// Unix socket of the running daemon's control interface.
    pub control_socket: PathBuf,
    pub detect: DetectSettings,
    /// Payload signatures checked on the first packets of each flow.
    pub signatures: Vec<SignatureSettings>,
    /// Bans raised by the WAF (`palisade serve`).
    pub waf: WafBanSettings,
}

impl Default for IpsSettings {
    fn default() -> Self {
        IpsSettings {
            table: "palisade".into(),
            ports: vec![80, 443],
            protocols: vec!["tcp".into()],
            syn_all_ports: true,
            queue_base: 4200,
            queues: 0,
            batch_wait_us: 250,
            fail_closed: false,
            allow: Vec::new(),
            deny: Vec::new(),
            allow_lists: Vec::new(),
            deny_lists: Vec::new(),
            ban_denied: false,
            ban_ttl: Duration::from_secs(600),
            state_file: PathBuf::from("/var/lib/palisade/ips-bans.json"),
            control_socket: PathBuf::from("/run/palisade/ips.sock"),
            detect: DetectSettings::default(),
            signatures: Vec::new(),
            waf: WafBanSettings::default(),
        }
    }
}

/// Per-source thresholds. A source crossing any of them is banned for `ban_ttl`.
/// 0 disables a check.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DetectSettings {
    /// Sliding window for the rate and scan counters.
    #[serde(deserialize_with = "duration")]
    pub window: Duration,
    /// Queued packets per second from one source (a single fast upload can reach tens of
    /// thousands: keep this well above the largest legitimate transfer).
    pub packets_per_sec: u32,
    /// New connections (TCP SYN, first UDP packet of a flow) per second from one source.
    pub new_conns_per_sec: u32,
    /// TCP SYNs per window from one source (SYN flood).
    pub syn_per_window: u32,
    /// Distinct destination ports per window from one source (port scan).
    pub distinct_ports: u32,
    /// Packets of each flow whose payload is checked against the signatures.
    pub signature_packets: u32,
}

impl Default for DetectSettings {
    fn default() -> Self {
        DetectSettings {
            window: Duration::from_secs(10),
            packets_per_sec: 50_000,
            new_conns_per_sec: 200,
            syn_per_window: 1000,
            distinct_ports: 20,
            signature_packets: 4,
        }
    }
}

/// A payload signature in Suricata `content` syntax: text with `|41 42|` hex blocks.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureSettings {
    pub name: String,
    pub content: String,
    /// Match ASCII case-insensitively.
    #[serde(default)]
    pub nocase: bool,
    /// Only on these destination ports (empty: all queued ports).
    #[serde(default)]
    pub ports: Vec<u16>,
}

/// WAF verdicts that turn into packet-level bans.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WafBanSettings {
    pub enabled: bool,
    /// Ban after this many blocked requests within `window` (0: off).
    pub blocked_requests: u32,
    /// Ban after this many anomaly points within `window` (0: off).
    pub anomaly_points: u32,
    #[serde(deserialize_with = "duration")]
    pub window: Duration,
    /// TTL of WAF bans (default: `ban_ttl`).
    #[serde(deserialize_with = "opt_duration")]
    pub ttl: Option<Duration>,
}

impl Default for WafBanSettings {
    fn default() -> Self {
        WafBanSettings {
            enabled: false,
            blocked_requests: 10,
            anomaly_points: 0,
            window: Duration::from_secs(60),
            ttl: None,
        }
    }
}

/// Parses `500ms`, `30s`, `5m`, `2h`, `1d` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().ok()?;
    let secs = match unit.trim() {
        "ms" => return Some(Duration::from_millis(n)),
        "" | "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    Some(Duration::from_secs(secs))
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    parse_duration(&s).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "invalid duration {s:?} (use e.g. 500ms, 30s, 5m, 1h)"
        ))
    })
}

fn opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    duration(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_section_and_rejects_unknown_keys() {
        let s: IpsSettings = toml::from_str(
            r#"
            ports = [80, 443, 8443]
            protocols = ["tcp", "udp"]
            allow = ["192.0.2.0/24", "2001:db8::/32"]
            deny_lists = ["/etc/palisade/compromised-ips.txt"]
            ban_ttl = "15m"
            batch_wait_us = 0
            [detect]
            window = "5s"
            distinct_ports = 30
            [[signatures]]
            name = "shellshock"
            content = "() {|20|:;"
            [waf]
            enabled = true
            blocked_requests = 5
            window = "2m"
            ttl = "1h"
            "#,
        )
        .expect("parses");
        assert_eq!(s.ports, vec![80, 443, 8443]);
        assert_eq!(s.ban_ttl, Duration::from_secs(900));
        assert_eq!(s.batch_wait_us, 0);
        assert_eq!(IpsSettings::default().batch_wait_us, 250);
        assert_eq!(s.detect.window, Duration::from_secs(5));
        assert_eq!(
            s.detect.syn_per_window,
            DetectSettings::default().syn_per_window
        );
        assert_eq!(s.waf.ttl, Some(Duration::from_secs(3600)));
        assert!(!s.fail_closed, "fail-open is the default");
        let err = toml::from_str::<IpsSettings>("whitelist = []").unwrap_err();
        assert!(err.to_string().contains("whitelist"), "{err}");
        let err = toml::from_str::<IpsSettings>("ban_ttl = \"soon\"").unwrap_err();
        assert!(err.to_string().contains("invalid duration"), "{err}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_duration("5x"), None);
        assert_eq!(parse_duration(""), None);
    }
}
