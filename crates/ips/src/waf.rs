//! WAF verdicts → packet-level bans: counts blocked requests and anomaly points per real
//! client address over a window, and says when a client crossed a threshold.
//!
//! Owns only the counting and the exemptions (allow list, trusted proxies: banning a load
//! balancer would ban everyone behind it). Applying the ban is the caller's job (through
//! the daemon's control socket or the ban store), off the request path.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ipnet::IpNet;

use crate::cidr::PrefixSet;
use crate::settings::WafBanSettings;

/// Tracked clients beyond which idle entries are swept (and new clients not tracked until
/// there is room), bounding memory under a spoofed-header or many-source attack.
const MAX_CLIENTS: usize = 100_000;

#[derive(Default)]
struct Client {
    window_start: Option<Instant>,
    blocked: u32,
    points: u32,
    /// Already banned until then: no second ban for the same burst.
    banned_until: Option<Instant>,
}

pub struct WafBanTracker {
    cfg: WafBanSettings,
    ttl: Duration,
    exempt: PrefixSet,
    clients: Mutex<HashMap<IpAddr, Client>>,
}

/// A threshold crossed by one client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WafBan {
    pub addr: IpAddr,
    pub ttl: Duration,
    pub reason: String,
}

impl WafBanTracker {
    /// `exempt`: the allow list and the trusted proxies.
    pub fn new(cfg: WafBanSettings, default_ttl: Duration, exempt: &[IpNet]) -> WafBanTracker {
        let mut set = PrefixSet::new();
        for n in exempt {
            set.insert(*n, 0);
        }
        WafBanTracker {
            ttl: cfg.ttl.unwrap_or(default_ttl),
            cfg,
            exempt: set,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Records one request verdict of `client` (`blocked`, and its anomaly `score`).
    pub fn record(
        &self,
        client: IpAddr,
        blocked: bool,
        score: u32,
        now: Instant,
    ) -> Option<WafBan> {
        if !self.cfg.enabled || (!blocked && score == 0) || self.exempt.contains(client) {
            return None;
        }
        let mut clients = match self.clients.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if clients.len() >= MAX_CLIENTS && !clients.contains_key(&client) {
            let (window, ttl) = (self.cfg.window, self.ttl);
            clients.retain(|_, c| {
                c.banned_until.is_some_and(|t| t > now)
                    || c.window_start
                        .is_some_and(|t| now.duration_since(t) < window.max(ttl))
            });
            if clients.len() >= MAX_CLIENTS {
                return None;
            }
        }
        let c = clients.entry(client).or_default();
        if c.banned_until.is_some_and(|t| t > now) {
            return None;
        }
        if c.window_start
            .is_none_or(|t| now.duration_since(t) >= self.cfg.window)
        {
            c.window_start = Some(now);
            c.blocked = 0;
            c.points = 0;
        }
        if blocked {
            c.blocked += 1;
        }
        c.points = c.points.saturating_add(score);
        let reason = if self.cfg.blocked_requests > 0 && c.blocked >= self.cfg.blocked_requests {
            format!(
                "WAF: {} blocked requests within {}s",
                c.blocked,
                self.cfg.window.as_secs()
            )
        } else if self.cfg.anomaly_points > 0 && c.points >= self.cfg.anomaly_points {
            format!(
                "WAF: {} anomaly points within {}s",
                c.points,
                self.cfg.window.as_secs()
            )
        } else {
            return None;
        };
        c.banned_until = Some(now + self.ttl);
        c.window_start = None;
        Some(WafBan {
            addr: client,
            ttl: self.ttl,
            reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> WafBanSettings {
        WafBanSettings {
            enabled: true,
            blocked_requests: 3,
            anomaly_points: 20,
            window: Duration::from_secs(60),
            ttl: Some(Duration::from_secs(300)),
        }
    }

    #[test]
    fn bans_after_n_blocked_requests_in_the_window_once() {
        let t = WafBanTracker::new(cfg(), Duration::from_secs(1), &[]);
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let t0 = Instant::now();
        assert_eq!(t.record(ip, true, 5, t0), None);
        assert_eq!(t.record(ip, true, 5, t0), None);
        // allowed requests do not count
        assert_eq!(t.record(ip, false, 0, t0), None);
        let ban = t
            .record(ip, true, 5, t0)
            .expect("third blocked request bans");
        assert_eq!(ban.ttl, Duration::from_secs(300));
        assert!(ban.reason.contains("3 blocked requests"), "{}", ban.reason);
        assert_eq!(
            t.record(ip, true, 5, t0),
            None,
            "no second ban while banned"
        );
    }

    #[test]
    fn window_resets_and_points_count() {
        let t = WafBanTracker::new(cfg(), Duration::from_secs(1), &[]);
        let ip: IpAddr = "2001:db8::7".parse().unwrap();
        let t0 = Instant::now();
        t.record(ip, true, 1, t0);
        t.record(ip, true, 1, t0);
        // next window: counts start over
        assert_eq!(t.record(ip, true, 1, t0 + Duration::from_secs(61)), None);
        // flagged (not blocked) requests add points
        let ban = t
            .record(ip, false, 19, t0 + Duration::from_secs(62))
            .expect("20 points");
        assert!(ban.reason.contains("anomaly points"));
    }

    #[test]
    fn allow_list_and_trusted_proxies_are_never_banned_and_disabled_does_nothing() {
        let exempt: Vec<IpNet> = vec![
            "10.0.0.0/8".parse().unwrap(),
            "192.0.2.1/32".parse().unwrap(),
        ];
        let t = WafBanTracker::new(cfg(), Duration::from_secs(1), &exempt);
        let t0 = Instant::now();
        for _ in 0..10 {
            assert_eq!(t.record("10.1.2.3".parse().unwrap(), true, 10, t0), None);
            assert_eq!(t.record("192.0.2.1".parse().unwrap(), true, 10, t0), None);
        }
        let off = WafBanTracker::new(
            WafBanSettings {
                enabled: false,
                ..cfg()
            },
            Duration::from_secs(1),
            &[],
        );
        for _ in 0..10 {
            assert_eq!(off.record("192.0.2.9".parse().unwrap(), true, 10, t0), None);
        }
    }
}
