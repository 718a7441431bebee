//! Running code inside a named network namespace (`ip netns add NAME`), for the namespace
//! tests and the benchmark: sockets made inside keep that namespace wherever they are used
//! afterwards.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// Runs `f` on a fresh thread that has joined network namespace `name`, and returns its
/// result. The namespace is per thread, so the caller's thread is left where it was.
pub fn in_netns<T, F>(name: &str, f: F) -> io::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let path = format!("/var/run/netns/{name}");
    let ns = File::open(&path).map_err(|e| io::Error::new(e.kind(), format!("{path}: {e}")))?;
    let handle = std::thread::Builder::new()
        .name(format!("netns-{name}"))
        .spawn(move || -> io::Result<T> {
            // SAFETY: setns on a descriptor we own; affects only this thread.
            if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(f())
        })?;
    handle
        .join()
        .map_err(|_| io::Error::other("thread in network namespace panicked"))?
}
