//! Counters for every verdict-path decision, shared by the verdict threads (and exported by
//! the metrics endpoint of a later layer). Relaxed atomics: they are statistics, not locks.

use std::sync::atomic::{AtomicU64, Ordering};

macro_rules! counters {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        #[derive(Debug, Default)]
        pub struct Counters {
            $($(#[$doc])* pub $name: AtomicU64,)*
        }

        impl Counters {
            /// (name, value) pairs in declaration order.
            pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
                vec![$((stringify!($name), self.$name.load(Ordering::Relaxed)),)*]
            }
        }
    };
}

counters! {
    /// Packets received from the queues.
    packets,
    /// Verdict: accept.
    accepted,
    /// Accepted because the source is on an allow list.
    allowed_by_list,
    /// Accepted without inspection because the packet did not parse (fail-open).
    malformed,
    /// Dropped: source on a deny list.
    dropped_denied,
    /// Dropped: source banned by this daemon, kernel ban not yet in place.
    dropped_banned,
    /// Dropped: the packet that triggered a ban.
    dropped_detection,
    /// Bans raised, by cause.
    bans_packet_rate,
    bans_conn_rate,
    bans_syn_flood,
    bans_port_scan,
    bans_signature,
    bans_denied,
    /// Bans written to the kernel set / failed to write.
    bans_applied,
    bans_failed,
    /// Detection-to-kernel-ban latency in microseconds: last, max, and sum (with
    /// bans_applied, gives the mean).
    ban_latency_us_last,
    ban_latency_us_max,
    ban_latency_us_sum,
    /// Verdict messages sent (one per batch or per dropped packet) and send errors.
    verdict_messages,
    verdict_errors,
}

impl Counters {
    #[inline]
    pub fn inc(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}
