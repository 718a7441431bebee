//! A minimal NFQUEUE client over a raw netlink socket, written for batched verdicts.
//!
//! Owns the netlink protocol of one queue: bind/config, receiving packets, sending verdicts.
//! Per batch it does one `recvmmsg` (up to [`BATCH`] packets) and one `send`: drop verdicts
//! for the packets to drop, then a single `NFQNL_MSG_VERDICT_BATCH` accept for the highest
//! accepted packet id, all in one datagram (the kernel processes the messages in order).
//! Every received packet gets exactly one verdict: the drops leave the kernel queue before
//! the batch accept covers the ids below it.
//! (The `nfq` crate sends one message per verdict and has no batch verdict.)

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// Packets taken per `recvmmsg`.
pub const BATCH: usize = 64;

const NETLINK_NETFILTER: libc::c_int = 12;
const NFNL_SUBSYS_QUEUE: u16 = 3;
const NFQNL_MSG_PACKET: u16 = 0;
const NFQNL_MSG_VERDICT: u16 = 1;
const NFQNL_MSG_CONFIG: u16 = 2;
const NFQNL_MSG_VERDICT_BATCH: u16 = 3;
const NFQA_PACKET_HDR: u16 = 1;
const NFQA_VERDICT_HDR: u16 = 2;
const NFQA_PAYLOAD: u16 = 10;
const NFQA_CFG_CMD: u16 = 1;
const NFQA_CFG_PARAMS: u16 = 2;
const NFQA_CFG_QUEUE_MAXLEN: u16 = 3;
const NFQA_CFG_MASK: u16 = 4;
const NFQA_CFG_FLAGS: u16 = 5;
const NFQNL_CFG_CMD_BIND: u8 = 1;
const NFQNL_CFG_CMD_UNBIND: u8 = 2;
const NFQNL_COPY_PACKET: u8 = 2;
const NFQA_CFG_F_FAIL_OPEN: u32 = 1;
const NFQA_CFG_F_GSO: u32 = 4;
const NF_DROP: u32 = 0;
const NF_ACCEPT: u32 = 1;
const NLMSG_HDRLEN: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const SOL_NETLINK: libc::c_int = 270;
const NETLINK_NO_ENOBUFS: libc::c_int = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    Drop,
}

#[derive(Debug, Clone)]
pub struct QueueOptions {
    /// Bytes of each packet copied to user space (headers + the inspected payload prefix).
    pub copy_range: u32,
    /// Kernel queue length; beyond it packets bypass (fail-open) or drop (fail-closed).
    pub max_len: u32,
    pub fail_open: bool,
    /// Receive timeout, so the owner can check for shutdown.
    pub recv_timeout: std::time::Duration,
}

impl Default for QueueOptions {
    fn default() -> Self {
        QueueOptions {
            copy_range: 1024,
            max_len: 8192,
            fail_open: true,
            recv_timeout: std::time::Duration::from_millis(200),
        }
    }
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Builds netlink messages into a reusable buffer.
struct MsgBuf {
    buf: Vec<u8>,
    start: usize,
}

impl MsgBuf {
    fn new() -> MsgBuf {
        MsgBuf {
            buf: Vec::with_capacity(8192),
            start: 0,
        }
    }

    fn begin(&mut self, msg: u16, flags: u16, queue: u16) {
        self.start = self.buf.len();
        let ty = (NFNL_SUBSYS_QUEUE << 8) | msg;
        self.buf.extend_from_slice(&0u32.to_ne_bytes()); // length, patched in end()
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(&flags.to_ne_bytes());
        self.buf.extend_from_slice(&0u32.to_ne_bytes()); // seq
        self.buf.extend_from_slice(&0u32.to_ne_bytes()); // port id: kernel
                                                         // nfgenmsg: family AF_UNSPEC, version 0, res_id = queue number (big endian)
        self.buf.push(0);
        self.buf.push(0);
        self.buf.extend_from_slice(&queue.to_be_bytes());
    }

    fn attr(&mut self, ty: u16, data: &[u8]) {
        let len = 4 + data.len();
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.buf.resize(self.buf.len() + (align4(len) - len), 0);
    }

    fn end(&mut self) {
        let len = (self.buf.len() - self.start) as u32;
        self.buf[self.start..self.start + 4].copy_from_slice(&len.to_ne_bytes());
    }

    fn verdict(&mut self, msg: u16, queue: u16, verdict: u32, id: u32) {
        self.begin(msg, NLM_F_REQUEST, queue);
        let mut hdr = [0u8; 8];
        hdr[..4].copy_from_slice(&verdict.to_be_bytes());
        hdr[4..].copy_from_slice(&id.to_be_bytes());
        self.attr(NFQA_VERDICT_HDR, &hdr);
        self.end();
    }
}

/// One bound NFQUEUE queue.
pub struct NfQueue {
    fd: OwnedFd,
    queue: u16,
    bufs: Vec<Vec<u8>>,
    /// recvmmsg headers, built once: each points at its iovec in `iovs`, which points at
    /// its buffer in `bufs`. All three live on the heap and are never resized, so the
    /// pointers stay valid when the NfQueue value moves.
    iovs: Vec<libc::iovec>,
    msgs: Vec<libc::mmsghdr>,
    out: MsgBuf,
}

// SAFETY: the raw pointers in `iovs` and `msgs` only point into heap memory owned by the
// same NfQueue (see above); nothing is shared with another value.
unsafe impl Send for NfQueue {}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn setsockopt_int(
    fd: libc::c_int,
    level: libc::c_int,
    name: libc::c_int,
    val: libc::c_int,
) -> io::Result<()> {
    // SAFETY: passes a pointer to a live c_int and its size.
    cvt(unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            &val as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    })
    .map(|_| ())
}

impl NfQueue {
    /// Opens a netlink socket and binds queue `queue` (EBUSY if another process has it).
    pub fn open(queue: u16, opts: &QueueOptions) -> io::Result<NfQueue> {
        // SAFETY: plain socket(2) call; the fd is owned right away.
        let raw = cvt(unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                NETLINK_NETFILTER,
            )
        })?;
        // SAFETY: raw is a fresh, valid descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: sockaddr_nl is plain data; zeroed is a valid value.
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: addr is a valid sockaddr_nl of the given size.
        cvt(unsafe {
            libc::bind(
                raw,
                &addr as *const libc::sockaddr_nl as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        })?;
        // A full socket buffer then loses packets to the kernel's fail-open path instead of
        // reporting ENOBUFS to us; a large buffer makes that rare.
        setsockopt_int(raw, SOL_NETLINK, NETLINK_NO_ENOBUFS, 1)?;
        let _ = setsockopt_int(raw, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, 16 << 20);
        let tv = libc::timeval {
            tv_sec: opts.recv_timeout.as_secs() as libc::time_t,
            tv_usec: opts.recv_timeout.subsec_micros() as libc::suseconds_t,
        };
        // SAFETY: tv is a valid timeval of the given size.
        cvt(unsafe {
            libc::setsockopt(
                raw,
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                &tv as *const libc::timeval as *const libc::c_void,
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            )
        })?;
        let bufsize = opts.copy_range as usize + 1024;
        let mut bufs: Vec<Vec<u8>> = (0..BATCH).map(|_| vec![0u8; bufsize]).collect();
        let mut iovs: Vec<libc::iovec> = bufs
            .iter_mut()
            .map(|b| libc::iovec {
                iov_base: b.as_mut_ptr() as *mut libc::c_void,
                iov_len: b.len(),
            })
            .collect();
        let msgs: Vec<libc::mmsghdr> = iovs
            .iter_mut()
            .map(|iov| {
                // SAFETY: mmsghdr is plain data; zeroed is valid before the fields are set.
                let mut h: libc::mmsghdr = unsafe { std::mem::zeroed() };
                h.msg_hdr.msg_iov = iov as *mut libc::iovec;
                h.msg_hdr.msg_iovlen = 1;
                h
            })
            .collect();
        let mut q = NfQueue {
            fd,
            queue,
            bufs,
            iovs,
            msgs,
            out: MsgBuf::new(),
        };
        q.config_cmd(NFQNL_CFG_CMD_BIND)?;
        let mut params = [0u8; 5];
        params[..4].copy_from_slice(&opts.copy_range.to_be_bytes());
        params[4] = NFQNL_COPY_PACKET;
        q.config(NFQA_CFG_PARAMS, &params)?;
        q.config(NFQA_CFG_QUEUE_MAXLEN, &opts.max_len.to_be_bytes())?;
        let flags = NFQA_CFG_F_GSO
            | if opts.fail_open {
                NFQA_CFG_F_FAIL_OPEN
            } else {
                0
            };
        q.config_flags(flags, NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN)?;
        Ok(q)
    }

    pub fn queue_num(&self) -> u16 {
        self.queue
    }

    fn config_cmd(&mut self, cmd: u8) -> io::Result<()> {
        // struct nfqnl_msg_config_cmd { u8 command; u8 pad; be16 pf; }
        self.config(NFQA_CFG_CMD, &[cmd, 0, 0, 0])
    }

    fn config(&mut self, attr: u16, data: &[u8]) -> io::Result<()> {
        let mut m = MsgBuf::new();
        m.begin(NFQNL_MSG_CONFIG, NLM_F_REQUEST | NLM_F_ACK, self.queue);
        m.attr(attr, data);
        m.end();
        self.send(&m.buf)?;
        self.wait_ack()
    }

    fn config_flags(&mut self, flags: u32, mask: u32) -> io::Result<()> {
        let mut m = MsgBuf::new();
        m.begin(NFQNL_MSG_CONFIG, NLM_F_REQUEST | NLM_F_ACK, self.queue);
        m.attr(NFQA_CFG_FLAGS, &flags.to_be_bytes());
        m.attr(NFQA_CFG_MASK, &mask.to_be_bytes());
        m.end();
        self.send(&m.buf)?;
        self.wait_ack()
    }

    fn send(&self, data: &[u8]) -> io::Result<()> {
        // SAFETY: sockaddr_nl zeroed is valid (kernel, pid 0); data is a live slice.
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        let r = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                data.as_ptr() as *const libc::c_void,
                data.len(),
                0,
                &addr as *const libc::sockaddr_nl as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Waits for the ACK of a config request (packets arriving meanwhile cannot exist yet:
    /// config happens before the queue is bound, or at unbind where they are irrelevant).
    fn wait_ack(&mut self) -> io::Result<()> {
        for _ in 0..16 {
            let buf = &mut self.bufs[0];
            // SAFETY: buf is a live, writable buffer of buf.len() bytes.
            let n = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr() as *mut libc::c_void,
                    buf.len(),
                    0,
                )
            };
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            let mut err = None;
            for_each_msg(&buf[..n as usize], |ty, body| {
                if ty == NLMSG_ERROR && body.len() >= 4 {
                    let e = i32::from_ne_bytes([body[0], body[1], body[2], body[3]]);
                    err = Some(e);
                }
            });
            match err {
                Some(0) => return Ok(()),
                Some(e) => return Err(io::Error::from_raw_os_error(-e)),
                None => continue,
            }
        }
        Err(io::Error::new(io::ErrorKind::TimedOut, "no netlink ACK"))
    }

    /// Receives up to [`BATCH`] packets, asks `decide(payload)` for each, and sends their
    /// verdicts in one datagram. Returns the number of packets (0 on receive timeout).
    pub fn process_batch(
        &mut self,
        mut decide: impl FnMut(&[u8]) -> Verdict,
    ) -> io::Result<BatchStats> {
        debug_assert_eq!(self.iovs.len(), self.msgs.len());
        // SAFETY: each mmsghdr points at a live iovec and buffer owned by self, not touched
        // until recvmmsg returns.
        let n = unsafe {
            libc::recvmmsg(
                self.fd.as_raw_fd(),
                self.msgs.as_mut_ptr(),
                self.msgs.len() as libc::c_uint,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock
                | io::ErrorKind::TimedOut
                | io::ErrorKind::Interrupted => Ok(BatchStats::default()),
                _ => Err(e),
            };
        }
        let mut stats = BatchStats::default();
        let mut max_accept: Option<u32> = None;
        self.out.buf.clear();
        for (i, m) in self.msgs.iter().enumerate().take(n as usize) {
            let len = (m.msg_len as usize).min(self.bufs[i].len());
            let data = &self.bufs[i][..len];
            let out = &mut self.out;
            let queue = self.queue;
            for_each_msg(data, |ty, body| {
                if ty == NLMSG_ERROR {
                    // The kernel reports a failed verdict this way (unrequested ACKs).
                    if body.len() >= 4 && body[..4] != [0, 0, 0, 0] {
                        stats.errors += 1;
                    }
                    return;
                }
                if ty != (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET {
                    return;
                }
                let Some((id, payload)) = parse_packet_msg(body) else {
                    return;
                };
                stats.packets += 1;
                match decide(payload) {
                    Verdict::Accept => {
                        max_accept = Some(max_accept.map_or(id, |m: u32| m.max(id)));
                        stats.accepted += 1;
                    }
                    Verdict::Drop => {
                        out.verdict(NFQNL_MSG_VERDICT, queue, NF_DROP, id);
                        stats.dropped += 1;
                    }
                }
            });
        }
        if let Some(id) = max_accept {
            self.out
                .verdict(NFQNL_MSG_VERDICT_BATCH, self.queue, NF_ACCEPT, id);
        }
        if !self.out.buf.is_empty() {
            self.send(&self.out.buf)?;
            stats.messages = 1;
        }
        Ok(stats)
    }
}

impl Drop for NfQueue {
    fn drop(&mut self) {
        // With the queue unbound, the kernel's bypass lets new packets through right away.
        let _ = self.config_cmd(NFQNL_CFG_CMD_UNBIND);
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub struct BatchStats {
    pub packets: usize,
    pub accepted: usize,
    pub dropped: usize,
    pub messages: usize,
    pub errors: usize,
}

/// Calls `f(type, body)` for each netlink message in a datagram; stops at anything malformed.
fn for_each_msg(mut data: &[u8], mut f: impl FnMut(u16, &[u8])) {
    while data.len() >= NLMSG_HDRLEN {
        let len = u32::from_ne_bytes([data[0], data[1], data[2], data[3]]) as usize;
        let ty = u16::from_ne_bytes([data[4], data[5]]);
        if len < NLMSG_HDRLEN || len > data.len() {
            return;
        }
        f(ty, &data[NLMSG_HDRLEN..len]);
        let next = align4(len).min(data.len());
        data = &data[next..];
    }
}

/// Packet id and payload of an NFQNL_MSG_PACKET body (after the netlink header).
fn parse_packet_msg(body: &[u8]) -> Option<(u32, &[u8])> {
    let mut attrs = body.get(4..)?; // nfgenmsg
    let mut id = None;
    let mut payload: &[u8] = &[];
    while attrs.len() >= 4 {
        let len = usize::from(u16::from_ne_bytes([attrs[0], attrs[1]]));
        let ty = u16::from_ne_bytes([attrs[2], attrs[3]]) & 0x3fff;
        if len < 4 || len > attrs.len() {
            break;
        }
        let data = &attrs[4..len];
        match ty {
            NFQA_PACKET_HDR if data.len() >= 4 => {
                id = Some(u32::from_be_bytes([data[0], data[1], data[2], data[3]]));
            }
            NFQA_PAYLOAD => payload = data,
            _ => {}
        }
        attrs = &attrs[align4(len).min(attrs.len())..];
    }
    id.map(|id| (id, payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_parses_messages() {
        let mut m = MsgBuf::new();
        m.verdict(NFQNL_MSG_VERDICT, 7, NF_DROP, 42);
        m.verdict(NFQNL_MSG_VERDICT_BATCH, 7, NF_ACCEPT, 99);
        let mut seen = Vec::new();
        for_each_msg(&m.buf, |ty, body| seen.push((ty, body.len())));
        assert_eq!(seen, vec![(0x301, 16), (0x303, 16)]);
        // a packet message: nfgenmsg + PACKET_HDR(id 5) + PAYLOAD
        let mut p = MsgBuf::new();
        p.begin(NFQNL_MSG_PACKET, 0, 7);
        p.attr(NFQA_PACKET_HDR, &[0, 0, 0, 5, 8, 0, 1]);
        p.attr(NFQA_PAYLOAD, b"\x45abc");
        p.end();
        let mut got = None;
        for_each_msg(&p.buf, |_, body| {
            got = parse_packet_msg(body).map(|(i, d)| (i, d.to_vec()))
        });
        assert_eq!(got, Some((5, b"\x45abc".to_vec())));
        // truncated input is ignored, not a panic
        for cut in 0..p.buf.len() {
            for_each_msg(&p.buf[..cut], |_, body| {
                let _ = parse_packet_msg(body);
            });
        }
    }
}
