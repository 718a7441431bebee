//! Ban-set elements over nftables' netlink interface, without starting an `nft` process.
//!
//! Owns only what bans need: one nfnetlink batch (begin, NEWSETELEM/DELSETELEM per element,
//! end) applied atomically by the kernel, with an ACK per message. A new ban is one
//! exclusive add: one `sendmsg` and its ACK, well under a millisecond, where an `nft`
//! process takes several. Refreshing an existing ban (new timeout and comment) is
//! add → delete → add; element deletion makes the kernel wait for an RCU grace period
//! (milliseconds), so that path is only taken when the exclusive add says EEXIST.
//! `nft` stays the fallback if netlink fails.

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

const NETLINK_NETFILTER: libc::c_int = 12;
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
const NFT_MSG_NEWSETELEM: u16 = 12;
const NFT_MSG_DELSETELEM: u16 = 14;
const NFPROTO_INET: u8 = 1;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const NLA_F_NESTED: u16 = 0x8000;
const NLMSG_ERROR: u16 = 2;
const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_SET_ELEM_TIMEOUT: u16 = 4;
const NFTA_SET_ELEM_USERDATA: u16 = 6;
const NFTA_DATA_VALUE: u16 = 1;
/// libnftnl's user-data tag for an element comment (what `nft list` shows).
const NFTNL_UDATA_SET_ELEM_COMMENT: u8 = 0;

/// One element operation.
pub struct Op<'a> {
    pub set: &'a str,
    pub addr: IpAddr,
    pub add: bool,
    /// With `add`: fail with EEXIST if the element is there (instead of keeping it as is).
    pub excl: bool,
    pub timeout: Option<Duration>,
    pub comment: Option<&'a str>,
}

struct Msg {
    buf: Vec<u8>,
    nests: Vec<usize>,
    start: usize,
}

impl Msg {
    fn begin(&mut self, ty: u16, flags: u16, seq: u32, family: u8, res_id: u16) {
        self.start = self.buf.len();
        self.buf.extend_from_slice(&0u32.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(&flags.to_ne_bytes());
        self.buf.extend_from_slice(&seq.to_ne_bytes());
        self.buf.extend_from_slice(&0u32.to_ne_bytes());
        self.buf.push(family);
        self.buf.push(0);
        self.buf.extend_from_slice(&res_id.to_be_bytes());
    }

    fn end(&mut self) {
        let len = (self.buf.len() - self.start) as u32;
        self.buf[self.start..self.start + 4].copy_from_slice(&len.to_ne_bytes());
    }

    fn pad(&mut self) {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }

    fn attr(&mut self, ty: u16, data: &[u8]) {
        self.buf
            .extend_from_slice(&((4 + data.len()) as u16).to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.pad();
    }

    fn nest_start(&mut self, ty: u16) {
        self.nests.push(self.buf.len());
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf
            .extend_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
    }

    fn nest_end(&mut self) {
        if let Some(at) = self.nests.pop() {
            let len = (self.buf.len() - at) as u16;
            self.buf[at..at + 2].copy_from_slice(&len.to_ne_bytes());
        }
    }
}

fn cstr(s: &str) -> Vec<u8> {
    let mut v: Vec<u8> = s.bytes().filter(|b| *b != 0).collect();
    v.push(0);
    v
}

/// Builds the batch; returns the bytes and the sequence numbers that expect an ACK.
fn build(table: &str, ops: &[Op<'_>], seq0: u32) -> (Vec<u8>, Vec<u32>) {
    let mut m = Msg {
        buf: Vec::with_capacity(256 * ops.len() + 64),
        nests: Vec::new(),
        start: 0,
    };
    let mut seq = seq0;
    let mut acks = Vec::new();
    m.begin(
        NFNL_MSG_BATCH_BEGIN,
        NLM_F_REQUEST,
        seq,
        0,
        NFNL_SUBSYS_NFTABLES,
    );
    m.end();
    for op in ops {
        seq += 1;
        let (ty, flags) = if op.add {
            let excl = if op.excl { NLM_F_EXCL } else { 0 };
            (
                NFT_MSG_NEWSETELEM,
                NLM_F_REQUEST | NLM_F_CREATE | NLM_F_ACK | excl,
            )
        } else {
            (NFT_MSG_DELSETELEM, NLM_F_REQUEST | NLM_F_ACK)
        };
        m.begin(
            (NFNL_SUBSYS_NFTABLES << 8) | ty,
            flags,
            seq,
            NFPROTO_INET,
            0,
        );
        m.attr(NFTA_SET_ELEM_LIST_TABLE, &cstr(table));
        m.attr(NFTA_SET_ELEM_LIST_SET, &cstr(op.set));
        m.nest_start(NFTA_SET_ELEM_LIST_ELEMENTS);
        m.nest_start(NFTA_LIST_ELEM);
        m.nest_start(NFTA_SET_ELEM_KEY);
        match op.addr {
            IpAddr::V4(a) => m.attr(NFTA_DATA_VALUE, &a.octets()),
            IpAddr::V6(a) => m.attr(NFTA_DATA_VALUE, &a.octets()),
        }
        m.nest_end();
        if let Some(t) = op.timeout {
            m.attr(
                NFTA_SET_ELEM_TIMEOUT,
                &(t.as_millis().max(1) as u64).to_be_bytes(),
            );
        }
        if let Some(c) = op.comment {
            let text = cstr(c);
            let mut ud = vec![NFTNL_UDATA_SET_ELEM_COMMENT, text.len() as u8];
            ud.extend_from_slice(&text);
            m.attr(NFTA_SET_ELEM_USERDATA, &ud);
        }
        m.nest_end();
        m.nest_end();
        m.end();
        acks.push(seq);
    }
    seq += 1;
    m.begin(
        NFNL_MSG_BATCH_END,
        NLM_F_REQUEST,
        seq,
        0,
        NFNL_SUBSYS_NFTABLES,
    );
    m.end();
    (m.buf, acks)
}

/// Applies `ops` to sets of `inet <table>` in one transaction: all or nothing.
pub fn apply(table: &str, ops: &[Op<'_>]) -> io::Result<()> {
    if ops.is_empty() {
        return Ok(());
    }
    for op in ops {
        if op.comment.is_some_and(|c| c.len() > 126) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "comment too long",
            ));
        }
    }
    // SAFETY: plain socket(2); the descriptor is owned at once.
    let raw = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            NETLINK_NETFILTER,
        )
    };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: raw is a fresh descriptor nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let tv = libc::timeval {
        tv_sec: 2,
        tv_usec: 0,
    };
    // SAFETY: valid timeval pointer and size.
    unsafe {
        libc::setsockopt(
            raw,
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            &tv as *const libc::timeval as *const libc::c_void,
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        );
    }
    let seq0 = (crate::bans::now_ms() as u32) & 0x7fff_ffff;
    let (buf, mut pending) = build(table, ops, seq0);
    // SAFETY: zeroed sockaddr_nl addresses the kernel; buf is a live slice.
    let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    let sent = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            buf.as_ptr() as *const libc::c_void,
            buf.len(),
            0,
            &addr as *const libc::sockaddr_nl as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut rbuf = vec![0u8; 64 * 1024];
    while !pending.is_empty() {
        // SAFETY: rbuf is a live writable buffer.
        let n = unsafe {
            libc::recv(
                fd.as_raw_fd(),
                rbuf.as_mut_ptr() as *mut libc::c_void,
                rbuf.len(),
                0,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut data = &rbuf[..n as usize];
        while data.len() >= 16 {
            let len = u32::from_ne_bytes([data[0], data[1], data[2], data[3]]) as usize;
            if len < 16 || len > data.len() {
                break;
            }
            let ty = u16::from_ne_bytes([data[4], data[5]]);
            let seq = u32::from_ne_bytes([data[8], data[9], data[10], data[11]]);
            if ty == NLMSG_ERROR && len >= 20 {
                let err = i32::from_ne_bytes([data[16], data[17], data[18], data[19]]);
                if err != 0 {
                    // The kernel aborted the whole batch.
                    return Err(io::Error::from_raw_os_error(-err));
                }
                pending.retain(|s| *s != seq);
            }
            data = &data[((len + 3) & !3).min(data.len())..];
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_layout() {
        let ops = [Op {
            set: "ban4",
            addr: "192.0.2.1".parse().unwrap(),
            add: true,
            excl: true,
            timeout: Some(Duration::from_secs(30)),
            comment: Some("x"),
        }];
        let (buf, acks) = build("palisade", &ops, 100);
        assert_eq!(acks, vec![101]);
        // begin (20 bytes), element message, end (20 bytes); every length field consistent
        let mut at = 0;
        let mut types = Vec::new();
        while at < buf.len() {
            let len = u32::from_ne_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]) as usize;
            types.push(u16::from_ne_bytes([buf[at + 4], buf[at + 5]]));
            assert_eq!(len % 4, 0);
            at += len;
        }
        assert_eq!(at, buf.len());
        assert_eq!(types, vec![0x10, 0x0a0c, 0x11]);
    }
}
