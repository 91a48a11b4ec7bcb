//! The parcel: a message wrapped in a TCP segment, an IP packet and a link frame. One
//! codec both builds these bytes (lesson 01) and reads them back from a capture file
//! (lesson 12), and draws them as nested, coloured layers.
//!
//! ```
//! use std::net::SocketAddrV4;
//! use tcp_lessons::parcel::{Parcel, Packet, internet_checksum};
//!
//! let src: SocketAddrV4 = "127.0.0.1:50000".parse().unwrap();
//! let dst: SocketAddrV4 = "127.0.0.1:1234".parse().unwrap();
//! let parcel = Parcel::new(b"Michael", src, dst).unwrap();
//! assert_eq!(parcel.frame().len(), 14 + 20 + 20 + 7);
//! // A header with its checksum filled in sums to zero.
//! assert_eq!(internet_checksum(&parcel.ipv4_header()), 0);
//! // What was built reads back as the same packet.
//! let read = Packet::parse(Packet::ETHERNET, &parcel.frame()).unwrap();
//! assert_eq!(&read, parcel.packet());
//! print!("{}", parcel.render());
//! ```
//!
//! The codec: [`Packet`] is one frame as its fields (a [`Link`] header, an [`Ip`]
//! header, a [`Tcp`] header and the data); [`Packet::to_bytes`] writes every field where
//! its RFC puts it, [`Packet::parse`] reads them back, and [`Packet::seal`] fills in what
//! a sender computes (the lengths and both checksums). [`Capture`] reads and writes the
//! classic pcap file format that `tcpdump -w` writes.
//!
//! In lesson 01's [`Parcel`] every byte is real: lengths, addresses, ports, flags and
//! both checksums are computed. A few values have no single right answer outside a
//! real connection, and are fixed so that the output can be repeated:
//! [`SEQUENCE_NUMBER`], [`ACKNOWLEDGMENT_NUMBER`], [`WINDOW`] and [`IDENTIFICATION`]. Its
//! TCP header is the minimal one, with no options (Linux usually adds 12 bytes of
//! timestamps).
//!
//! The last part, *a capture in words*, holds what lesson 12 prints of a capture that is
//! not that lesson's point: reading a file ([`read_capture_file`]), the file's header
//! described, a packet's layers a line each ([`Packet::layers`]), tcpdump's line, the
//! timeline's labels and ladder, and times and data as text.

use colored::{Color, Colorize};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4};

/// An Ethernet II header: destination MAC, source MAC, EtherType.
pub const ETHERNET_HEADER_LEN: usize = 14;
/// An IPv4 header without options.
pub const IPV4_HEADER_LEN: usize = 20;
/// An IPv6 header (extension headers, if any, follow it).
pub const IPV6_HEADER_LEN: usize = 40;
/// A TCP header without options.
pub const TCP_HEADER_LEN: usize = 20;
/// The most application data one IPv4 packet can carry behind a 20-byte TCP header:
/// the IPv4 total length is a 16-bit field, so a packet is at most 65535 bytes.
pub const MAX_MESSAGE_LEN: usize = u16::MAX as usize - IPV4_HEADER_LEN - TCP_HEADER_LEN;

/// EtherType of an IPv4 packet.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of an IPv6 packet.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// IP protocol number of TCP.
pub const PROTOCOL_TCP: u8 = 6;
/// Time to live: Linux's default (`net.ipv4.ip_default_ttl`).
pub const TTL: u8 = 64;
/// Illustrative: the first data byte after the handshake, counted from the start as
/// Wireshark does. A real connection starts from a random initial sequence number (ISN),
/// so the raw number on the wire is ISN + 1.
pub const SEQUENCE_NUMBER: u32 = 1;
/// Illustrative: the next byte expected from the peer, counted from its own random ISN.
pub const ACKNOWLEDGMENT_NUMBER: u32 = 1;
/// Illustrative: how many more bytes the sender of this segment has room to receive.
pub const WINDOW: u16 = 65535;
/// Illustrative: Linux numbers each connection's packets from a random start, one more
/// per packet (a SYN-ACK, and an ACK sent from TIME_WAIT, carry 0). With DF set no
/// fragment is ever made, so no one reassembles by it.
pub const IDENTIFICATION: u16 = 0x0000;

/// The TCP flags, bit by bit, in the 14th byte of the header (RFC 9293, section 3.1).
pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;
pub const URG: u8 = 0x20;
pub const ECE: u8 = 0x40;
pub const CWR: u8 = 0x80;

/// IPv4's "don't fragment" and "more fragments" flags, and the fragment offset's bits,
/// in the 16-bit word at bytes 6..8.
const DONT_FRAGMENT: u16 = 0x4000;
const MORE_FRAGMENTS: u16 = 0x2000;
const FRAGMENT_OFFSET: u16 = 0x1fff;
/// Hex lines are cut at this many bytes.
const HEX_ROW: usize = 16;
/// Longer data is shown in part.
const SHOW_DATA: usize = 64;

// ANCHOR: checksum
/// The RFC 1071 Internet checksum: the ones' complement of the ones'-complement sum of
/// the 16-bit big-endian words of `bytes` (an odd last byte is padded with a zero).
///
/// Computed over a header whose checksum field is zero, it gives the value to put
/// there; computed over a header with its checksum filled in, it gives 0.
pub fn internet_checksum(bytes: &[u8]) -> u16 {
    !ones_complement_sum(bytes)
}

/// The ones'-complement sum of the 16-bit big-endian words of `bytes`.
pub fn ones_complement_sum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for pair in bytes.chunks(2) {
        let word = u16::from_be_bytes([pair[0], pair.get(1).copied().unwrap_or(0)]);
        sum += u32::from(word);
        // Fold the carry back in at once, so the sum never overflows.
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}
// ANCHOR_END: checksum

// ---- The codec: one packet as its fields -------------------------------------------

/// A link-layer header, as a capture file stores it. Which of them a file holds is
/// its *link type*, one number in its header (tcpdump.org's list of link-layer header
/// types).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// Ethernet II (link type 1): destination MAC, source MAC, EtherType. Linux writes
    /// it on loopback too, both MACs zero.
    Ethernet {
        dst: [u8; 6],
        src: [u8; 6],
        ethertype: u16,
    },
    /// BSD loopback (link type 0, `NULL`), as macOS writes it on `lo0`: only the
    /// address family, 4 bytes in the byte order of the machine that wrote them.
    Null { family: [u8; 4] },
    /// Linux cooked capture (link type 113, `LINUX_SLL`), what `tcpdump -i any` wrote
    /// before libpcap 1.10: 16 bytes.
    Sll {
        /// 0: to this host, 4: sent by this host, ...
        packet_type: u16,
        /// The device's ARPHRD_ type: 1 Ethernet, 772 loopback.
        hardware: u16,
        address_len: u16,
        /// The first 8 bytes of the link-layer source address, padded with zeros.
        address: [u8; 8],
        /// An EtherType.
        protocol: u16,
    },
    /// Linux cooked capture v2 (link type 276, `LINUX_SLL2`), what `tcpdump -i any`
    /// writes since libpcap 1.10: 20 bytes, with the interface's index.
    Sll2 {
        protocol: u16,
        reserved: u16,
        interface: u32,
        hardware: u16,
        packet_type: u8,
        address_len: u8,
        address: [u8; 8],
    },
}

/// The IP layer of a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ip {
    V4(Ipv4),
    V6(Ipv6),
}

/// An IPv4 header (RFC 791), every field as it stands on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv4 {
    /// DSCP (6 bits) and ECN (2 bits).
    pub dscp_ecn: u8,
    /// This header and all it carries, in bytes.
    pub total_len: u16,
    pub identification: u16,
    /// Flags (3 bits: reserved, DF, MF) and fragment offset (13 bits).
    pub flags_fragment: u16,
    pub ttl: u8,
    pub protocol: u8,
    pub checksum: u16,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    /// Options, a multiple of 4 bytes (at most 40): none in what Linux sends.
    pub options: Vec<u8>,
}

/// An IPv6 header (RFC 8200). It has no checksum: TCP's covers the addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv6 {
    pub traffic_class: u8,
    /// 20 bits.
    pub flow_label: u32,
    /// What follows this 40-byte header, in bytes.
    pub payload_len: u16,
    pub next_header: u8,
    pub hop_limit: u8,
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
}

/// A TCP header (RFC 9293, section 3.1), every field as it stands on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tcp {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    /// The 4 bits after the data offset, reserved (RFC 9293 keeps them zero).
    pub reserved: u8,
    /// [`FIN`], [`SYN`], [`RST`], [`PSH`], [`ACK`], [`URG`], [`ECE`], [`CWR`].
    pub flags: u8,
    /// Unscaled, as written: multiply by 2^scale when both sides sent a window scale.
    pub window: u16,
    pub checksum: u16,
    pub urgent: u16,
    pub options: Vec<TcpOption>,
}

/// A TCP option. The end-of-list option (kind 0) and the zero bytes after it are the
/// padding of [`Tcp::options_bytes`], not options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TcpOption {
    /// Kind 1, one byte: aligns the next option.
    Nop,
    /// Kind 2: maximum segment size, in a SYN (RFC 9293).
    Mss(u16),
    /// Kind 3: window scale, in a SYN (RFC 7323): windows are multiplied by 2^shift.
    WindowScale(u8),
    /// Kind 4: SACK permitted, in a SYN (RFC 2018).
    SackPermitted,
    /// Kind 8: timestamps (RFC 7323): the sender's clock, and the last one it received.
    Timestamps { value: u32, echo: u32 },
    /// Any other kind (SACK blocks are kind 5), its data as it stands.
    Other { kind: u8, data: Vec<u8> },
}

/// One frame: a link header, an IP header, a TCP header and the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub link: Link,
    pub ip: Ip,
    pub tcp: Tcp,
    pub payload: Vec<u8>,
    /// Bytes after the IP packet: Ethernet pads frames to 60 bytes. Kept, so that a
    /// frame read and written again is the same bytes.
    pub trailer: Vec<u8>,
}

/// Why a frame was not read as a TCP segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotTcp {
    /// Another protocol (ARP, UDP, an IPv4 fragment, ...): not an error, nothing to
    /// decode here.
    Other(String),
    /// The bytes contradict themselves: a header longer than the frame, a length field
    /// smaller than its headers, an option running past its header.
    Malformed(String),
}

impl fmt::Display for NotTcp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotTcp::Other(what) | NotTcp::Malformed(what) => f.write_str(what),
        }
    }
}

fn malformed<T>(what: String) -> Result<T, NotTcp> {
    Err(NotTcp::Malformed(what))
}

/// `bytes[at..at + N]`, or a clear error naming `what` was cut short.
fn take<const N: usize>(bytes: &[u8], at: usize, what: &str) -> Result<[u8; N], NotTcp> {
    match bytes.get(at..at + N) {
        Some(slice) => Ok(slice.try_into().unwrap_or([0; N])),
        None => malformed(format!(
            "{what} is cut short: it needs {} bytes, {} are left",
            at + N,
            bytes.len()
        )),
    }
}

fn be16(bytes: [u8; 2]) -> u16 {
    u16::from_be_bytes(bytes)
}

fn be32(bytes: [u8; 4]) -> u32 {
    u32::from_be_bytes(bytes)
}

impl Link {
    /// Link type 0: BSD loopback.
    pub const NULL: u32 = 0;
    /// Link type 1: Ethernet.
    pub const ETHERNET: u32 = 1;
    /// Link type 113: Linux cooked capture.
    pub const LINUX_SLL: u32 = 113;
    /// Link type 276: Linux cooked capture v2.
    pub const LINUX_SLL2: u32 = 276;

    /// The link types this codec reads, with their names.
    pub const KNOWN: [(u32, &'static str); 4] = [
        (Link::ETHERNET, "Ethernet"),
        (Link::LINUX_SLL, "Linux cooked capture (SLL)"),
        (Link::LINUX_SLL2, "Linux cooked capture v2 (SLL2)"),
        (Link::NULL, "BSD loopback (NULL)"),
    ];

    /// The link type of a capture that holds this header.
    pub fn link_type(&self) -> u32 {
        match self {
            Link::Ethernet { .. } => Link::ETHERNET,
            Link::Null { .. } => Link::NULL,
            Link::Sll { .. } => Link::LINUX_SLL,
            Link::Sll2 { .. } => Link::LINUX_SLL2,
        }
    }

    /// A name for people.
    pub fn name(&self) -> &'static str {
        match self {
            Link::Ethernet { .. } => "Ethernet II",
            Link::Null { .. } => "BSD loopback, NULL",
            Link::Sll { .. } => "Linux cooked capture, SLL",
            Link::Sll2 { .. } => "Linux cooked capture v2, SLL2",
        }
    }

    /// The header's length in bytes.
    pub fn len(&self) -> usize {
        match self {
            Link::Ethernet { .. } => ETHERNET_HEADER_LEN,
            Link::Null { .. } => 4,
            Link::Sll { .. } => 16,
            Link::Sll2 { .. } => 20,
        }
    }

    /// Never: every link header has bytes. (Here for clippy's `len_without_is_empty`.)
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Which IP version the header says follows it, if it says IPv4 or IPv6.
    pub fn ip_version(&self) -> Option<u8> {
        let ethertype = match self {
            Link::Ethernet { ethertype, .. } => *ethertype,
            Link::Sll { protocol, .. } | Link::Sll2 { protocol, .. } => *protocol,
            Link::Null { .. } => {
                return match self.null_family() {
                    2 => Some(4),
                    // IPv6's AF_INET6 differs from system to system: 24 NetBSD and
                    // OpenBSD, 28 FreeBSD, 30 macOS.
                    24 | 28 | 30 => Some(6),
                    _ => None,
                };
            }
        };
        match ethertype {
            ETHERTYPE_IPV4 => Some(4),
            ETHERTYPE_IPV6 => Some(6),
            _ => None,
        }
    }

    /// The NULL header's address family, read in whichever byte order gives a small
    /// number: the writer's own order, which a reader cannot otherwise know.
    pub fn null_family(&self) -> u32 {
        match self {
            Link::Null { family } => {
                let little = u32::from_le_bytes(*family);
                if little <= 0xffff {
                    little
                } else {
                    u32::from_be_bytes(*family)
                }
            }
            _ => 0,
        }
    }

    // ANCHOR: link_parse
    /// Reads the link header of a frame of `link_type`; returns it with what follows.
    pub fn parse(link_type: u32, frame: &[u8]) -> Result<(Link, &[u8]), NotTcp> {
        let link = match link_type {
            Link::ETHERNET => Link::Ethernet {
                dst: take(frame, 0, "an Ethernet header")?,
                src: take(frame, 6, "an Ethernet header")?,
                ethertype: be16(take(frame, 12, "an Ethernet header")?),
            },
            Link::NULL => Link::Null {
                family: take(frame, 0, "a BSD loopback header")?,
            },
            Link::LINUX_SLL => Link::Sll {
                packet_type: be16(take(frame, 0, "a Linux cooked header")?),
                hardware: be16(take(frame, 2, "a Linux cooked header")?),
                address_len: be16(take(frame, 4, "a Linux cooked header")?),
                address: take(frame, 6, "a Linux cooked header")?,
                protocol: be16(take(frame, 14, "a Linux cooked header")?),
            },
            Link::LINUX_SLL2 => Link::Sll2 {
                protocol: be16(take(frame, 0, "a Linux cooked v2 header")?),
                reserved: be16(take(frame, 2, "a Linux cooked v2 header")?),
                interface: be32(take(frame, 4, "a Linux cooked v2 header")?),
                hardware: be16(take(frame, 8, "a Linux cooked v2 header")?),
                packet_type: take::<1>(frame, 10, "a Linux cooked v2 header")?[0],
                address_len: take::<1>(frame, 11, "a Linux cooked v2 header")?[0],
                address: take(frame, 12, "a Linux cooked v2 header")?,
            },
            other => return Err(NotTcp::Malformed(unknown_link_type(other))),
        };
        let rest = &frame[link.len()..];
        Ok((link, rest))
    }
    // ANCHOR_END: link_parse

    /// The header's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut h = Vec::with_capacity(self.len());
        match self {
            Link::Ethernet {
                dst,
                src,
                ethertype,
            } => {
                h.extend_from_slice(dst);
                h.extend_from_slice(src);
                h.extend_from_slice(&ethertype.to_be_bytes());
            }
            Link::Null { family } => h.extend_from_slice(family),
            Link::Sll {
                packet_type,
                hardware,
                address_len,
                address,
                protocol,
            } => {
                h.extend_from_slice(&packet_type.to_be_bytes());
                h.extend_from_slice(&hardware.to_be_bytes());
                h.extend_from_slice(&address_len.to_be_bytes());
                h.extend_from_slice(address);
                h.extend_from_slice(&protocol.to_be_bytes());
            }
            Link::Sll2 {
                protocol,
                reserved,
                interface,
                hardware,
                packet_type,
                address_len,
                address,
            } => {
                h.extend_from_slice(&protocol.to_be_bytes());
                h.extend_from_slice(&reserved.to_be_bytes());
                h.extend_from_slice(&interface.to_be_bytes());
                h.extend_from_slice(&hardware.to_be_bytes());
                h.push(*packet_type);
                h.push(*address_len);
                h.extend_from_slice(address);
            }
        }
        h
    }
}

/// One line on a link type this codec does not read.
pub fn unknown_link_type(link_type: u32) -> String {
    let known: Vec<String> = Link::KNOWN
        .iter()
        .map(|(number, name)| format!("{name} ({number})"))
        .collect();
    format!(
        "link type {link_type} is not one this program reads; it reads {} \
         (tcpdump -r FILE says which link type a file has)",
        known.join(", ")
    )
}

impl Ipv4 {
    /// The header's length in bytes: 20 plus the options.
    pub fn header_len(&self) -> usize {
        IPV4_HEADER_LEN + self.options.len()
    }

    /// Whether DF, "don't fragment", is set.
    pub fn dont_fragment(&self) -> bool {
        self.flags_fragment & DONT_FRAGMENT != 0
    }

    /// Whether this packet is a fragment of a larger one (MF set, or an offset).
    pub fn is_fragment(&self) -> bool {
        self.flags_fragment & (MORE_FRAGMENTS | FRAGMENT_OFFSET) != 0
    }

    /// Whether the header checksum is right: the header, checksum included, sums to 0.
    pub fn checksum_ok(&self) -> bool {
        internet_checksum(&self.to_bytes()) == 0
    }

    /// The checksum the header should carry.
    pub fn checksum_should_be(&self) -> u16 {
        let mut zeroed = self.clone();
        zeroed.checksum = 0;
        internet_checksum(&zeroed.to_bytes())
    }

    // ANCHOR: ipv4_header
    /// The header's bytes, every field where RFC 791 puts it. [`Packet::seal`] computes
    /// the total length and the checksum first, as a sender does.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut h = vec![0; IPV4_HEADER_LEN];
        h[0] = (4 << 4) | (self.header_len() / 4) as u8; // version 4, IHL in 32-bit words
        h[1] = self.dscp_ecn; // DSCP and ECN: no special treatment when 0
        h[2..4].copy_from_slice(&self.total_len.to_be_bytes());
        h[4..6].copy_from_slice(&self.identification.to_be_bytes());
        h[6..8].copy_from_slice(&self.flags_fragment.to_be_bytes()); // DF, MF, offset
        h[8] = self.ttl;
        h[9] = self.protocol;
        h[10..12].copy_from_slice(&self.checksum.to_be_bytes());
        h[12..16].copy_from_slice(&self.src.octets());
        h[16..20].copy_from_slice(&self.dst.octets());
        h.extend_from_slice(&self.options);
        h
    }

    /// Fills in the checksum: computed over the header with the field still zero.
    pub fn seal(&mut self) {
        self.checksum = 0;
        self.checksum = internet_checksum(&self.to_bytes());
    }
    // ANCHOR_END: ipv4_header

    // ANCHOR: ipv4_parse
    /// Reads an IPv4 header from the start of `bytes`; returns it with what follows
    /// it, up to the end the total length says (a frame may carry padding after it).
    pub fn parse(bytes: &[u8]) -> Result<(Ipv4, &[u8]), NotTcp> {
        if bytes.len() < IPV4_HEADER_LEN {
            return malformed(format!(
                "the IPv4 header is cut short: it needs 20 bytes at least, {} are left",
                bytes.len()
            ));
        }
        let [version_ihl, dscp_ecn] = take(bytes, 0, "an IPv4 header")?;
        if version_ihl >> 4 != 4 {
            return malformed(format!(
                "the link header says IPv4, but the IP version field says {}",
                version_ihl >> 4
            ));
        }
        let header_len = usize::from(version_ihl & 0x0f) * 4; // IHL counts 32-bit words
        if header_len < IPV4_HEADER_LEN {
            return malformed(format!(
                "IHL {} makes a {header_len}-byte IPv4 header; the smallest is 20",
                version_ihl & 0x0f
            ));
        }
        if header_len > bytes.len() {
            return malformed(format!(
                "IHL {} says the IPv4 header is {header_len} bytes, but only {} bytes were \
                 captured after the link header",
                version_ihl & 0x0f,
                bytes.len()
            ));
        }
        let header = Ipv4 {
            dscp_ecn,
            total_len: be16(take(bytes, 2, "an IPv4 header")?),
            identification: be16(take(bytes, 4, "an IPv4 header")?),
            flags_fragment: be16(take(bytes, 6, "an IPv4 header")?),
            ttl: take::<1>(bytes, 8, "an IPv4 header")?[0],
            protocol: take::<1>(bytes, 9, "an IPv4 header")?[0],
            checksum: be16(take(bytes, 10, "an IPv4 header")?),
            src: Ipv4Addr::from(take::<4>(bytes, 12, "an IPv4 header")?),
            dst: Ipv4Addr::from(take::<4>(bytes, 16, "an IPv4 header")?),
            options: bytes[IPV4_HEADER_LEN..header_len].to_vec(),
        };
        let total = usize::from(header.total_len);
        if total < header_len {
            return malformed(format!(
                "the IPv4 total length, {total}, is shorter than its own {header_len}-byte header"
            ));
        }
        // What the packet carries ends where its total length says, or where the capture
        // ends if it was cut short (see Packet::missing).
        let end = total.min(bytes.len());
        Ok((header, &bytes[header_len..end]))
    }
    // ANCHOR_END: ipv4_parse
}

impl Ipv6 {
    /// The header's bytes (RFC 8200, section 3).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut h = vec![0; IPV6_HEADER_LEN];
        // Version 6 (4 bits), traffic class (8), flow label (20).
        let first = (6 << 28) | (u32::from(self.traffic_class) << 20) | (self.flow_label & 0xfffff);
        h[0..4].copy_from_slice(&first.to_be_bytes());
        h[4..6].copy_from_slice(&self.payload_len.to_be_bytes());
        h[6] = self.next_header;
        h[7] = self.hop_limit;
        h[8..24].copy_from_slice(&self.src.octets());
        h[24..40].copy_from_slice(&self.dst.octets());
        h
    }

    /// Reads an IPv6 header; returns it with its payload (up to the payload length).
    pub fn parse(bytes: &[u8]) -> Result<(Ipv6, &[u8]), NotTcp> {
        if bytes.len() < IPV6_HEADER_LEN {
            return malformed(format!(
                "the IPv6 header is cut short: it needs 40 bytes, {} are left",
                bytes.len()
            ));
        }
        let first = be32(take(bytes, 0, "an IPv6 header")?);
        if first >> 28 != 6 {
            return malformed(format!(
                "the link header says IPv6, but the IP version field says {}",
                first >> 28
            ));
        }
        let header = Ipv6 {
            traffic_class: (first >> 20) as u8,
            flow_label: first & 0xfffff,
            payload_len: be16(take(bytes, 4, "an IPv6 header")?),
            next_header: take::<1>(bytes, 6, "an IPv6 header")?[0],
            hop_limit: take::<1>(bytes, 7, "an IPv6 header")?[0],
            src: Ipv6Addr::from(take::<16>(bytes, 8, "an IPv6 header")?),
            dst: Ipv6Addr::from(take::<16>(bytes, 24, "an IPv6 header")?),
        };
        let end = (IPV6_HEADER_LEN + usize::from(header.payload_len)).min(bytes.len());
        Ok((header, &bytes[IPV6_HEADER_LEN..end]))
    }
}

impl Ip {
    pub fn src(&self) -> IpAddr {
        match self {
            Ip::V4(h) => IpAddr::V4(h.src),
            Ip::V6(h) => IpAddr::V6(h.src),
        }
    }

    pub fn dst(&self) -> IpAddr {
        match self {
            Ip::V4(h) => IpAddr::V4(h.dst),
            Ip::V6(h) => IpAddr::V6(h.dst),
        }
    }

    /// The header's length in bytes.
    pub fn header_len(&self) -> usize {
        match self {
            Ip::V4(h) => h.header_len(),
            Ip::V6(_) => IPV6_HEADER_LEN,
        }
    }

    /// How many bytes the header says follow it.
    pub fn says_payload_len(&self) -> usize {
        match self {
            Ip::V4(h) => usize::from(h.total_len).saturating_sub(h.header_len()),
            Ip::V6(h) => usize::from(h.payload_len),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Ip::V4(h) => h.to_bytes(),
            Ip::V6(h) => h.to_bytes(),
        }
    }
}

impl TcpOption {
    /// The option's bytes: its kind, its total length (except for NOP), its data.
    pub fn to_bytes(&self) -> Vec<u8> {
        let with = |kind: u8, data: &[u8]| {
            let mut bytes = vec![kind, (2 + data.len()) as u8];
            bytes.extend_from_slice(data);
            bytes
        };
        match self {
            TcpOption::Nop => vec![1],
            TcpOption::Mss(mss) => with(2, &mss.to_be_bytes()),
            TcpOption::WindowScale(shift) => with(3, &[*shift]),
            TcpOption::SackPermitted => with(4, &[]),
            TcpOption::Timestamps { value, echo } => {
                let mut data = value.to_be_bytes().to_vec();
                data.extend_from_slice(&echo.to_be_bytes());
                with(8, &data)
            }
            TcpOption::Other { kind, data } => with(*kind, data),
        }
    }

    /// How the option reads, as tcpdump would name it.
    pub fn describe(&self) -> String {
        match self {
            TcpOption::Nop => "NOP".into(),
            TcpOption::Mss(mss) => format!("MSS {mss}"),
            TcpOption::WindowScale(shift) => {
                format!("window scale {shift} (× {})", 1u64 << (*shift).min(63))
            }
            TcpOption::SackPermitted => "SACK permitted".into(),
            TcpOption::Timestamps { value, echo } => format!("timestamps {value}, echo {echo}"),
            TcpOption::Other { kind, data } => format!("kind {kind}, {} bytes of data", data.len()),
        }
    }
}

// ANCHOR: tcp_options
/// Reads the options: kind, length, data, until the header ends or an end-of-list
/// option (kind 0) says that only padding follows.
fn parse_options(mut bytes: &[u8]) -> Result<Vec<TcpOption>, NotTcp> {
    let mut options = Vec::new();
    while let Some(&kind) = bytes.first() {
        match kind {
            0 => break, // end of list: the rest is padding
            1 => {
                options.push(TcpOption::Nop);
                bytes = &bytes[1..];
                continue;
            }
            _ => {}
        }
        let Some(&len) = bytes.get(1) else {
            return malformed(format!("TCP option kind {kind} has no length byte"));
        };
        let len = usize::from(len);
        if len < 2 || len > bytes.len() {
            return malformed(format!(
                "TCP option kind {kind} says it is {len} bytes long, but {} bytes of \
                 options are left",
                bytes.len()
            ));
        }
        let data = &bytes[2..len];
        options.push(match (kind, data) {
            (2, &[a, b]) => TcpOption::Mss(u16::from_be_bytes([a, b])),
            (3, &[shift]) => TcpOption::WindowScale(shift),
            (4, []) => TcpOption::SackPermitted,
            (8, &[a, b, c, d, e, f, g, h]) => TcpOption::Timestamps {
                value: u32::from_be_bytes([a, b, c, d]),
                echo: u32::from_be_bytes([e, f, g, h]),
            },
            _ => TcpOption::Other {
                kind,
                data: data.to_vec(),
            },
        });
        bytes = &bytes[len..];
    }
    Ok(options)
}
// ANCHOR_END: tcp_options

impl Tcp {
    /// The options as bytes, padded with zeros (end of list) to a multiple of 4.
    pub fn options_bytes(&self) -> Vec<u8> {
        let mut bytes: Vec<u8> = self.options.iter().flat_map(TcpOption::to_bytes).collect();
        while bytes.len() % 4 != 0 {
            bytes.push(0);
        }
        bytes
    }

    /// The header's length in bytes: 20 plus the padded options.
    pub fn header_len(&self) -> usize {
        TCP_HEADER_LEN + self.options_bytes().len()
    }

    /// The maximum segment size its MSS option announces (a SYN's), if it has one.
    pub fn mss(&self) -> Option<u16> {
        self.options.iter().find_map(|option| match option {
            TcpOption::Mss(mss) => Some(*mss),
            _ => None,
        })
    }

    /// The shift its window scale option announces (a SYN's, RFC 7323), if it has one.
    pub fn window_scale(&self) -> Option<u8> {
        self.options.iter().find_map(|option| match option {
            TcpOption::WindowScale(shift) => Some(*shift),
            _ => None,
        })
    }

    /// Whether all of `flags` are set.
    pub fn has(&self, flags: u8) -> bool {
        self.flags & flags == flags
    }

    /// The flags in words, `SYN ACK`; `none` when no flag is set.
    pub fn flag_names(&self) -> String {
        let names = [
            (CWR, "CWR"),
            (ECE, "ECE"),
            (URG, "URG"),
            (SYN, "SYN"),
            (FIN, "FIN"),
            (RST, "RST"),
            (PSH, "PSH"),
            (ACK, "ACK"),
        ];
        let set: Vec<&str> = names
            .iter()
            .filter(|(bit, _)| self.flags & bit != 0)
            .map(|(_, name)| *name)
            .collect();
        if set.is_empty() {
            "none".into()
        } else {
            set.join(" ")
        }
    }

    /// The flags as tcpdump writes them: `[S.]` for SYN ACK, `[P.]` for PSH ACK.
    pub fn tcpdump_flags(&self) -> String {
        let letters = [
            (SYN, 'S'),
            (FIN, 'F'),
            (PSH, 'P'),
            (RST, 'R'),
            (URG, 'U'),
            (ECE, 'E'),
            (CWR, 'W'),
            (ACK, '.'),
        ];
        let set: String = letters
            .iter()
            .filter(|(bit, _)| self.flags & bit != 0)
            .map(|(_, letter)| *letter)
            .collect();
        if set.is_empty() {
            "[none]".into()
        } else {
            format!("[{set}]")
        }
    }

    // ANCHOR: tcp_header
    /// The header's bytes, every field where RFC 9293 puts it, starting with the two
    /// ports. The checksum is whatever the field holds: [`Packet::seal`] computes it
    /// afterwards, over these bytes and the data.
    pub fn to_bytes(&self) -> Vec<u8> {
        let options = self.options_bytes();
        let mut h = vec![0; TCP_HEADER_LEN];
        h[0..2].copy_from_slice(&self.src_port.to_be_bytes());
        h[2..4].copy_from_slice(&self.dst_port.to_be_bytes());
        h[4..8].copy_from_slice(&self.seq.to_be_bytes());
        h[8..12].copy_from_slice(&self.ack.to_be_bytes());
        let words = (TCP_HEADER_LEN + options.len()) / 4;
        h[12] = ((words as u8) << 4) | (self.reserved & 0x0f); // data offset in 32-bit words
        h[13] = self.flags;
        h[14..16].copy_from_slice(&self.window.to_be_bytes());
        h[16..18].copy_from_slice(&self.checksum.to_be_bytes());
        h[18..20].copy_from_slice(&self.urgent.to_be_bytes());
        h.extend_from_slice(&options);
        h
    }
    // ANCHOR_END: tcp_header

    // ANCHOR: tcp_parse
    /// Reads a TCP header from the start of `segment`; returns it with the data.
    pub fn parse(segment: &[u8]) -> Result<(Tcp, &[u8]), NotTcp> {
        if segment.len() < TCP_HEADER_LEN {
            return malformed(format!(
                "the TCP header is cut short: it needs 20 bytes at least, {} are left",
                segment.len()
            ));
        }
        let offset = take::<1>(segment, 12, "a TCP header")?[0];
        let header_len = usize::from(offset >> 4) * 4; // data offset counts 32-bit words
        if header_len < TCP_HEADER_LEN {
            return malformed(format!(
                "data offset {} makes a {header_len}-byte TCP header; the smallest is 20",
                offset >> 4
            ));
        }
        if header_len > segment.len() {
            return malformed(format!(
                "data offset {} says the TCP header is {header_len} bytes, but the segment \
                 holds only {}",
                offset >> 4,
                segment.len()
            ));
        }
        let header = Tcp {
            src_port: be16(take(segment, 0, "a TCP header")?),
            dst_port: be16(take(segment, 2, "a TCP header")?),
            seq: be32(take(segment, 4, "a TCP header")?),
            ack: be32(take(segment, 8, "a TCP header")?),
            reserved: offset & 0x0f,
            flags: take::<1>(segment, 13, "a TCP header")?[0],
            window: be16(take(segment, 14, "a TCP header")?),
            checksum: be16(take(segment, 16, "a TCP header")?),
            urgent: be16(take(segment, 18, "a TCP header")?),
            options: parse_options(&segment[TCP_HEADER_LEN..header_len])?,
        };
        Ok((header, &segment[header_len..]))
    }
    // ANCHOR_END: tcp_parse
}

/// What a TCP checksum turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpChecksum {
    /// Over the pseudo-header, the header and the data, the sum checks to zero.
    Correct,
    /// The field holds only the sum of the pseudo-header: the sender's kernel left the
    /// rest to the network card (checksum offload), and no card finished it. What
    /// Linux's loopback carries.
    Partial { should_be: u16 },
    /// Wrong: damaged, or made by a program that got it wrong.
    Incorrect { should_be: u16 },
    /// Part of the data was not captured: nothing to check against.
    NotCaptured,
}

impl Packet {
    /// Link type 1, Ethernet; see [`Link`] for the others.
    pub const ETHERNET: u32 = Link::ETHERNET;

    /// Reads a whole frame of a capture whose link type is `link_type`.
    pub fn parse(link_type: u32, frame: &[u8]) -> Result<Packet, NotTcp> {
        let (link, rest) = Link::parse(link_type, frame)?;
        let (ip, segment) = match link.ip_version() {
            Some(4) => {
                let (header, payload) = Ipv4::parse(rest)?;
                if header.is_fragment() {
                    return Err(NotTcp::Other(
                        "an IPv4 fragment (not reassembled here)".into(),
                    ));
                }
                if header.protocol != PROTOCOL_TCP {
                    return Err(NotTcp::Other(protocol_name(header.protocol)));
                }
                (Ip::V4(header), payload)
            }
            Some(_) => {
                let (header, payload) = Ipv6::parse(rest)?;
                if header.next_header != PROTOCOL_TCP {
                    return Err(NotTcp::Other(format!(
                        "IPv6 carrying {} (extension headers are not followed here)",
                        protocol_name(header.next_header)
                    )));
                }
                (Ip::V6(header), payload)
            }
            None => return Err(NotTcp::Other(not_ip(&link))),
        };
        let ip_end = link.len() + ip.header_len() + segment.len();
        if ip.says_payload_len() < TCP_HEADER_LEN {
            return malformed(format!(
                "the IP header says {} bytes follow it, fewer than a 20-byte TCP header",
                ip.says_payload_len()
            ));
        }
        let (tcp, payload) = Tcp::parse(segment)?;
        Ok(Packet {
            payload: payload.to_vec(),
            trailer: frame.get(ip_end..).unwrap_or_default().to_vec(),
            link,
            ip,
            tcp,
        })
    }

    /// The frame's bytes: every layer is its header followed by the layer inside it.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = self.link.to_bytes();
        bytes.extend_from_slice(&self.ip.to_bytes());
        bytes.extend_from_slice(&self.tcp.to_bytes());
        bytes.extend_from_slice(&self.payload);
        bytes.extend_from_slice(&self.trailer);
        bytes
    }

    /// The TCP segment's length: header and data.
    pub fn tcp_len(&self) -> usize {
        self.tcp.header_len() + self.payload.len()
    }

    /// How many bytes of the segment the IP header says there are, but the capture
    /// does not hold (a capture cut at its snap length).
    pub fn missing(&self) -> usize {
        self.ip.says_payload_len().saturating_sub(self.tcp_len())
    }

    /// Fills in what a sender computes: the IP lengths, the IPv4 header checksum and
    /// the TCP checksum.
    pub fn seal(mut self) -> Packet {
        let tcp_len = self.tcp_len();
        match &mut self.ip {
            Ip::V4(h) => {
                h.total_len = (h.header_len() + tcp_len) as u16;
                h.seal();
            }
            Ip::V6(h) => h.payload_len = tcp_len as u16,
        }
        self.tcp.checksum = 0;
        self.tcp.checksum = self.tcp_checksum_should_be();
        self
    }

    /// The TCP checksum the segment should carry: computed with the field zero.
    pub fn tcp_checksum_should_be(&self) -> u16 {
        let mut zeroed = self.tcp.clone();
        zeroed.checksum = 0;
        internet_checksum(&self.checksummed(&zeroed))
    }

    // ANCHOR: pseudo_header
    /// The bytes the TCP checksum covers: a pseudo-header, then `header` (this
    /// segment's, or a copy with its checksum field zero) and the data.
    fn checksummed(&self, header: &Tcp) -> Vec<u8> {
        let mut covered = self.pseudo_header();
        covered.extend_from_slice(&header.to_bytes());
        covered.extend_from_slice(&self.payload);
        covered
    }

    /// The pseudo-header (RFC 9293, section 3.1; RFC 8200, section 8.1, for IPv6): both
    /// addresses, the protocol and the segment's length. It is never sent: it makes a
    /// segment delivered to the wrong address fail the check.
    pub fn pseudo_header(&self) -> Vec<u8> {
        let tcp_len = self.tcp_len();
        let mut covered = Vec::with_capacity(40);
        match &self.ip {
            Ip::V4(h) => {
                covered.extend_from_slice(&h.src.octets());
                covered.extend_from_slice(&h.dst.octets());
                covered.extend_from_slice(&[0, PROTOCOL_TCP]);
                covered.extend_from_slice(&(tcp_len as u16).to_be_bytes());
            }
            Ip::V6(h) => {
                covered.extend_from_slice(&h.src.octets());
                covered.extend_from_slice(&h.dst.octets());
                covered.extend_from_slice(&(tcp_len as u32).to_be_bytes());
                covered.extend_from_slice(&[0, 0, 0, PROTOCOL_TCP]);
            }
        }
        covered
    }
    // ANCHOR_END: pseudo_header

    // ANCHOR: tcp_checksum_check
    /// Checks the TCP checksum, and says why it is wrong when it is wrong in the way
    /// checksum offload leaves it.
    pub fn tcp_checksum(&self) -> TcpChecksum {
        if self.missing() > 0 {
            return TcpChecksum::NotCaptured;
        }
        if internet_checksum(&self.checksummed(&self.tcp)) == 0 {
            return TcpChecksum::Correct;
        }
        let should_be = self.tcp_checksum_should_be();
        // Offload: the kernel writes the sum of the pseudo-header alone (not inverted),
        // and the card adds the header and the data to it and inverts the result.
        let pseudo = ones_complement_sum(&self.pseudo_header());
        if self.tcp.checksum == pseudo {
            TcpChecksum::Partial { should_be }
        } else {
            TcpChecksum::Incorrect { should_be }
        }
    }
    // ANCHOR_END: tcp_checksum_check
}

fn protocol_name(protocol: u8) -> String {
    match protocol {
        1 => "ICMP, not TCP".into(),
        17 => "UDP, not TCP".into(),
        58 => "ICMPv6, not TCP".into(),
        other => format!("IP protocol {other}, not TCP"),
    }
}

fn not_ip(link: &Link) -> String {
    match link {
        Link::Ethernet { ethertype, .. }
        | Link::Sll {
            protocol: ethertype,
            ..
        }
        | Link::Sll2 {
            protocol: ethertype,
            ..
        } => match *ethertype {
            0x0806 => "ARP, not IP".into(),
            other => format!("EtherType 0x{other:04x}, not IP"),
        },
        Link::Null { .. } => format!("address family {}, not IP", link.null_family()),
    }
}

// ---- The capture file: classic pcap --------------------------------------------------

/// The most bytes one packet record may hold: libpcap's own limit for these link types.
pub const MAX_CAPTURED: u32 = 262_144;

/// A capture file in the classic pcap format (tcpdump.org, "pcap savefile format"):
/// a 24-byte file header, then for each packet a 16-byte record header and the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture {
    /// Which byte order the numbers of the file's headers are in (the writer's own).
    pub big_endian: bool,
    /// Whether the record times count nanoseconds (otherwise microseconds).
    pub nanoseconds: bool,
    pub version: (u16, u16),
    /// The most bytes of a packet that were kept (`tcpdump -s`).
    pub snaplen: u32,
    /// What the frames start with: see [`Link`].
    pub link_type: u32,
    pub records: Vec<Record>,
}

/// One packet of a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// When it was seen, in seconds since 1970 and the fraction after (micro- or
    /// nanoseconds, as the file says).
    pub seconds: u32,
    pub fraction: u32,
    /// How long the packet was; `data` may hold less (the snap length).
    pub original_len: u32,
    pub data: Vec<u8>,
    /// Where its record header starts in the file: for error messages.
    pub offset: usize,
}

/// A capture file that cannot be read, in one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadCapture(pub String);

impl fmt::Display for BadCapture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadCapture {}

const MAGIC_MICROSECONDS: u32 = 0xa1b2_c3d4;
const MAGIC_NANOSECONDS: u32 = 0xa1b2_3c4d;
const MAGIC_PCAPNG: u32 = 0x0a0d_0d0a;
const FILE_HEADER_LEN: usize = 24;
const RECORD_HEADER_LEN: usize = 16;

impl Capture {
    /// An empty capture of `link_type`, as this machine would write it.
    pub fn new(link_type: u32) -> Capture {
        Capture {
            big_endian: cfg!(target_endian = "big"),
            nanoseconds: false,
            version: (2, 4),
            snaplen: MAX_CAPTURED,
            link_type,
            records: Vec::new(),
        }
    }

    // ANCHOR: pcap_read
    /// Reads a whole pcap file.
    pub fn read(file: &[u8]) -> Result<Capture, BadCapture> {
        let bad = |why: String| Err(BadCapture(why));
        let Some(magic) = file.get(0..4) else {
            return bad(format!(
                "{} bytes are too few for a pcap file, which starts with a 24-byte header",
                file.len()
            ));
        };
        // The magic number tells the byte order the writer used, and the time unit.
        let magic: [u8; 4] = magic.try_into().unwrap_or_default();
        let (big_endian, nanoseconds) = match (u32::from_le_bytes(magic), u32::from_be_bytes(magic))
        {
            (MAGIC_MICROSECONDS, _) => (false, false),
            (MAGIC_NANOSECONDS, _) => (false, true),
            (_, MAGIC_MICROSECONDS) => (true, false),
            (_, MAGIC_NANOSECONDS) => (true, true),
            (MAGIC_PCAPNG, _) => return bad(PCAPNG.into()),
            _ => {
                return bad(format!(
                    "not a pcap file: it starts with {}, where a pcap file starts with \
                     d4 c3 b2 a1 (or a1 b2 c3 d4, or 4d 3c b2 a1 for nanoseconds)",
                    hex(&magic)
                ));
            }
        };
        let number = Numbers { big_endian };
        if file.len() < FILE_HEADER_LEN {
            return bad(format!(
                "the file ends after {} bytes, inside its 24-byte file header",
                file.len()
            ));
        }
        let version = (number.u16(&file[4..6]), number.u16(&file[6..8]));
        if version.0 != 2 {
            return bad(format!(
                "pcap version {}.{}: this reader knows version 2 (2.4 is what tcpdump writes)",
                version.0, version.1
            ));
        }
        // Bytes 8..16 are a time zone and an accuracy that writers leave at zero.
        let mut capture = Capture {
            big_endian,
            nanoseconds,
            version,
            snaplen: number.u32(&file[16..20]),
            link_type: number.u32(&file[20..24]),
            records: Vec::new(),
        };
        let mut at = FILE_HEADER_LEN;
        while at < file.len() {
            capture
                .records
                .push(read_record(file, at, capture.records.len() + 1, number)?);
            at = capture.records.last().map_or(file.len(), Record::end);
        }
        Ok(capture)
    }
    // ANCHOR_END: pcap_read

    /// The file's bytes, in its own byte order.
    pub fn to_bytes(&self) -> Vec<u8> {
        let number = Numbers {
            big_endian: self.big_endian,
        };
        let magic = if self.nanoseconds {
            MAGIC_NANOSECONDS
        } else {
            MAGIC_MICROSECONDS
        };
        let mut file = number.put32(magic);
        file.extend(number.put16(self.version.0));
        file.extend(number.put16(self.version.1));
        file.extend([0; 8]);
        file.extend(number.put32(self.snaplen));
        file.extend(number.put32(self.link_type));
        for record in &self.records {
            file.extend(number.put32(record.seconds));
            file.extend(number.put32(record.fraction));
            file.extend(number.put32(record.data.len() as u32));
            file.extend(number.put32(record.original_len));
            file.extend_from_slice(&record.data);
        }
        file
    }

    /// Adds a whole packet seen at `nanoseconds` since 1970.
    pub fn push(&mut self, nanoseconds: u64, data: Vec<u8>) {
        let unit = if self.nanoseconds { 1 } else { 1000 };
        self.records.push(Record {
            seconds: (nanoseconds / 1_000_000_000) as u32,
            fraction: ((nanoseconds % 1_000_000_000) / unit) as u32,
            original_len: data.len() as u32,
            data,
            offset: 0,
        });
    }

    /// When `record` was seen, in nanoseconds since 1970.
    pub fn time_ns(&self, record: &Record) -> u64 {
        let unit = if self.nanoseconds { 1 } else { 1000 };
        u64::from(record.seconds) * 1_000_000_000 + u64::from(record.fraction) * unit
    }
}

/// What to say about a pcapng file.
const PCAPNG: &str = "this is a pcapng file (Wireshark's default format), not classic pcap: \
    save it as pcap (Wireshark: File > Save As, \"Wireshark/tcpdump - pcap\"; or \
    `editcap -F pcap IN.pcapng OUT.pcap`); `tcpdump -w` writes pcap";

// ANCHOR: pcap_record
/// Reads the record of packet `number` that starts at byte `at`.
fn read_record(file: &[u8], at: usize, number: usize, n: Numbers) -> Result<Record, BadCapture> {
    let Some(header) = file.get(at..at + RECORD_HEADER_LEN) else {
        return Err(BadCapture(format!(
            "the file ends inside the record header of packet {number} (byte {at} of {}): \
             it was cut short, or is still being written",
            file.len()
        )));
    };
    let captured = n.u32(&header[8..12]);
    if captured > MAX_CAPTURED {
        return Err(BadCapture(format!(
            "packet {number} (byte {at}) says {captured} bytes were captured, more than any \
             capture holds ({MAX_CAPTURED}): the file is damaged"
        )));
    }
    let start = at + RECORD_HEADER_LEN;
    let Some(data) = file.get(start..start + captured as usize) else {
        return Err(BadCapture(format!(
            "the file ends inside packet {number}: its record says {captured} bytes, only {} \
             are left; it was cut short, or is still being written",
            file.len() - start
        )));
    };
    Ok(Record {
        seconds: n.u32(&header[0..4]),
        fraction: n.u32(&header[4..8]),
        original_len: n.u32(&header[12..16]),
        data: data.to_vec(),
        offset: at,
    })
}
// ANCHOR_END: pcap_record

impl Record {
    /// Where the next record starts.
    fn end(&self) -> usize {
        self.offset + RECORD_HEADER_LEN + self.data.len()
    }
}

/// The numbers of a pcap file's own headers, in the writer's byte order.
#[derive(Clone, Copy)]
struct Numbers {
    big_endian: bool,
}

impl Numbers {
    fn u16(self, bytes: &[u8]) -> u16 {
        let pair = [bytes[0], bytes[1]];
        if self.big_endian {
            u16::from_be_bytes(pair)
        } else {
            u16::from_le_bytes(pair)
        }
    }

    fn u32(self, bytes: &[u8]) -> u32 {
        let four = [bytes[0], bytes[1], bytes[2], bytes[3]];
        if self.big_endian {
            u32::from_be_bytes(four)
        } else {
            u32::from_le_bytes(four)
        }
    }

    fn put16(self, value: u16) -> Vec<u8> {
        if self.big_endian {
            value.to_be_bytes().to_vec()
        } else {
            value.to_le_bytes().to_vec()
        }
    }

    fn put32(self, value: u32) -> Vec<u8> {
        if self.big_endian {
            value.to_be_bytes().to_vec()
        } else {
            value.to_le_bytes().to_vec()
        }
    }
}

/// Bytes as `d4 c3 b2 a1`.
pub fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

// ---- Lesson 01's parcel ------------------------------------------------------------

/// A message too long for one IPv4 packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooLong {
    /// The length of the refused message, in bytes.
    pub len: usize,
}

impl fmt::Display for TooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a message of {} bytes does not fit in one IPv4 packet: its 16-bit total \
             length allows at most {MAX_MESSAGE_LEN} bytes of data behind the 40 bytes of \
             IPv4 and TCP headers",
            self.len
        )
    }
}

impl std::error::Error for TooLong {}

/// A message from `src` to `dst` over loopback, with all its headers: lesson 01's
/// parcel, sealed as a sender would seal it.
#[derive(Debug, Clone)]
pub struct Parcel {
    packet: Packet,
}

impl Parcel {
    /// Wraps `message`, sent from `src` to `dst`; refuses a message longer than
    /// [`MAX_MESSAGE_LEN`].
    pub fn new(message: &[u8], src: SocketAddrV4, dst: SocketAddrV4) -> Result<Parcel, TooLong> {
        if message.len() > MAX_MESSAGE_LEN {
            return Err(TooLong { len: message.len() });
        }
        let packet = Packet {
            // As Linux writes it on loopback: both MACs zero. On a real Ethernet link
            // they are the two network cards' addresses. (BSD and macOS write a 4-byte
            // header on loopback instead; Wi-Fi sends 802.11 frames over the air.)
            link: Link::Ethernet {
                dst: [0; 6],
                src: [0; 6],
                ethertype: ETHERTYPE_IPV4,
            },
            ip: Ip::V4(Ipv4 {
                dscp_ecn: 0,
                total_len: 0, // sealed below
                identification: IDENTIFICATION,
                flags_fragment: DONT_FRAGMENT, // fragment offset 0
                ttl: TTL,
                protocol: PROTOCOL_TCP,
                checksum: 0, // sealed below
                src: *src.ip(),
                dst: *dst.ip(),
                options: Vec::new(),
            }),
            tcp: Tcp {
                src_port: src.port(),
                dst_port: dst.port(),
                seq: SEQUENCE_NUMBER,
                ack: ACKNOWLEDGMENT_NUMBER,
                reserved: 0,
                flags: PSH | ACK,
                window: WINDOW,
                checksum: 0, // sealed below
                urgent: 0,
                options: Vec::new(),
            },
            payload: message.to_vec(),
            trailer: Vec::new(),
        };
        Ok(Parcel {
            packet: packet.seal(),
        })
    }

    /// The parcel as the codec's packet.
    pub fn packet(&self) -> &Packet {
        &self.packet
    }

    /// The application data.
    pub fn message(&self) -> &[u8] {
        &self.packet.payload
    }

    /// The TCP segment's length: header and data.
    pub fn tcp_len(&self) -> usize {
        self.packet.tcp_len()
    }

    /// The IPv4 packet's length, as its total-length field says.
    pub fn ipv4_len(&self) -> usize {
        IPV4_HEADER_LEN + self.tcp_len()
    }

    /// The link frame's length, without the 4-byte frame check sequence that a network
    /// card adds when sending and strips on receipt.
    pub fn frame_len(&self) -> usize {
        ETHERNET_HEADER_LEN + self.ipv4_len()
    }

    /// The Ethernet II header, as Linux writes it on loopback: both MACs zero.
    pub fn ethernet_header(&self) -> [u8; ETHERNET_HEADER_LEN] {
        fixed(&self.packet.link.to_bytes())
    }

    /// The IPv4 header, its checksum computed.
    pub fn ipv4_header(&self) -> [u8; IPV4_HEADER_LEN] {
        fixed(&self.packet.ip.to_bytes())
    }

    /// The IPv4 header checksum, as written in [`Parcel::ipv4_header`].
    pub fn ipv4_checksum(&self) -> u16 {
        let h = self.ipv4_header();
        u16::from_be_bytes([h[10], h[11]])
    }

    /// The TCP header, its checksum computed.
    pub fn tcp_header(&self) -> [u8; TCP_HEADER_LEN] {
        fixed(&self.packet.tcp.to_bytes())
    }

    /// The TCP checksum, as written in [`Parcel::tcp_header`]. It covers the header,
    /// the data and a pseudo-header of both IP addresses, the protocol and the TCP
    /// length (RFC 9293, section 3.1), so a segment delivered to the wrong address is
    /// caught too.
    pub fn tcp_checksum(&self) -> u16 {
        self.packet.tcp.checksum
    }

    /// The whole frame, as the bytes follow each other: every layer is its header
    /// followed by the layer inside it.
    pub fn frame(&self) -> Vec<u8> {
        self.packet.to_bytes()
    }

    /// The nested layers as text, coloured when `colored` colours (a terminal, no
    /// `NO_COLOR`), plain otherwise. The values that stand for a real connection's are
    /// marked illustrative.
    pub fn render(&self) -> String {
        let illustrative = |value: String| format!("{value} (illustrative)");
        self.packet.render(&[
            (
                "identification",
                illustrative(format!("0x{IDENTIFICATION:04x}")),
            ),
            ("sequence number", illustrative(SEQUENCE_NUMBER.to_string())),
            (
                "acknowledgment number",
                illustrative(ACKNOWLEDGMENT_NUMBER.to_string()),
            ),
            ("window", illustrative(WINDOW.to_string())),
        ])
    }

    /// Prints [`Parcel::render`].
    pub fn print(&self) {
        crate::say::out_text(&self.render());
    }
}

/// The first N bytes of `bytes` as an array (zeros past its end).
fn fixed<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0; N];
    let n = N.min(bytes.len());
    out[..n].copy_from_slice(&bytes[..n]);
    out
}

// ---- Drawing a packet as nested layers ---------------------------------------------

/// A field's text in place of the one [`Packet::render`] would write: the field's
/// label, and what to show after it.
pub type Shown<'a> = (&'a str, String);

impl Packet {
    /// The nested layers as text, every field and the bytes of every header; `shown`
    /// replaces the text of the fields it names (such as `("sequence number", ...)`).
    /// Coloured when `colored` colours (a terminal, no `NO_COLOR`), plain otherwise.
    pub fn render(&self, shown: &[Shown]) -> String {
        let mut out = Drawing {
            shown,
            ..Drawing::default()
        };
        self.render_link(&mut out);
        out.text
    }

    fn render_link(&self, out: &mut Drawing) {
        let header = self.link.to_bytes();
        let inside = self.ip.header_len() + self.tcp_len();
        out.open(
            Color::Blue,
            format!(
                "link frame ({}) · {}-byte header + {inside} bytes = {} bytes",
                self.link.name(),
                header.len(),
                header.len() + inside
            ),
        );
        match &self.link {
            Link::Ethernet {
                dst,
                src,
                ethertype,
            } => {
                out.field("destination MAC", mac(dst));
                out.field("source MAC", mac(src));
                out.field("EtherType", ethertype_name(*ethertype));
            }
            Link::Null { .. } => {
                let family = self.link.null_family();
                let name = match family {
                    2 => "AF_INET = IPv4",
                    24 | 28 | 30 => "AF_INET6 = IPv6 (24, 28 or 30, by system)",
                    _ => "unknown",
                };
                out.field("address family", format!("{family} = {name}"));
            }
            Link::Sll {
                packet_type,
                hardware,
                address_len,
                address,
                protocol,
            } => {
                out.field("packet type", packet_type_name(*packet_type));
                out.field("device type", hardware_name(*hardware));
                out.field(
                    "source address",
                    sll_address(address, usize::from(*address_len)),
                );
                out.field("protocol", ethertype_name(*protocol));
            }
            Link::Sll2 {
                protocol,
                interface,
                hardware,
                packet_type,
                address_len,
                address,
                ..
            } => {
                out.field("protocol", ethertype_name(*protocol));
                out.field("interface index", interface);
                out.field("device type", hardware_name(*hardware));
                out.field("packet type", packet_type_name(u16::from(*packet_type)));
                out.field(
                    "source address",
                    sll_address(address, usize::from(*address_len)),
                );
            }
        }
        let label = match self.link {
            Link::Ethernet { .. } => "Ethernet header hex",
            Link::Null { .. } => "NULL header hex",
            Link::Sll { .. } => "SLL header hex",
            Link::Sll2 { .. } => "SLL2 header hex",
        };
        out.hex(label, &header);
        match &self.ip {
            Ip::V4(h) => self.render_ipv4(h, out),
            Ip::V6(h) => self.render_ipv6(h, out),
        }
        out.close();
    }

    fn render_ipv4(&self, ip: &Ipv4, out: &mut Drawing) {
        let header_len = ip.header_len();
        out.open(
            Color::Green,
            format!(
                "IPv4 packet · {header_len}-byte header + {} bytes = {} bytes",
                self.tcp_len(),
                header_len + self.tcp_len()
            ),
        );
        let words = header_len / 4;
        out.field(
            "version / IHL",
            format!("4 / {words} (header {words} × 4 = {header_len} bytes)"),
        );
        out.field(
            "DSCP / ECN",
            format!("{} / {}", ip.dscp_ecn >> 2, ip.dscp_ecn & 0x03),
        );
        out.field("total length", ip.total_len);
        out.field(
            "identification",
            format!("0x{:04x} = {}", ip.identification, ip.identification),
        );
        let mut flags = Vec::new();
        if ip.flags_fragment & 0x8000 != 0 {
            flags.push("reserved bit");
        }
        if ip.dont_fragment() {
            flags.push("DF (don't fragment)");
        }
        if ip.flags_fragment & MORE_FRAGMENTS != 0 {
            flags.push("MF (more fragments)");
        }
        let flags = if flags.is_empty() {
            "none".to_string()
        } else {
            flags.join(", ")
        };
        out.field(
            "flags / fragment offset",
            format!("{flags} / {}", ip.flags_fragment & FRAGMENT_OFFSET),
        );
        out.field("TTL", ip.ttl);
        out.field("protocol", format!("{} = TCP", ip.protocol));
        out.field(
            "header checksum",
            format!("0x{:04x} (RFC 1071, over this header)", ip.checksum),
        );
        out.field("source address", ip.src);
        out.field("destination address", ip.dst);
        out.hex("IPv4 header hex", &ip.to_bytes());
        self.render_tcp(out);
        out.close();
    }

    fn render_ipv6(&self, ip: &Ipv6, out: &mut Drawing) {
        out.open(
            Color::Green,
            format!(
                "IPv6 packet · {IPV6_HEADER_LEN}-byte header + {} bytes = {} bytes",
                self.tcp_len(),
                IPV6_HEADER_LEN + self.tcp_len()
            ),
        );
        out.field("version", 6);
        out.field("traffic class", ip.traffic_class);
        out.field("flow label", format!("0x{:05x}", ip.flow_label));
        out.field("payload length", ip.payload_len);
        out.field("next header", format!("{} = TCP", ip.next_header));
        out.field("hop limit", ip.hop_limit);
        out.field("source address", ip.src);
        out.field("destination address", ip.dst);
        out.hex("IPv6 header hex", &ip.to_bytes());
        self.render_tcp(out);
        out.close();
    }

    fn render_tcp(&self, out: &mut Drawing) {
        let tcp = &self.tcp;
        let header_len = tcp.header_len();
        out.open(
            Color::Yellow,
            format!(
                "TCP segment · {header_len}-byte header + {} bytes = {} bytes",
                self.payload.len(),
                self.tcp_len()
            ),
        );
        out.field("source port", tcp.src_port);
        out.field("destination port", tcp.dst_port);
        out.field("sequence number", tcp.seq);
        out.field("acknowledgment number", tcp.ack);
        let words = header_len / 4;
        let options = match header_len - TCP_HEADER_LEN {
            0 => "no options".to_string(),
            n => format!("{n} of them options"),
        };
        out.field(
            "data offset",
            format!("{words} (header {words} × 4 = {header_len} bytes, {options})"),
        );
        out.field(
            "flags",
            format!("{} (0x{:02x})", tcp.flag_names(), tcp.flags),
        );
        out.field("window", tcp.window);
        out.field(
            "checksum",
            format!(
                "0x{:04x} (RFC 9293: over a pseudo-header, this header and the data)",
                tcp.checksum
            ),
        );
        out.field("urgent pointer", tcp.urgent);
        for option in &tcp.options {
            out.field("option", option.describe());
        }
        out.hex("TCP header hex", &tcp.to_bytes());
        self.render_data(out);
        out.close();
    }

    fn render_data(&self, out: &mut Drawing) {
        let data = &self.payload;
        let text = String::from_utf8_lossy(data);
        let chars = text.chars().count();
        let title = if chars == data.len() {
            format!("application data · {} bytes", data.len())
        } else {
            format!(
                "application data · {} bytes ({chars} characters in UTF-8)",
                data.len()
            )
        };
        out.open(Color::Magenta, title);
        let shown: String = text.chars().take(SHOW_DATA).collect();
        if chars > SHOW_DATA {
            out.line(format!(
                "{shown:?} … ({} more characters)",
                chars - SHOW_DATA
            ));
        } else {
            out.line(format!("{shown:?}"));
        }
        out.hex("data hex", &data[..data.len().min(SHOW_DATA)]);
        if data.len() > SHOW_DATA {
            out.line(format!("… ({} more bytes)", data.len() - SHOW_DATA));
        }
        out.close();
    }
}

/// Six bytes as a MAC address, `00:00:00:00:00:00`.
pub fn mac(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn sll_address(address: &[u8; 8], len: usize) -> String {
    match len {
        0 => "none".into(),
        len => mac(&address[..len.min(8)]),
    }
}

fn ethertype_name(ethertype: u16) -> String {
    match ethertype {
        ETHERTYPE_IPV4 => format!("0x{ethertype:04x} = IPv4"),
        ETHERTYPE_IPV6 => format!("0x{ethertype:04x} = IPv6"),
        other => format!("0x{other:04x}"),
    }
}

/// Linux's packet types (`PACKET_HOST`, ... in `<linux/if_packet.h>`).
fn packet_type_name(packet_type: u16) -> String {
    let name = match packet_type {
        0 => "to this host",
        1 => "broadcast",
        2 => "multicast",
        3 => "to another host",
        4 => "sent by this host",
        _ => "unknown",
    };
    format!("{packet_type} = {name}")
}

/// Linux's device types (`ARPHRD_*` in `<linux/if_arp.h>`).
fn hardware_name(hardware: u16) -> String {
    let name = match hardware {
        1 => "Ethernet",
        772 => "loopback",
        65534 => "none (a tunnel)",
        _ => "other",
    };
    format!("{hardware} = {name}")
}

/// Text drawn inside nested boxes, each box a left bar in its own colour. Only the
/// left side is drawn, so colour codes never shift a column.
#[derive(Default)]
struct Drawing<'a> {
    text: String,
    /// The colours of the open boxes, outermost first.
    open: Vec<Color>,
    /// Fields whose text the caller gives.
    shown: &'a [Shown<'a>],
}

impl Drawing<'_> {
    fn bars(&self) -> String {
        self.open
            .iter()
            .map(|&c| "│ ".color(c).to_string())
            .collect()
    }

    fn inner(&self) -> Color {
        self.open.last().copied().unwrap_or(Color::White)
    }

    fn open(&mut self, color: Color, title: String) {
        let line = format!(
            "{}{} {}\n",
            self.bars(),
            "┌─".color(color),
            title.color(color).bold()
        );
        self.text.push_str(&line);
        self.open.push(color);
    }

    fn close(&mut self) {
        let color = self.open.pop().unwrap_or(Color::White);
        let line = format!("{}{}\n", self.bars(), "└─".color(color));
        self.text.push_str(&line);
    }

    fn line(&mut self, text: impl fmt::Display) {
        let line = format!("{}{}\n", self.bars(), text.to_string().color(self.inner()));
        self.text.push_str(&line);
    }

    fn field(&mut self, name: &str, value: impl fmt::Display) {
        let value = match self.shown.iter().find(|(field, _)| *field == name) {
            Some((_, text)) => text.clone(),
            None => value.to_string(),
        };
        self.line(format!("{name:<23} {value}"));
    }

    /// `label` and the bytes in hex, at most [`HEX_ROW`] bytes a line, later lines
    /// aligned under the first.
    fn hex(&mut self, label: &str, bytes: &[u8]) {
        if bytes.is_empty() {
            self.line(format!("{label:<23} (none)"));
        }
        for (i, row) in bytes.chunks(HEX_ROW).enumerate() {
            let lead = if i == 0 { label } else { "" };
            self.line(format!("{lead:<23} {}", hex(row)));
        }
    }
}

// ---- A capture in words: what lesson 12 prints of it --------------------------------

impl Capture {
    /// What the file's header says, a field a line, under the file's `name`; `file` is
    /// the whole file, already read by [`Capture::read`].
    pub fn describe(&self, name: &str, file: &[u8]) -> String {
        let order = if self.big_endian { "big" } else { "little" };
        let unit = if self.nanoseconds {
            "nanoseconds"
        } else {
            "microseconds"
        };
        let link = Link::KNOWN
            .iter()
            .find(|(number, _)| *number == self.link_type)
            .map_or("unknown", |(_, link)| link);
        let span = self
            .records
            .last()
            .zip(self.records.first())
            .map_or(0, |(last, first)| {
                self.time_ns(last).saturating_sub(self.time_ns(first))
            });
        // Capture::read has checked that the file holds its 24-byte header.
        let magic = hex(&file[..4.min(file.len())]);
        format!(
            "  {name}: {} bytes of classic pcap\n  \
             magic number    {magic}: numbers {order}-endian, times in {unit}\n  \
             version         {}.{}\n  \
             snap length     {} (the most bytes kept of each packet)\n  \
             link type       {} = {link}\n  \
             packets         {}, over {} s\n",
            file.len(),
            self.version.0,
            self.version.1,
            self.snaplen,
            self.link_type,
            self.records.len(),
            seconds(span as i64),
        )
    }
}

impl Packet {
    /// The four layers, nested, a line each (lesson 12's short form of
    /// [`Packet::render`]). `window` is the window's text: how it is scaled depends on
    /// the handshake, which only the whole conversation knows.
    pub fn layers(&self, window: &str) -> String {
        let link = match &self.link {
            Link::Ethernet {
                dst,
                src,
                ethertype,
            } => format!(
                "{} · {} → {} · EtherType 0x{ethertype:04x}",
                self.link.name(),
                mac(src),
                mac(dst)
            ),
            Link::Null { .. } => format!(
                "{} · address family {}",
                self.link.name(),
                self.link.null_family()
            ),
            Link::Sll { packet_type, .. } => {
                format!("{} · packet type {packet_type}", self.link.name())
            }
            Link::Sll2 {
                interface,
                packet_type,
                ..
            } => format!(
                "{} · interface {interface} · packet type {packet_type}",
                self.link.name()
            ),
        };
        let ip = match &self.ip {
            Ip::V4(h) => format!(
                "IPv4 · {} → {} · {} bytes · TTL {} · ID {}{} · checksum {}",
                h.src,
                h.dst,
                h.total_len,
                h.ttl,
                h.identification,
                if h.dont_fragment() { " · DF" } else { "" },
                if h.checksum_ok() {
                    "correct".to_string()
                } else {
                    format!("wrong (should be 0x{:04x})", h.checksum_should_be())
                }
            ),
            Ip::V6(h) => format!(
                "IPv6 · {} → {} · {} bytes after the header · hop limit {}",
                h.src, h.dst, h.payload_len, h.hop_limit
            ),
        };
        let tcp = &self.tcp;
        let tcp_line = format!(
            "TCP · {} → {} · {}-byte header · {} · win {window} · checksum {}",
            tcp.src_port,
            tcp.dst_port,
            tcp.header_len(),
            tcp.flag_names(),
            self.tcp_checksum().word()
        );
        let data = if self.payload.is_empty() {
            "data · none".to_string()
        } else {
            format!(
                "data · {} bytes · {}",
                self.payload.len(),
                quoted(&self.payload, 64)
            )
        };
        let mut text = format!(
            "{} {}\n{} {} {}\n{} {} {} {}\n",
            "┌─".blue(),
            link.blue(),
            "│".blue(),
            "┌─".green(),
            ip.green(),
            "│".blue(),
            "│".green(),
            "┌─".yellow(),
            tcp_line.yellow()
        );
        let bars = format!("{} {} {}", "│".blue(), "│".green(), "│".yellow());
        if !tcp.options.is_empty() {
            let options: Vec<String> = tcp.options.iter().map(TcpOption::describe).collect();
            let line = format!("options: {}", options.join(", "));
            text.push_str(&format!("{bars} {}\n", line.yellow()));
        }
        if self.missing() > 0 {
            let line = format!("{} bytes not captured (the snap length)", self.missing());
            text.push_str(&format!("{bars} {}\n", line.yellow()));
        }
        text.push_str(&format!("{bars} {} {}\n", "┌─".magenta(), data.magenta()));
        text
    }

    /// Both checksums checked, as texts for [`Packet::render`]'s `shown`: the TCP
    /// checksum, and the IPv4 header checksum (IPv6 has none).
    pub fn checksums_checked(&self) -> Vec<Shown<'static>> {
        let field = self.tcp.checksum;
        let tcp = match self.tcp_checksum() {
            TcpChecksum::Correct => {
                format!("0x{field:04x} correct: with the pseudo-header, sums to 0")
            }
            TcpChecksum::Partial { should_be } => {
                format!("0x{field:04x} partial, the pseudo-header's sum (whole: 0x{should_be:04x})")
            }
            TcpChecksum::Incorrect { should_be } => {
                format!("0x{field:04x} wrong: should be 0x{should_be:04x}")
            }
            TcpChecksum::NotCaptured => format!("0x{field:04x} (not checked: data not captured)"),
        };
        let mut shown = vec![("checksum", tcp)];
        if let Ip::V4(h) = &self.ip {
            let text = if h.checksum_ok() {
                format!(
                    "0x{:04x} correct: the header sums to 0 (RFC 1071)",
                    h.checksum
                )
            } else {
                format!(
                    "0x{:04x} wrong: should be 0x{:04x}",
                    h.checksum,
                    h.checksum_should_be()
                )
            };
            shown.push(("header checksum", text));
        }
        shown
    }
}

impl Packet {
    /// The packet as tcpdump's line reads it: flags, sequence numbers, window field and
    /// length. `seq` and `ack` are counted from each side's ISN, as tcpdump counts
    /// them; a SYN shows its ISN itself.
    pub fn tcpdump_line(&self, seq: u32, ack: Option<u32>) -> String {
        let (tcp, length) = (&self.tcp, self.payload.len());
        let seq = match length {
            _ if tcp.has(SYN) => format!("seq 0 (ISN {})", tcp.seq),
            0 => format!("seq {seq}"),
            _ => format!("seq {seq}:{}", seq.wrapping_add(length as u32)),
        };
        let ack = ack.map(|a| format!("  ack {a}")).unwrap_or_default();
        let flags = tcp.tcpdump_flags();
        format!("{flags}  {seq}{ack}  win {}  length {length}", tcp.window)
    }

    /// What the segment says, in a few words for an arrow of lesson 12's timeline:
    /// `SYN seq 0`, `"Michael" 1:8`, `ACK 9`. `seq` and `ack` as for
    /// [`Packet::tcpdump_line`]; the data is cut to `most` characters.
    pub fn label(&self, seq: u32, ack: Option<u32>, most: usize) -> String {
        let tcp = &self.tcp;
        let ack = ack.map(|a| format!(" ack {a}")).unwrap_or_default();
        if tcp.has(SYN) {
            let syn = if tcp.has(ACK) { "SYN ACK" } else { "SYN" };
            format!("{syn} seq {seq}{ack}")
        } else if tcp.has(RST) {
            format!("RST seq {seq}{ack}")
        } else if !self.payload.is_empty() {
            let end = seq.wrapping_add(self.payload.len() as u32);
            let fin = if tcp.has(FIN) { " FIN" } else { "" };
            format!("{} {seq}:{end}{fin}", quoted(&self.payload, most))
        } else if tcp.has(FIN) {
            format!("FIN seq {seq}{ack}")
        } else {
            format!("ACK{}", ack.trim_start_matches(" ack"))
        }
    }

    /// The article's three packings laid over this packet, sent by `side` (`client`):
    /// lesson 12's words after `--packet N`.
    pub fn packings(&self, side: &str) -> String {
        let data = match self.payload.len() {
            0 => format!("none: no data, the {side}'s kernel sent this segment on its own"),
            n => format!(
                "the {n} bytes {}, all that\n  the {side} program wrote",
                quoted(&self.payload, 40)
            ),
        };
        let (tcp, ip, link) = (&self.tcp, &self.ip, &self.link);
        let options = tcp.header_len() - TCP_HEADER_LEN;
        let no_card = match link {
            Link::Ethernet { src, .. } if *src == [0; 6] => {
                ", MACs all zero:\n  on lo no card carries it"
            }
            _ => "",
        };
        format!(
            "The article's three packings, laid over this real parcel:\n\
             - packing 1, the goods: {data};\n\
             - TCP, which has no packing in the story: ports {} → {}, the byte numbers, the\n  \
             ACK, the window, in {} bytes of header ({options} of options, which lesson 01's\n  \
             parcel leaves out);\n\
             - packing 2, the post office: the {}-byte IP header, {} → {};\n\
             - packing 3, the vehicle: the {}-byte {} header{no_card}.",
            tcp.src_port,
            tcp.dst_port,
            tcp.header_len(),
            ip.header_len(),
            ip.src(),
            ip.dst(),
            link.len(),
            link.name(),
        )
    }
}

impl TcpChecksum {
    /// The verdict in a word or three.
    pub fn word(self) -> String {
        match self {
            TcpChecksum::Correct => "correct".into(),
            TcpChecksum::Partial { .. } => "partial".into(),
            TcpChecksum::Incorrect { should_be } => format!("wrong (should be 0x{should_be:04x})"),
            TcpChecksum::NotCaptured => "not checked (not all captured)".into(),
        }
    }
}

/// The largest capture file [`read_capture_file`] reads: a few conversations take a
/// few KiB.
pub const MAX_FILE: u64 = 16 << 20;

/// Reads a capture file, or standard input for `-`; returns a name for it in messages,
/// and its bytes. The error, one line, says what went wrong and what to try.
pub fn read_capture_file(file: &str) -> Result<(String, Vec<u8>), String> {
    use std::io::Read;
    let (name, reader): (String, Box<dyn Read>) = if file == "-" {
        ("standard input".into(), Box::new(std::io::stdin()))
    } else {
        match std::fs::File::open(file) {
            Ok(opened) => (file.into(), Box::new(opened)),
            Err(err) => {
                return Err(format!(
                    "cannot read {file}: {err} (tcpdump -i lo -w {file} port 1234 makes one)"
                ));
            }
        }
    };
    // One more byte than the limit: a larger file is refused, not cut.
    let mut bytes = Vec::new();
    if let Err(err) = reader.take(MAX_FILE + 1).read_to_end(&mut bytes) {
        return Err(format!("cannot read {name}: {err}"));
    }
    if bytes.len() as u64 > MAX_FILE {
        return Err(format!(
            "{name} is larger than {} MiB: this lesson reads captures of a few \
             conversations; keep the first packets with tcpdump -r {name} -c 100 -w small.pcap",
            MAX_FILE >> 20
        ));
    }
    Ok((name, bytes))
}

/// Columns between the two bars of a [`ladder_ends`] drawing.
const LADDER: usize = 46;

/// The top of a conversation drawn as a ladder (lesson 12's timeline): the names of
/// its two ends, over the two bars.
pub fn ladder_ends(left: &str, right: &str) -> String {
    let gap = (LADDER + 2).saturating_sub(left.chars().count() + right.chars().count());
    format!("{:17}{left}{}{right}\n", "", " ".repeat(gap.max(1)))
}

/// A title across the ladder, between its bars: the phase that starts here.
pub fn ladder_phase(title: &str) -> String {
    format!("{:17}│{}│\n", "", format!("{title:^LADDER$}").bold())
}

/// A rung of the ladder: a packet's number and time, `label` on an arrow from the
/// left bar to the right one (or back), and what the packet means, after it.
pub fn ladder_rung(number: usize, ns: i64, label: &str, rightwards: bool, meaning: &str) -> String {
    let line = "─".repeat(LADDER.saturating_sub(label.chars().count() + 4).max(1));
    let arrow = if rightwards {
        format!("│─ {label} {line}▶│")
    } else {
        format!("│◀{line} {label} ─│")
    };
    let rung = format!("#{number:<3} {:>10}  {arrow}  {meaning}", seconds(ns));
    format!("{}\n", rung.trim_end())
}

/// Bytes as a quoted string, at most `most` characters of it: `"Michael"`, `"Hel"…`.
pub fn quoted(bytes: &[u8], most: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    if text.chars().count() <= most {
        format!("{text:?}")
    } else {
        let head: String = text.chars().take(most).collect();
        format!("{head:?}…")
    }
}

/// Nanoseconds as seconds, to the microsecond: `1.000149`.
pub fn seconds(ns: i64) -> String {
    let sign = if ns < 0 { "-" } else { "" };
    let ns = ns.unsigned_abs();
    format!(
        "{sign}{}.{:06}",
        ns / 1_000_000_000,
        ns % 1_000_000_000 / 1000
    )
}

/// A short span in the unit that suits it: `12 µs`, `45.8 ms`, `1.000 s`.
pub fn duration(ns: i64) -> String {
    let ns = ns.max(0) as f64;
    if ns < 1e6 {
        format!("{:.0} µs", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.1} ms", ns / 1e6)
    } else {
        format!("{:.3} s", ns / 1e9)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn michael() -> Parcel {
        Parcel::new(
            b"Michael",
            "127.0.0.1:50000".parse().unwrap(),
            "127.0.0.1:1234".parse().unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn checksum_of_the_well_known_header() {
        // The worked example found in many references (a UDP packet 192.168.0.1 ->
        // 192.168.0.199), its checksum field zeroed.
        let header = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(internet_checksum(&header), 0xb861);
    }

    #[test]
    fn a_filled_in_header_checks_to_zero() {
        let mut header = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(internet_checksum(&header), 0);
        header[15] ^= 1; // one flipped bit is caught
        assert_ne!(internet_checksum(&header), 0);
    }

    #[test]
    fn an_odd_byte_is_padded_with_zero() {
        assert_eq!(internet_checksum(&[0x12, 0x34, 0x56]), !0x6834);
        assert_eq!(internet_checksum(&[]), 0xffff);
    }

    #[test]
    fn carries_wrap_around() {
        // 0xffff + 0x0001 = 0x1_0000, folded to 0x0001.
        assert_eq!(internet_checksum(&[0xff, 0xff, 0x00, 0x01]), !0x0001);
    }

    #[test]
    fn header_sizes() {
        let p = michael();
        assert_eq!(p.ethernet_header().len(), 14);
        assert_eq!(p.ipv4_header().len(), 20);
        assert_eq!(p.tcp_header().len(), 20);
        assert_eq!((p.tcp_len(), p.ipv4_len(), p.frame_len()), (27, 47, 61));
        assert_eq!(p.frame().len(), 61);
    }

    #[test]
    fn both_checksums_verify() {
        let p = michael();
        assert_eq!(internet_checksum(&p.ipv4_header()), 0);
        let mut covered = Vec::new();
        covered.extend_from_slice(&[127, 0, 0, 1, 127, 0, 0, 1, 0, 6, 0, 27]);
        covered.extend_from_slice(&p.tcp_header());
        covered.extend_from_slice(b"Michael");
        assert_eq!(internet_checksum(&covered), 0);
        assert_eq!(p.packet().tcp_checksum(), TcpChecksum::Correct);
    }

    #[test]
    fn header_fields_sit_where_the_rfcs_put_them() {
        let p = michael();
        let ip = p.ipv4_header();
        assert_eq!(&ip[..10], &[0x45, 0, 0, 47, 0, 0, 0x40, 0, 64, 6]);
        assert_eq!(&ip[12..], &[127, 0, 0, 1, 127, 0, 0, 1]);
        let tcp = p.tcp_header();
        assert_eq!(&tcp[..4], &[0xc3, 0x50, 0x04, 0xd2]); // 50000, 1234
        assert_eq!(&tcp[12..16], &[0x50, 0x18, 0xff, 0xff]);
        assert_eq!(&tcp[18..], &[0, 0]);
        assert_eq!(&p.ethernet_header()[12..], &[0x08, 0x00]);
    }

    #[test]
    fn the_longest_message_fits_and_one_more_byte_is_refused() {
        let src: SocketAddrV4 = "127.0.0.1:50000".parse().unwrap();
        let dst: SocketAddrV4 = "127.0.0.1:1234".parse().unwrap();
        let longest = Parcel::new(&vec![b'x'; MAX_MESSAGE_LEN], src, dst).unwrap();
        assert_eq!(longest.ipv4_len(), 65535);
        assert_eq!(internet_checksum(&longest.ipv4_header()), 0);
        let err = Parcel::new(&vec![b'x'; MAX_MESSAGE_LEN + 1], src, dst).unwrap_err();
        assert_eq!(err.len, MAX_MESSAGE_LEN + 1);
        assert!(!longest.render().is_empty());
    }

    #[test]
    fn render_closes_every_box() {
        colored::control::set_override(false);
        let text = michael().render();
        assert_eq!(text.matches("┌─").count(), 4);
        assert_eq!(text.matches("└─").count(), 4);
        assert!(text.contains("\"Michael\""));
    }

    // ---- The codec: parse(build(x)) == x ----

    /// A small deterministic generator (SplitMix64): the same packets every run, no
    /// crate needed.
    struct Random(u64);

    impl Random {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn u8(&mut self) -> u8 {
            self.next() as u8
        }
        fn u16(&mut self) -> u16 {
            self.next() as u16
        }
        fn u32(&mut self) -> u32 {
            self.next() as u32
        }
        fn bytes(&mut self, len: usize) -> Vec<u8> {
            (0..len).map(|_| self.u8()).collect()
        }
        /// Flips 1 to 4 bits anywhere in `bytes`.
        fn flip_bits(&mut self, bytes: &mut [u8]) {
            for _ in 0..=self.below(4) {
                let at = self.below(bytes.len() as u64) as usize;
                bytes[at] ^= 1 << self.below(8);
            }
        }
        fn array<const N: usize>(&mut self) -> [u8; N] {
            let mut out = [0; N];
            for byte in &mut out {
                *byte = self.u8();
            }
            out
        }
    }

    /// A random option list whose bytes fit in a TCP header (40 bytes at most).
    fn random_options(r: &mut Random) -> Vec<TcpOption> {
        let mut options = Vec::new();
        loop {
            let option = match r.below(7) {
                0 => TcpOption::Nop,
                1 => TcpOption::Mss(r.u16()),
                2 => TcpOption::WindowScale(r.u8()),
                3 => TcpOption::SackPermitted,
                4 => TcpOption::Timestamps {
                    value: r.u32(),
                    echo: r.u32(),
                },
                // Kinds the codec keeps as they are: SACK blocks (5) and others.
                _ => TcpOption::Other {
                    kind: [5, 6, 7, 29, 30, 34, 253, 254][r.below(8) as usize],
                    data: {
                        let len = r.below(9) as usize;
                        r.bytes(len)
                    },
                },
            };
            let len: usize = options.iter().map(|o: &TcpOption| o.to_bytes().len()).sum();
            if len + option.to_bytes().len() > 40 || r.below(4) == 0 {
                return options;
            }
            options.push(option);
        }
    }

    fn random_packet(r: &mut Random) -> Packet {
        let v6 = r.below(2) == 0;
        let ethertype = if v6 { ETHERTYPE_IPV6 } else { ETHERTYPE_IPV4 };
        let link = match r.below(4) {
            0 => Link::Ethernet {
                dst: r.array(),
                src: r.array(),
                ethertype,
            },
            1 => {
                let family: u32 = if v6 {
                    [24, 28, 30][r.below(3) as usize]
                } else {
                    2
                };
                Link::Null {
                    family: if r.below(2) == 0 {
                        family.to_le_bytes()
                    } else {
                        family.to_be_bytes()
                    },
                }
            }
            2 => Link::Sll {
                packet_type: r.u16(),
                hardware: r.u16(),
                address_len: r.u16(),
                address: r.array(),
                protocol: ethertype,
            },
            _ => Link::Sll2 {
                protocol: ethertype,
                reserved: r.u16(),
                interface: r.u32(),
                hardware: r.u16(),
                packet_type: r.u8(),
                address_len: r.u8(),
                address: r.array(),
            },
        };
        let ip = if v6 {
            Ip::V6(Ipv6 {
                traffic_class: r.u8(),
                flow_label: r.u32() & 0xfffff,
                payload_len: 0,
                next_header: PROTOCOL_TCP,
                hop_limit: r.u8(),
                src: Ipv6Addr::from(r.array::<16>()),
                dst: Ipv6Addr::from(r.array::<16>()),
            })
        } else {
            Ip::V4(Ipv4 {
                dscp_ecn: r.u8(),
                total_len: 0,
                identification: r.u16(),
                // Not a fragment: a fragment is not read as a segment.
                flags_fragment: r.u16() & 0xc000,
                ttl: r.u8(),
                protocol: PROTOCOL_TCP,
                checksum: 0,
                src: Ipv4Addr::from(r.u32()),
                dst: Ipv4Addr::from(r.u32()),
                options: {
                    let len = 4 * r.below(11) as usize;
                    r.bytes(len)
                },
            })
        };
        let tcp = Tcp {
            src_port: r.u16(),
            dst_port: r.u16(),
            seq: r.u32(),
            ack: r.u32(),
            reserved: r.u8() & 0x0f,
            flags: r.u8(),
            window: r.u16(),
            checksum: 0,
            urgent: r.u16(),
            options: random_options(r),
        };
        let len = r.below(200) as usize;
        let payload = r.bytes(len);
        Packet {
            link,
            ip,
            tcp,
            payload,
            trailer: Vec::new(),
        }
        .seal()
    }

    #[test]
    fn what_is_built_parses_back_the_same() {
        let mut r = Random(2026);
        for i in 0..20_000 {
            let packet = random_packet(&mut r);
            let bytes = packet.to_bytes();
            let read = Packet::parse(packet.link.link_type(), &bytes)
                .unwrap_or_else(|e| panic!("packet {i} did not parse: {e}\n{packet:?}"));
            assert_eq!(read, packet, "packet {i}");
            assert_eq!(read.to_bytes(), bytes, "packet {i}");
            assert_eq!(read.tcp_checksum(), TcpChecksum::Correct, "packet {i}");
            if let Ip::V4(h) = &read.ip {
                assert!(h.checksum_ok(), "packet {i}");
            }
        }
    }

    #[test]
    fn every_option_kind_and_length_parses_or_is_refused_in_words() {
        // Every kind, every length byte, data of every length up to 40 bytes.
        for kind in 0..=255u8 {
            for len in 0..=41u8 {
                for have in 0..=40usize {
                    let mut bytes = vec![kind, len];
                    bytes.resize(have.max(1), 0xab);
                    match parse_options(&bytes) {
                        Ok(options) => {
                            for option in options {
                                let _ = option.describe();
                            }
                        }
                        Err(NotTcp::Malformed(why)) => assert!(why.contains("option"), "{why}"),
                        Err(other) => panic!("{other:?}"),
                    }
                }
            }
        }
    }

    #[test]
    fn a_frame_cut_anywhere_is_refused_in_words_or_read_with_less_data() {
        let mut r = Random(7);
        for _ in 0..300 {
            let packet = random_packet(&mut r);
            let bytes = packet.to_bytes();
            let link_type = packet.link.link_type();
            let headers = packet.link.len() + packet.ip.header_len() + packet.tcp.header_len();
            for cut in 0..bytes.len() {
                match Packet::parse(link_type, &bytes[..cut]) {
                    Ok(read) => {
                        assert!(cut >= headers, "read with its headers cut at {cut}");
                        assert_eq!(read.missing(), bytes.len() - cut);
                        assert_eq!(read.tcp_checksum(), TcpChecksum::NotCaptured);
                    }
                    Err(NotTcp::Malformed(why)) => assert!(cut < headers, "cut {cut}: {why}"),
                    Err(other) => panic!("cut {cut}: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn flipped_bits_never_panic() {
        let mut r = Random(11);
        for _ in 0..2000 {
            let packet = random_packet(&mut r);
            let mut bytes = packet.to_bytes();
            r.flip_bits(&mut bytes);
            if let Ok(read) = Packet::parse(packet.link.link_type(), &bytes) {
                let _ = read.tcp_checksum();
                let _ = read.render(&read.checksums_checked());
                let _ = (read.layers(""), read.packings("client"));
                let _ = (read.tcpdump_line(1, Some(1)), read.label(1, None, 18));
            }
        }
    }

    /// The capture shipped with lesson 12: every cut of it, and files with bits flipped
    /// all over, read and drawn without a panic.
    #[test]
    fn the_shipped_capture_cut_and_flipped_never_panics() {
        let good = include_bytes!("../lessons/captures/dialogue.pcap");
        let mut r = Random(2026);
        let mut inputs: Vec<Vec<u8>> = (0..=good.len()).map(|cut| good[..cut].to_vec()).collect();
        for _ in 0..2000 {
            let mut flipped = good.to_vec();
            r.flip_bits(&mut flipped);
            inputs.push(flipped);
        }
        let mut read = 0;
        for input in &inputs {
            let Ok(capture) = Capture::read(input) else {
                continue;
            };
            read += 1;
            let _ = capture.describe("flipped", input);
            for record in &capture.records {
                if let Ok(packet) = Packet::parse(capture.link_type, &record.data) {
                    let _ = (packet.tcp_checksum(), packet.render(&[]), packet.to_bytes());
                    let _ = (packet.layers(""), packet.packings("server"));
                }
            }
        }
        assert!(
            read > inputs.len() / 4,
            "only {read} of {} read",
            inputs.len()
        );
    }

    #[test]
    fn the_offloaded_checksum_is_the_pseudo_header_sum() {
        // A SYN from 127.0.0.1 to 127.0.0.1 with 20 bytes of options, as captured on
        // Linux's lo: tcpdump -vv said "cksum 0xfe30 (incorrect -> 0x52e3)".
        let mut packet = michael().packet().clone();
        packet.payload.clear();
        packet.tcp.flags = SYN;
        packet.tcp.options = vec![
            TcpOption::Mss(65495),
            TcpOption::SackPermitted,
            TcpOption::Timestamps {
                value: 992692288,
                echo: 0,
            },
            TcpOption::Nop,
            TcpOption::WindowScale(10),
        ];
        let mut packet = packet.seal();
        assert_eq!(packet.tcp_len(), 40);
        // 7f00 + 0001 + 7f00 + 0001 + 0006 + 0028: the pseudo-header alone.
        packet.tcp.checksum = 0xfe30;
        assert!(matches!(packet.tcp_checksum(), TcpChecksum::Partial { .. }));
        packet.tcp.checksum = 0x1234;
        assert!(matches!(
            packet.tcp_checksum(),
            TcpChecksum::Incorrect { .. }
        ));
    }

    #[test]
    fn a_capture_writes_and_reads_back_the_same() {
        let mut r = Random(3);
        for nanoseconds in [false, true] {
            for big_endian in [false, true] {
                let mut capture = Capture::new(Link::LINUX_SLL2);
                capture.nanoseconds = nanoseconds;
                capture.big_endian = big_endian;
                for _ in 0..20 {
                    let (time, len) = (r.next() >> 2, r.below(100) as usize);
                    capture.push(time, r.bytes(len));
                }
                let bytes = capture.to_bytes();
                let mut read = Capture::read(&bytes).unwrap();
                assert_eq!(read.to_bytes(), bytes);
                for record in &mut read.records {
                    record.offset = 0;
                }
                assert_eq!(read, capture);
            }
        }
    }

    #[test]
    fn a_cut_capture_is_refused_in_one_line() {
        let mut capture = Capture::new(Link::ETHERNET);
        capture.push(1_000_000_000, michael().frame());
        capture.push(2_000_000_000, michael().frame());
        let bytes = capture.to_bytes();
        for cut in 0..bytes.len() {
            let whole_records = cut == 24 || cut == 24 + 16 + 61;
            match Capture::read(&bytes[..cut]) {
                Ok(read) => assert!(whole_records, "cut {cut} read as {read:?}"),
                Err(BadCapture(why)) => {
                    assert!(!whole_records, "cut {cut}: {why}");
                    assert!(!why.contains('\n'), "{why}");
                }
            }
        }
    }

    #[test]
    fn magic_numbers_say_what_a_file_is() {
        let err = Capture::read(&[0x0a, 0x0d, 0x0d, 0x0a, 0, 0, 0, 0]).unwrap_err();
        assert!(err.0.contains("pcapng"), "{err}");
        let err = Capture::read(b"GIF89a and more bytes to come").unwrap_err();
        assert!(err.0.contains("47 49 46 38"), "{err}");
        let mut huge = Capture::new(Link::ETHERNET).to_bytes();
        huge.extend([0; 8]);
        huge.extend(u32::MAX.to_le_bytes());
        huge.extend(u32::MAX.to_le_bytes());
        let err = Capture::read(&huge).unwrap_err();
        assert!(err.0.contains("damaged"), "{err}");
    }
}
