//! Bans: an address, a reason, who raised it, and an expiry. Owns the state file that makes
//! bans survive restarts (and `setup` re-creating the table).
//!
//! The kernel ban set is what drops packets; the state file is the record (reasons, origin,
//! expiry) and the source for restoring the set. Every writer (daemon, CLI, `serve`) does a
//! locked read-modify-write of the file, so they can run at the same time: the lock is a
//! sidecar `<state>.lock` file (the state itself is replaced by rename, which would orphan a
//! lock held on it).

use std::fs::File;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::nft::{self, BanElement};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ban {
    pub addr: IpAddr,
    pub reason: String,
    /// Who raised it: "detect", "cli", "waf", "control".
    pub origin: String,
    /// Unix time in milliseconds.
    pub created_ms: u64,
    /// Unix time in milliseconds; None: until unbanned.
    pub expires_ms: Option<u64>,
}

impl Ban {
    pub fn remaining(&self, now_ms: u64) -> Option<Duration> {
        self.expires_ms
            .map(|e| Duration::from_millis(e.saturating_sub(now_ms)))
    }

    fn active(&self, now_ms: u64) -> bool {
        self.expires_ms.is_none_or(|e| e > now_ms)
    }
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Normalizes `::ffff:a.b.c.d` to `a.b.c.d`, as the kernel sets do.
pub fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(a) => a.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        a => a,
    }
}

#[derive(Serialize, Deserialize, Default)]
struct StateFile {
    bans: Vec<Ban>,
}

/// The ban operations, against the kernel table and the state file.
#[derive(Debug, Clone)]
pub struct BanStore {
    table: String,
    path: PathBuf,
}

struct Lock(File);

impl Drop for Lock {
    fn drop(&mut self) {
        // SAFETY: flock on a descriptor we own.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

impl BanStore {
    pub fn new(table: &str, path: &Path) -> BanStore {
        BanStore {
            table: table.to_string(),
            path: path.to_path_buf(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    fn lock(&self) -> Result<Lock> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let lock_path = lock_path(&self.path);
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("opening {}", lock_path.display()))?;
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("locking {}", lock_path.display()));
        }
        Ok(Lock(f))
    }

    fn read(&self) -> Result<StateFile> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) if text.trim().is_empty() => Ok(StateFile::default()),
            Ok(text) => serde_json::from_str(&text)
                .with_context(|| format!("{}: not a Palisade ban state file", self.path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StateFile::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", self.path.display())),
        }
    }

    fn write(&self, state: &StateFile) -> Result<()> {
        let tmp = self.path.with_extension("tmp");
        let text = serde_json::to_string_pretty(state).context("serializing bans")?;
        std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &self.path)
            .with_context(|| format!("replacing {}", self.path.display()))
    }

    /// Bans (or re-bans, replacing reason and expiry) each address: kernel set first, so a
    /// ban that is recorded is also enforced. Returns when the kernel set had them.
    pub fn ban_many(&self, bans: &[Ban]) -> Result<std::time::Instant> {
        if bans.is_empty() {
            return Ok(std::time::Instant::now());
        }
        let now = now_ms();
        let elems: Vec<BanElement> = bans
            .iter()
            .map(|b| BanElement {
                addr: b.addr,
                ttl: b.remaining(now).map(|d| d.max(Duration::from_millis(1))),
                comment: format!("{}: {}", b.origin, b.reason),
            })
            .collect();
        nft::add_bans(&self.table, &elems)?;
        let in_kernel = std::time::Instant::now();
        let _lock = self.lock()?;
        let mut state = self.read()?;
        state
            .bans
            .retain(|old| old.active(now) && !bans.iter().any(|b| b.addr == old.addr));
        state.bans.extend(bans.iter().cloned());
        self.write(&state)?;
        for b in bans {
            tracing::warn!(
                addr = %b.addr,
                ttl_s = b.remaining(now).map(|d| d.as_secs_f64()),
                origin = %b.origin,
                reason = %b.reason,
                "banned"
            );
        }
        Ok(in_kernel)
    }

    pub fn ban(
        &self,
        addr: IpAddr,
        ttl: Option<Duration>,
        reason: &str,
        origin: &str,
    ) -> Result<Ban> {
        let b = new_ban(addr, ttl, reason, origin);
        self.ban_many(std::slice::from_ref(&b))?;
        Ok(b)
    }

    /// Lifts a ban. Returns whether the state file had it.
    pub fn unban(&self, addr: IpAddr) -> Result<bool> {
        let addr = canonical(addr);
        if let Err(e) = nft::del_ban(&self.table, addr) {
            // Without the table nothing is enforced; the record must still go, or the next
            // `setup` would restore the ban.
            if nft::table_exists(&self.table) {
                return Err(e);
            }
            tracing::warn!(
                "table inet {} is not installed; removing {addr} from the state file only",
                self.table
            );
        }
        let _lock = self.lock()?;
        let mut state = self.read()?;
        let now = now_ms();
        let before = state.bans.len();
        state.bans.retain(|b| b.addr != addr);
        let had = state.bans.len() != before;
        state.bans.retain(|b| b.active(now));
        self.write(&state)?;
        tracing::warn!(addr = %addr, "unbanned");
        Ok(had)
    }

    /// Active bans (expired ones are left out, and pruned from the file).
    pub fn list(&self) -> Result<Vec<Ban>> {
        let _lock = self.lock()?;
        let mut state = self.read()?;
        let now = now_ms();
        let before = state.bans.len();
        state.bans.retain(|b| b.active(now));
        if state.bans.len() != before {
            self.write(&state)?;
        }
        Ok(state.bans)
    }

    /// Puts the active bans of the state file back into the kernel set with their remaining
    /// TTL (after a restart or a new `setup`). Returns how many.
    pub fn restore(&self) -> Result<usize> {
        let bans = self.list()?;
        let now = now_ms();
        let elems: Vec<BanElement> = bans
            .iter()
            .map(|b| BanElement {
                addr: b.addr,
                ttl: b.remaining(now).map(|d| d.max(Duration::from_millis(1))),
                comment: format!("{}: {}", b.origin, b.reason),
            })
            .collect();
        nft::add_bans(&self.table, &elems)?;
        Ok(bans.len())
    }
}

fn lock_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".lock");
    PathBuf::from(p)
}

pub fn new_ban(addr: IpAddr, ttl: Option<Duration>, reason: &str, origin: &str) -> Ban {
    let now = now_ms();
    Ban {
        addr: canonical(addr),
        reason: reason.to_string(),
        origin: origin.to_string(),
        created_ms: now,
        expires_ms: ttl.map(|t| now + t.as_millis() as u64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_and_canonical_addresses() {
        let b = new_ban(
            "::ffff:192.0.2.1".parse().unwrap(),
            Some(Duration::from_secs(5)),
            "r",
            "cli",
        );
        assert_eq!(b.addr, "192.0.2.1".parse::<IpAddr>().unwrap());
        assert!(b.active(b.created_ms + 4_999));
        assert!(!b.active(b.created_ms + 5_000));
        let p = new_ban("2001:db8::1".parse().unwrap(), None, "r", "cli");
        assert!(p.active(u64::MAX));
    }

    #[test]
    fn corrupt_state_file_is_an_error_naming_the_file() {
        let dir = std::env::temp_dir().join(format!("palisade-ips-bans-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bans.json");
        std::fs::write(&path, "{not json").unwrap();
        let store = BanStore::new("palisade", &path);
        let err = store.list().unwrap_err();
        assert!(format!("{err:#}").contains("bans.json"), "{err:#}");
        std::fs::write(&path, "").unwrap();
        assert!(store.list().unwrap().is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
