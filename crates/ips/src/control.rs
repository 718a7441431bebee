//! The daemon's local control socket: `ban`, `unban`, `list` and `stats` as one JSON line
//! in, one JSON line out, over a Unix stream socket only root can open (mode 0600).

use std::io::{BufRead, BufReader, Write};
use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use serde::{Deserialize, Serialize};

use crate::bans::{Ban, BanStore};
use crate::stats::Counters;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    Ban {
        addr: IpAddr,
        /// Milliseconds; None: the daemon's default TTL. 0: until unbanned.
        ttl_ms: Option<u64>,
        reason: String,
        #[serde(default)]
        origin: Option<String>,
    },
    Unban {
        addr: IpAddr,
    },
    List,
    Stats,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Response {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bans: Vec<Ban>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub counters: Vec<(String, u64)>,
    /// For unban: whether the address was banned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub found: Option<bool>,
}

/// Sends one request to the daemon at `path`. Err when no daemon listens there.
pub fn request(path: &Path, req: &Request) -> Result<Response> {
    let mut s =
        UnixStream::connect(path).with_context(|| format!("connecting to {}", path.display()))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut line = serde_json::to_string(req)?;
    line.push('\n');
    s.write_all(line.as_bytes())?;
    let mut resp = String::new();
    BufReader::new(s).read_line(&mut resp)?;
    serde_json::from_str(&resp).map_err(|e| anyhow!("bad reply from {}: {e}", path.display()))
}

pub struct Handler {
    pub store: BanStore,
    pub default_ttl: Duration,
    pub counters: Arc<Counters>,
}

impl Handler {
    pub fn handle(&self, req: Request) -> Response {
        let result = match req {
            Request::Ban {
                addr,
                ttl_ms,
                reason,
                origin,
            } => {
                let ttl = match ttl_ms {
                    None => Some(self.default_ttl),
                    Some(0) => None,
                    Some(ms) => Some(Duration::from_millis(ms)),
                };
                let origin = origin.unwrap_or_else(|| "control".into());
                self.store
                    .ban(addr, ttl, &reason, &origin)
                    .map(|b| Response {
                        ok: true,
                        bans: vec![b],
                        ..Default::default()
                    })
            }
            Request::Unban { addr } => self.store.unban(addr).map(|found| Response {
                ok: true,
                found: Some(found),
                ..Default::default()
            }),
            Request::List => self.store.list().map(|bans| Response {
                ok: true,
                bans,
                ..Default::default()
            }),
            Request::Stats => Ok(Response {
                ok: true,
                counters: self
                    .counters
                    .snapshot()
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
                ..Default::default()
            }),
        };
        result.unwrap_or_else(|e| Response {
            ok: false,
            error: Some(format!("{e:#}")),
            ..Default::default()
        })
    }
}

/// Binds the socket (replacing a stale one) and serves until `stop` is set.
pub fn serve(
    path: &Path,
    handler: Handler,
    stop: Arc<AtomicBool>,
) -> Result<std::thread::JoinHandle<()>> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    if UnixStream::connect(path).is_ok() {
        return Err(anyhow!(
            "{}: another daemon is listening there",
            path.display()
        ));
    }
    let _ = std::fs::remove_file(path);
    let listener =
        UnixListener::bind(path).with_context(|| format!("binding {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("chmod {}", path.display()))?;
    listener.set_nonblocking(true)?;
    let path = path.to_path_buf();
    Ok(std::thread::Builder::new()
        .name("ips-control".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let _ = conn.set_nonblocking(false);
                        let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                        serve_one(conn, &handler);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    Err(e) => {
                        tracing::warn!("control socket accept: {e}");
                        std::thread::sleep(Duration::from_millis(200));
                    }
                }
            }
            let _ = std::fs::remove_file(&path);
        })?)
}

fn serve_one(conn: UnixStream, handler: &Handler) {
    let mut reader = BufReader::new(&conn);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let resp = match serde_json::from_str::<Request>(&line) {
        Ok(req) => handler.handle(req),
        Err(e) => Response {
            ok: false,
            error: Some(format!("bad request: {e}")),
            ..Default::default()
        },
    };
    if let Ok(mut text) = serde_json::to_string(&resp) {
        text.push('\n');
        let _ = (&conn).write_all(text.as_bytes());
    }
}
