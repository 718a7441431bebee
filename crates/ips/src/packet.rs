//! IPv4/IPv6 + TCP/UDP header parsing for packets handed over by NFQUEUE.
//!
//! Owns the only code that reads raw packet bytes. Every read is bounds-checked: a malformed
//! or truncated packet yields an error (and the caller accepts it, fail-open), never a panic.
//! NFQUEUE may truncate packets to the configured copy range, so the IP total length is
//! clamped to the bytes actually present.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;

pub const TCP_FIN: u8 = 0x01;
pub const TCP_SYN: u8 = 0x02;
pub const TCP_RST: u8 = 0x04;
pub const TCP_ACK: u8 = 0x10;

/// The facts a verdict needs from one packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IP protocol number of the transport header (after IPv6 extension headers).
    pub proto: u8,
    /// Transport ports; 0 when there is no transport header (non-first fragment, other proto).
    pub src_port: u16,
    pub dst_port: u16,
    /// TCP flags byte (0 for UDP and others).
    pub tcp_flags: u8,
    /// Transport payload bytes that were copied to user space (may be a prefix).
    pub payload: &'a [u8],
    /// A non-first fragment: carries no transport header.
    pub fragment: bool,
}

impl Packet<'_> {
    /// A TCP segment opening a connection (SYN without ACK).
    pub fn is_syn(&self) -> bool {
        self.proto == PROTO_TCP && self.tcp_flags & (TCP_SYN | TCP_ACK) == TCP_SYN
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("empty packet")]
    Empty,
    #[error("unknown IP version {0}")]
    Version(u8),
    #[error("truncated {0} header")]
    Truncated(&'static str),
    #[error("bad {0} header length")]
    BadLength(&'static str),
}

/// Parses one layer-3 packet (NFQUEUE payloads start at the IP header).
pub fn parse(pkt: &[u8]) -> Result<Packet<'_>, ParseError> {
    let first = *pkt.first().ok_or(ParseError::Empty)?;
    match first >> 4 {
        4 => parse_v4(pkt),
        6 => parse_v6(pkt),
        v => Err(ParseError::Version(v)),
    }
}

fn parse_v4(pkt: &[u8]) -> Result<Packet<'_>, ParseError> {
    if pkt.len() < 20 {
        return Err(ParseError::Truncated("IPv4"));
    }
    let ihl = usize::from(pkt[0] & 0x0f) * 4;
    if ihl < 20 || ihl > pkt.len() {
        return Err(ParseError::BadLength("IPv4"));
    }
    let total = usize::from(u16::from_be_bytes([pkt[2], pkt[3]]));
    if total < ihl {
        return Err(ParseError::BadLength("IPv4"));
    }
    let end = total.min(pkt.len());
    let frag_offset = u16::from_be_bytes([pkt[6], pkt[7]]) & 0x1fff;
    let proto = pkt[9];
    let src = IpAddr::V4(Ipv4Addr::new(pkt[12], pkt[13], pkt[14], pkt[15]));
    let dst = IpAddr::V4(Ipv4Addr::new(pkt[16], pkt[17], pkt[18], pkt[19]));
    transport(src, dst, proto, &pkt[ihl..end], frag_offset != 0)
}

fn parse_v6(pkt: &[u8]) -> Result<Packet<'_>, ParseError> {
    if pkt.len() < 40 {
        return Err(ParseError::Truncated("IPv6"));
    }
    let payload_len = usize::from(u16::from_be_bytes([pkt[4], pkt[5]]));
    let end = (40 + payload_len).min(pkt.len());
    let mut src = [0u8; 16];
    let mut dst = [0u8; 16];
    src.copy_from_slice(&pkt[8..24]);
    dst.copy_from_slice(&pkt[24..40]);
    let src = IpAddr::V6(Ipv6Addr::from(src));
    let dst = IpAddr::V6(Ipv6Addr::from(dst));
    let mut next = pkt[6];
    let mut rest = &pkt[40..end];
    let mut fragment = false;
    // Extension headers: bounded so a crafted chain cannot keep us busy.
    for _ in 0..8 {
        let len = match next {
            0 | 43 | 60 => {
                let hdr = rest
                    .get(..2)
                    .ok_or(ParseError::Truncated("IPv6 extension"))?;
                (usize::from(hdr[1]) + 1) * 8
            }
            44 => {
                let hdr = rest
                    .get(..8)
                    .ok_or(ParseError::Truncated("IPv6 fragment"))?;
                if u16::from_be_bytes([hdr[2], hdr[3]]) >> 3 != 0 {
                    fragment = true;
                }
                8
            }
            51 => {
                let hdr = rest.get(..2).ok_or(ParseError::Truncated("IPv6 AH"))?;
                (usize::from(hdr[1]) + 2) * 4
            }
            _ => return transport(src, dst, next, rest, fragment),
        };
        if len > rest.len() {
            return Err(ParseError::Truncated("IPv6 extension"));
        }
        next = rest[0];
        rest = &rest[len..];
        if fragment {
            return transport(src, dst, next, rest, true);
        }
    }
    Err(ParseError::BadLength("IPv6 extension chain"))
}

fn transport<'a>(
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    l4: &'a [u8],
    fragment: bool,
) -> Result<Packet<'a>, ParseError> {
    let mut p = Packet {
        src,
        dst,
        proto,
        src_port: 0,
        dst_port: 0,
        tcp_flags: 0,
        payload: &[],
        fragment,
    };
    if fragment {
        return Ok(p);
    }
    match proto {
        PROTO_TCP => {
            let h = l4.get(..20).ok_or(ParseError::Truncated("TCP"))?;
            // Data offset is the high nibble of byte 12, in 32-bit words.
            let off = usize::from(h[12] >> 4) * 4;
            if off < 20 {
                return Err(ParseError::BadLength("TCP"));
            }
            p.src_port = u16::from_be_bytes([h[0], h[1]]);
            p.dst_port = u16::from_be_bytes([h[2], h[3]]);
            p.tcp_flags = h[13];
            // Options may be cut by the copy range; the payload is then empty.
            p.payload = l4.get(off..).unwrap_or(&[]);
        }
        PROTO_UDP => {
            let h = l4.get(..8).ok_or(ParseError::Truncated("UDP"))?;
            p.src_port = u16::from_be_bytes([h[0], h[1]]);
            p.dst_port = u16::from_be_bytes([h[2], h[3]]);
            p.payload = &l4[8..];
        }
        _ => {}
    }
    Ok(p)
}

/// Builders for well-formed packets, used by tests and the benchmark.
pub mod build {
    use super::*;

    /// A TCP header (no options, checksum left 0) followed by `payload`.
    fn tcp(sport: u16, dport: u16, flags: u8, payload: &[u8]) -> Vec<u8> {
        let mut t = vec![0u8; 20];
        t[0..2].copy_from_slice(&sport.to_be_bytes());
        t[2..4].copy_from_slice(&dport.to_be_bytes());
        t[12] = 5 << 4;
        t[13] = flags;
        t.extend_from_slice(payload);
        t
    }

    /// A UDP header (checksum left 0) followed by `payload`.
    fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
        let mut u = vec![0u8; 8];
        u[0..2].copy_from_slice(&sport.to_be_bytes());
        u[2..4].copy_from_slice(&dport.to_be_bytes());
        u[4..6].copy_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        u.extend_from_slice(payload);
        u
    }

    /// An IPv4 header without options around a transport segment.
    fn ipv4(proto: u8, src: Ipv4Addr, dst: Ipv4Addr, l4: &[u8]) -> Vec<u8> {
        let total = 20 + l4.len();
        let mut p = vec![0u8; 20];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        p[8] = 64;
        p[9] = proto;
        p[12..16].copy_from_slice(&src.octets());
        p[16..20].copy_from_slice(&dst.octets());
        p.extend_from_slice(l4);
        p
    }

    pub fn ipv4_tcp(
        src: Ipv4Addr,
        dst: Ipv4Addr,
        sport: u16,
        dport: u16,
        flags: u8,
        payload: &[u8],
    ) -> Vec<u8> {
        ipv4(PROTO_TCP, src, dst, &tcp(sport, dport, flags, payload))
    }

    pub fn ipv4_udp(
        src: Ipv4Addr,
        dst: Ipv4Addr,
        sport: u16,
        dport: u16,
        payload: &[u8],
    ) -> Vec<u8> {
        ipv4(PROTO_UDP, src, dst, &udp(sport, dport, payload))
    }

    /// IPv6 + hop-by-hop extension header + TCP.
    pub fn ipv6_tcp(
        src: Ipv6Addr,
        dst: Ipv6Addr,
        sport: u16,
        dport: u16,
        flags: u8,
        payload: &[u8],
    ) -> Vec<u8> {
        let segment = tcp(sport, dport, flags, payload);
        let mut p = vec![0u8; 48];
        p[0] = 0x60;
        p[4..6].copy_from_slice(&((8 + segment.len()) as u16).to_be_bytes());
        p[6] = 0; // hop-by-hop
        p[7] = 64;
        p[8..24].copy_from_slice(&src.octets());
        p[24..40].copy_from_slice(&dst.octets());
        p[40] = PROTO_TCP; // next header after hop-by-hop
        p[41] = 0; // (0 + 1) * 8 bytes
        p.extend_from_slice(&segment);
        p
    }
}

#[cfg(test)]
mod tests {
    use super::build::*;
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn parses_ipv4_tcp_with_options_at_the_right_offset() {
        let mut p = ipv4_tcp(
            Ipv4Addr::new(192, 0, 2, 1),
            Ipv4Addr::new(192, 0, 2, 2),
            40000,
            443,
            TCP_SYN,
            b"",
        );
        // Grow the IP header to 24 bytes (one option word): the TCP header moves with it.
        p.insert(20, 0);
        p.insert(20, 0);
        p.insert(20, 0);
        p.insert(20, 1);
        p[0] = 0x46;
        let total = p.len() as u16;
        p[2..4].copy_from_slice(&total.to_be_bytes());
        let pk = parse(&p).unwrap();
        assert_eq!(pk.src, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
        assert_eq!((pk.src_port, pk.dst_port), (40000, 443));
        assert!(pk.is_syn());
    }

    #[test]
    fn parses_payload_after_tcp_options() {
        let mut p = ipv4_tcp(
            Ipv4Addr::LOCALHOST,
            Ipv4Addr::LOCALHOST,
            1,
            80,
            TCP_ACK,
            b"GET /",
        );
        // data offset 6 words with a 4-byte NOP option block inserted before the payload
        p.splice(40..40, [1u8, 1, 1, 1]);
        p[32] = 6 << 4;
        let total = p.len() as u16;
        p[2..4].copy_from_slice(&total.to_be_bytes());
        let pk = parse(&p).unwrap();
        assert_eq!(pk.payload, b"GET /");
        assert!(!pk.is_syn());
    }

    #[test]
    fn parses_udp_and_ipv6_extension_headers() {
        let p = ipv4_udp(Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST, 5353, 53, b"q");
        let pk = parse(&p).unwrap();
        assert_eq!(
            (pk.proto, pk.dst_port, pk.payload),
            (PROTO_UDP, 53, &b"q"[..])
        );
        let src: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let p = ipv6_tcp(src, Ipv6Addr::LOCALHOST, 1234, 80, TCP_SYN, b"x");
        let pk = parse(&p).unwrap();
        assert_eq!(pk.src, IpAddr::V6(src));
        assert_eq!(
            (pk.proto, pk.dst_port, pk.payload),
            (PROTO_TCP, 80, &b"x"[..])
        );
        assert!(pk.is_syn());
    }

    #[test]
    fn non_first_fragment_has_no_ports() {
        let mut p = ipv4_tcp(
            Ipv4Addr::LOCALHOST,
            Ipv4Addr::LOCALHOST,
            1,
            80,
            TCP_SYN,
            b"",
        );
        p[7] = 10; // fragment offset 10
        let pk = parse(&p).unwrap();
        assert!(pk.fragment);
        assert_eq!(pk.dst_port, 0);
    }

    #[test]
    fn rejects_malformed_headers() {
        assert_eq!(parse(&[]), Err(ParseError::Empty));
        assert!(parse(&[0x45; 19]).is_err());
        assert!(parse(&[0x75; 40]).is_err());
        let mut p = ipv4_tcp(
            Ipv4Addr::LOCALHOST,
            Ipv4Addr::LOCALHOST,
            1,
            80,
            TCP_SYN,
            b"",
        );
        p[32] = 2 << 4; // TCP data offset below 20 bytes
        assert!(parse(&p).is_err());
        let mut p = ipv4_tcp(
            Ipv4Addr::LOCALHOST,
            Ipv4Addr::LOCALHOST,
            1,
            80,
            TCP_SYN,
            b"",
        );
        p[0] = 0x4f; // IHL 60 > packet
        assert!(parse(&p[..40]).is_err());
    }

    /// Fuzz-style property: random bytes and random mutations of valid packets never panic,
    /// and whatever parses has its payload inside the input.
    #[test]
    fn random_and_mutated_bytes_never_panic() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
        let seeds = [
            ipv4_tcp(
                Ipv4Addr::LOCALHOST,
                Ipv4Addr::LOCALHOST,
                1,
                80,
                TCP_SYN,
                b"hello",
            ),
            ipv4_udp(Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST, 1, 53, b"hello"),
            ipv6_tcp(
                Ipv6Addr::LOCALHOST,
                Ipv6Addr::LOCALHOST,
                1,
                80,
                TCP_SYN,
                b"hello",
            ),
        ];
        for i in 0..200_000u32 {
            let buf: Vec<u8> = if i % 2 == 0 {
                let len = rng.gen_range(0..120);
                let mut b: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
                if let Some(f) = b.first_mut() {
                    *f = (*f & 0x0f) | if rng.gen() { 0x40 } else { 0x60 };
                }
                b
            } else {
                let mut b = seeds[(i as usize / 2) % seeds.len()].clone();
                for _ in 0..rng.gen_range(1..4) {
                    let at = rng.gen_range(0..b.len());
                    b[at] = rng.gen();
                }
                b.truncate(rng.gen_range(0..=b.len()));
                b
            };
            if let Ok(p) = parse(&buf) {
                let start = buf.as_ptr() as usize;
                let ps = p.payload.as_ptr() as usize;
                assert!(
                    p.payload.is_empty()
                        || (ps >= start && ps + p.payload.len() <= start + buf.len())
                );
            }
        }
    }
}
