//! Load generator for bench/ips.sh (run inside a client network namespace).
//!
//! `ips_load udp SRC[,SRC...] DST:PORT SECONDS`: one thread per source address sends
//! 64-byte UDP datagrams with sendmmsg as fast as it can; prints the packets sent and the
//! process's CPU time (user + system, microseconds: includes the kernel's transmit path and
//! what softirq work ran in the senders' context).
//! `ips_load raw IFACE DSTMAC SRC[,SRC...] DST:PORT SECONDS`: the same datagrams (IPv4),
//! written as whole Ethernet frames to IFACE with an AF_PACKET socket that bypasses the
//! qdisc: no UDP socket, routing or IP output work per datagram, so the sender takes less of
//! the CPU it shares with the kernel's receive path and the daemon. The receiving side sees
//! the same packets (UDP checksum 0, which IPv4 allows). Same output as `udp`.
//! An optional last argument RATE paces the senders to RATE datagrams/s in all (batches of
//! 64 sent when due) instead of as fast as they can.
//! `ips_load scan DST PORTS`: TCP connects to PORTS consecutive ports from 30000 (50 ms
//! timeout each); prints how many were tried before the first timeout (the ban).

use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("udp") if args.len() == 5 || args.len() == 6 => {
            udp(&args[2], &args[3], &args[4], rate(args.get(5)))
        }
        Some("raw") if args.len() == 7 || args.len() == 8 => raw(
            &args[2],
            &args[3],
            &args[4],
            &args[5],
            &args[6],
            rate(args.get(7)),
        ),
        Some("scan") if args.len() == 4 => scan(&args[2], &args[3]),
        _ => {
            eprintln!(
                "usage: ips_load udp SRC[,SRC..] DST:PORT SECONDS [RATE] | \
                 ips_load raw IFACE DSTMAC SRC[,SRC..] DST:PORT SECONDS [RATE] | \
                 ips_load scan DST PORTS"
            );
            std::process::exit(2);
        }
    }
}

/// The optional RATE argument: datagrams/s for all threads together (0 or absent: as fast
/// as possible).
fn rate(arg: Option<&String>) -> f64 {
    arg.map(|a| a.parse().expect("RATE")).unwrap_or(0.0)
}

/// Paces one sending thread: before each batch of `n`, waits until the batch is due at
/// `per_thread` datagrams/s (no wait when 0).
struct Pacer {
    start: Instant,
    per_thread: f64,
}

impl Pacer {
    fn wait(&self, sent: u64) {
        if self.per_thread <= 0.0 {
            return;
        }
        let due = self.start + Duration::from_secs_f64(sent as f64 / self.per_thread);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
    }
}

fn udp(srcs: &str, dst: &str, secs: &str, rate: f64) {
    let dst: SocketAddr = dst.parse().expect("DST:PORT");
    let secs: f64 = secs.parse().expect("SECONDS");
    let per_thread = rate / srcs.split(',').count() as f64;
    let threads: Vec<_> = srcs
        .split(',')
        .map(|s| {
            let src: IpAddr = s.parse().expect("SRC");
            std::thread::spawn(move || {
                send_for(src, dst, Duration::from_secs_f64(secs), per_thread)
            })
        })
        .collect();
    let total: u64 = threads.into_iter().map(|t| t.join().unwrap_or(0)).sum();
    println!("{total} {}", cpu_us());
}

fn send_for(src: IpAddr, dst: SocketAddr, d: Duration, per_thread: f64) -> u64 {
    let sock = UdpSocket::bind(SocketAddr::new(src, 0)).expect("bind source");
    sock.connect(dst).expect("connect");
    send_batches(sock.as_raw_fd(), &[0x5au8; 64], d, per_thread)
}

/// Sends `datagram` on the connected or bound `fd` in batches of 64 (`sendmmsg`) for `d`,
/// paced to `per_thread` per second; returns how many were sent.
fn send_batches(fd: libc::c_int, datagram: &[u8], d: Duration, per_thread: f64) -> u64 {
    const N: usize = 64;
    let mut iov: Vec<libc::iovec> = (0..N)
        .map(|_| libc::iovec {
            iov_base: datagram.as_ptr() as *mut libc::c_void,
            iov_len: datagram.len(),
        })
        .collect();
    let mut msgs: Vec<libc::mmsghdr> = iov
        .iter_mut()
        .map(|v| {
            // SAFETY: plain data, then pointed at a live iovec.
            let mut m: libc::mmsghdr = unsafe { std::mem::zeroed() };
            m.msg_hdr.msg_iov = v as *mut libc::iovec;
            m.msg_hdr.msg_iovlen = 1;
            m
        })
        .collect();
    let start = Instant::now();
    let pacer = Pacer { start, per_thread };
    let mut sent = 0u64;
    while start.elapsed() < d {
        pacer.wait(sent);
        // SAFETY: msgs/iov/datagram outlive the call.
        let n = unsafe { libc::sendmmsg(fd, msgs.as_mut_ptr(), N as libc::c_uint, 0) };
        if n > 0 {
            sent += n as u64;
        }
    }
    sent
}

fn raw(iface: &str, mac: &str, srcs: &str, dst: &str, secs: &str, rate: f64) {
    let dst: SocketAddr = dst.parse().expect("DST:PORT");
    let IpAddr::V4(dst_ip) = dst.ip() else {
        panic!("raw: IPv4 only")
    };
    let secs: f64 = secs.parse().expect("SECONDS");
    let mac: Vec<u8> = mac
        .split(':')
        .map(|b| u8::from_str_radix(b, 16).expect("DSTMAC"))
        .collect();
    assert_eq!(mac.len(), 6, "DSTMAC");
    let name = std::ffi::CString::new(iface).expect("IFACE");
    // SAFETY: name is a valid C string.
    let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
    assert!(ifindex != 0, "no interface {iface}");
    let threads: Vec<_> = srcs
        .split(',')
        .enumerate()
        .map(|(i, s)| {
            let IpAddr::V4(src) = s.parse().expect("SRC") else {
                panic!("raw: IPv4 only")
            };
            let mut frame = Vec::with_capacity(14 + 28 + 64);
            frame.extend_from_slice(&mac);
            frame.extend_from_slice(&[0x02, 0, 0, 0, 0, 1 + i as u8]);
            frame.extend_from_slice(&0x0800u16.to_be_bytes());
            let mut ip = [0u8; 20];
            ip[0] = 0x45;
            ip[2..4].copy_from_slice(&(20u16 + 8 + 64).to_be_bytes());
            ip[6] = 0x40; // DF
            ip[8] = 64;
            ip[9] = 17;
            ip[12..16].copy_from_slice(&src.octets());
            ip[16..20].copy_from_slice(&dst_ip.octets());
            let sum = ip
                .chunks(2)
                .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
                .sum::<u32>();
            let sum = (sum & 0xffff) + (sum >> 16);
            let sum = !(((sum & 0xffff) + (sum >> 16)) as u16);
            ip[10..12].copy_from_slice(&sum.to_be_bytes());
            frame.extend_from_slice(&ip);
            frame.extend_from_slice(&(40_000u16 + i as u16).to_be_bytes());
            frame.extend_from_slice(&dst.port().to_be_bytes());
            frame.extend_from_slice(&(8u16 + 64).to_be_bytes());
            frame.extend_from_slice(&[0, 0]); // no checksum
            frame.extend_from_slice(&[0x5au8; 64]);
            let d = Duration::from_secs_f64(secs);
            let per_thread = rate / srcs.split(',').count() as f64;
            std::thread::spawn(move || send_raw_for(ifindex, frame, d, per_thread))
        })
        .collect();
    let total: u64 = threads.into_iter().map(|t| t.join().unwrap_or(0)).sum();
    println!("{total} {}", cpu_us());
}

fn send_raw_for(ifindex: libc::c_uint, frame: Vec<u8>, d: Duration, per_thread: f64) -> u64 {
    // SAFETY: plain socket(2); the fd is closed at the end.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0) };
    assert!(
        fd >= 0,
        "AF_PACKET socket: {}",
        std::io::Error::last_os_error()
    );
    let one: libc::c_int = 1;
    // SAFETY: a live c_int and its size. (PACKET_QDISC_BYPASS: straight to the driver.)
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_PACKET,
            libc::PACKET_QDISC_BYPASS,
            &one as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    // SAFETY: sockaddr_ll is plain data.
    let mut ll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    ll.sll_family = libc::AF_PACKET as u16;
    ll.sll_protocol = (libc::ETH_P_IP as u16).to_be();
    ll.sll_ifindex = ifindex as i32;
    // SAFETY: ll is a valid sockaddr_ll of the given size.
    let r = unsafe {
        libc::bind(
            fd,
            &ll as *const libc::sockaddr_ll as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    assert!(r == 0, "bind: {}", std::io::Error::last_os_error());
    let sent = send_batches(fd, &frame, d, per_thread);
    // SAFETY: fd is ours and not used afterwards.
    unsafe { libc::close(fd) };
    sent
}

/// User + system CPU time of this process so far, in microseconds.
fn cpu_us() -> u64 {
    // SAFETY: rusage is plain data, filled in by the call.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: ru is a valid, writable rusage.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return 0;
    }
    let us = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    us(ru.ru_utime) + us(ru.ru_stime)
}

fn scan(dst: &str, ports: &str) {
    let dst: IpAddr = dst.parse().expect("DST");
    let ports: u16 = ports.parse().expect("PORTS");
    let mut tried = 0;
    for p in 30_000..30_000 + ports {
        tried += 1;
        match TcpStream::connect_timeout(&SocketAddr::new(dst, p), Duration::from_millis(50)) {
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => break,
            _ => {}
        }
    }
    println!("{tried}");
}
