//! Load generator for bench/ips.sh (run inside a client network namespace).
//!
//! `ips_load udp SRC[,SRC...] DST:PORT SECONDS`: one thread per source address sends
//! 64-byte UDP datagrams with sendmmsg as fast as it can; prints the packets sent.
//! `ips_load scan DST PORTS`: TCP connects to PORTS consecutive ports from 30000 (50 ms
//! timeout each); prints how many were tried before the first timeout (the ban).

use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("udp") if args.len() == 5 => udp(&args[2], &args[3], &args[4]),
        Some("scan") if args.len() == 4 => scan(&args[2], &args[3]),
        _ => {
            eprintln!("usage: ips_load udp SRC[,SRC..] DST:PORT SECONDS | ips_load scan DST PORTS");
            std::process::exit(2);
        }
    }
}

fn udp(srcs: &str, dst: &str, secs: &str) {
    let dst: SocketAddr = dst.parse().expect("DST:PORT");
    let secs: f64 = secs.parse().expect("SECONDS");
    let threads: Vec<_> = srcs
        .split(',')
        .map(|s| {
            let src: IpAddr = s.parse().expect("SRC");
            std::thread::spawn(move || send_for(src, dst, Duration::from_secs_f64(secs)))
        })
        .collect();
    let total: u64 = threads.into_iter().map(|t| t.join().unwrap_or(0)).sum();
    println!("{total}");
}

fn send_for(src: IpAddr, dst: SocketAddr, d: Duration) -> u64 {
    let sock = UdpSocket::bind(SocketAddr::new(src, 0)).expect("bind source");
    sock.connect(dst).expect("connect");
    let fd = sock.as_raw_fd();
    const N: usize = 64;
    let payload = [0x5au8; 64];
    let mut iov: Vec<libc::iovec> = (0..N)
        .map(|_| libc::iovec {
            iov_base: payload.as_ptr() as *mut libc::c_void,
            iov_len: payload.len(),
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
    let mut sent = 0u64;
    while start.elapsed() < d {
        // SAFETY: msgs/iov/payload outlive the call.
        let n = unsafe { libc::sendmmsg(fd, msgs.as_mut_ptr(), N as libc::c_uint, 0) };
        if n > 0 {
            sent += n as u64;
        }
    }
    sent
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
