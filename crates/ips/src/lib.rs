//! Palisade's packet layer: an NFQUEUE verdict daemon in front of the web listeners, with
//! nftables sets that drop banned and denied sources in the kernel.
//!
//! - [`packet`]: bounds-checked IPv4/IPv6, TCP/UDP parsing.
//! - [`cidr`]: prefix-tree allow/deny lists and list-file loading.
//! - [`detect`]: the per-packet decision (lists, rates, SYN flood, port scan, signatures).
//! - [`nft`]: Palisade's own nftables table, the queue hook, and ban-set elements.
//! - [`nft_netlink`]: ban-set elements over netlink (no `nft` process per ban).
//! - [`bans`]: bans with TTL and reason, persisted in a state file.
//! - [`control`]: the daemon's local control socket.
//! - [`nfqueue`]: a minimal netlink NFQUEUE client with batched verdicts.
//! - [`netns`]: running code inside a network namespace (tests, benchmark).
//! - [`waf`]: WAF verdicts turned into bans (blocked requests / anomaly points per window).
//! - [`daemon`]: verdict threads, ban writer and control server wired together.

pub mod bans;
pub mod cidr;
pub mod control;
pub mod daemon;
pub mod detect;
pub mod netns;
pub mod nfqueue;
pub mod nft;
pub mod nft_netlink;
pub mod packet;
pub mod settings;
pub mod stats;
pub mod waf;

pub use settings::IpsSettings;
