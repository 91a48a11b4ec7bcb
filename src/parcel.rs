//! The parcel of lesson 01: a message wrapped in a TCP segment, an IPv4 packet and a
//! link frame, built byte for byte and drawn as nested, coloured layers.
//!
//! ```
//! use std::net::SocketAddrV4;
//! use tcp_lessons::parcel::{Parcel, internet_checksum};
//!
//! let src: SocketAddrV4 = "127.0.0.1:50000".parse().unwrap();
//! let dst: SocketAddrV4 = "127.0.0.1:1234".parse().unwrap();
//! let parcel = Parcel::new(b"Michael", src, dst).unwrap();
//! assert_eq!(parcel.frame().len(), 14 + 20 + 20 + 7);
//! // A header with its checksum filled in sums to zero.
//! assert_eq!(internet_checksum(&parcel.ipv4_header()), 0);
//! print!("{}", parcel.render());
//! ```
//!
//! Every byte is real: lengths, addresses, ports, flags and both checksums are computed.
//! A few values have no single right answer outside a real connection, and are fixed
//! here so that the output can be repeated: [`SEQUENCE_NUMBER`],
//! [`ACKNOWLEDGMENT_NUMBER`], [`WINDOW`] and [`IDENTIFICATION`]. The TCP header is the
//! minimal one, with no options (Linux usually adds 12 bytes of timestamps).

use colored::{Color, Colorize};
use std::fmt;
use std::net::SocketAddrV4;

/// An Ethernet II header: destination MAC, source MAC, EtherType.
pub const ETHERNET_HEADER_LEN: usize = 14;
/// An IPv4 header without options.
pub const IPV4_HEADER_LEN: usize = 20;
/// A TCP header without options.
pub const TCP_HEADER_LEN: usize = 20;
/// The most application data one IPv4 packet can carry behind a 20-byte TCP header:
/// the IPv4 total length is a 16-bit field, so a packet is at most 65535 bytes.
pub const MAX_MESSAGE_LEN: usize = u16::MAX as usize - IPV4_HEADER_LEN - TCP_HEADER_LEN;

/// EtherType of an IPv4 packet.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
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

const FLAG_PSH: u8 = 0x08;
const FLAG_ACK: u8 = 0x10;
const DONT_FRAGMENT: u16 = 0x4000;
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
fn ones_complement_sum(bytes: &[u8]) -> u16 {
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

/// A message from `src` to `dst` over loopback, with all its headers.
#[derive(Debug, Clone)]
pub struct Parcel {
    message: Vec<u8>,
    src: SocketAddrV4,
    dst: SocketAddrV4,
}

impl Parcel {
    /// Wraps `message`, sent from `src` to `dst`; refuses a message longer than
    /// [`MAX_MESSAGE_LEN`].
    pub fn new(message: &[u8], src: SocketAddrV4, dst: SocketAddrV4) -> Result<Parcel, TooLong> {
        if message.len() > MAX_MESSAGE_LEN {
            return Err(TooLong { len: message.len() });
        }
        Ok(Parcel {
            message: message.to_vec(),
            src,
            dst,
        })
    }

    /// The application data.
    pub fn message(&self) -> &[u8] {
        &self.message
    }

    /// The TCP segment's length: header and data.
    pub fn tcp_len(&self) -> usize {
        TCP_HEADER_LEN + self.message.len()
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

    /// The Ethernet II header, as Linux writes it on loopback: both MACs zero. On a real
    /// Ethernet link they are the two network cards' addresses. (BSD and macOS write a
    /// 4-byte header on loopback instead; Wi-Fi sends 802.11 frames over the air.)
    pub fn ethernet_header(&self) -> [u8; ETHERNET_HEADER_LEN] {
        let mut h = [0; ETHERNET_HEADER_LEN];
        // Bytes 0..6: destination MAC, 6..12: source MAC, both zero on loopback.
        h[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        h
    }

    // ANCHOR: ipv4_header
    /// The IPv4 header, its checksum computed.
    pub fn ipv4_header(&self) -> [u8; IPV4_HEADER_LEN] {
        let mut h = [0; IPV4_HEADER_LEN];
        h[0] = (4 << 4) | (IPV4_HEADER_LEN / 4) as u8; // version 4, IHL in 32-bit words
        h[1] = 0; // DSCP 0, ECN 0
        // Fits: `new` refused anything longer.
        h[2..4].copy_from_slice(&(self.ipv4_len() as u16).to_be_bytes());
        h[4..6].copy_from_slice(&IDENTIFICATION.to_be_bytes());
        h[6..8].copy_from_slice(&DONT_FRAGMENT.to_be_bytes()); // fragment offset 0
        h[8] = TTL;
        h[9] = PROTOCOL_TCP;
        h[12..16].copy_from_slice(&self.src.ip().octets());
        h[16..20].copy_from_slice(&self.dst.ip().octets());
        let checksum = internet_checksum(&h);
        h[10..12].copy_from_slice(&checksum.to_be_bytes());
        h
    }
    // ANCHOR_END: ipv4_header

    /// The IPv4 header checksum, as written in [`Parcel::ipv4_header`].
    pub fn ipv4_checksum(&self) -> u16 {
        let h = self.ipv4_header();
        u16::from_be_bytes([h[10], h[11]])
    }

    /// The TCP header, its checksum computed.
    pub fn tcp_header(&self) -> [u8; TCP_HEADER_LEN] {
        let mut h = self.tcp_header_unchecked();
        let checksum = self.tcp_checksum_of(&h);
        h[16..18].copy_from_slice(&checksum.to_be_bytes());
        h
    }

    /// The TCP checksum, as written in [`Parcel::tcp_header`]. It covers the header,
    /// the data and a pseudo-header of both IP addresses, the protocol and the TCP
    /// length (RFC 9293, section 3.1), so a segment delivered to the wrong address is
    /// caught too.
    pub fn tcp_checksum(&self) -> u16 {
        self.tcp_checksum_of(&self.tcp_header_unchecked())
    }

    /// The whole frame, as the bytes follow each other: every layer is its header
    /// followed by the layer inside it.
    pub fn frame(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.frame_len());
        bytes.extend_from_slice(&self.ethernet_header());
        bytes.extend_from_slice(&self.ipv4_header());
        bytes.extend_from_slice(&self.tcp_header());
        bytes.extend_from_slice(&self.message);
        bytes
    }

    // ANCHOR: tcp_header
    fn tcp_header_unchecked(&self) -> [u8; TCP_HEADER_LEN] {
        let mut h = [0; TCP_HEADER_LEN];
        h[0..2].copy_from_slice(&self.src.port().to_be_bytes());
        h[2..4].copy_from_slice(&self.dst.port().to_be_bytes());
        h[4..8].copy_from_slice(&SEQUENCE_NUMBER.to_be_bytes());
        h[8..12].copy_from_slice(&ACKNOWLEDGMENT_NUMBER.to_be_bytes());
        h[12] = ((TCP_HEADER_LEN / 4) as u8) << 4; // data offset in 32-bit words
        h[13] = FLAG_PSH | FLAG_ACK;
        h[14..16].copy_from_slice(&WINDOW.to_be_bytes());
        // 16..18: checksum, 18..20: urgent pointer 0.
        h
    }
    // ANCHOR_END: tcp_header

    // ANCHOR: pseudo_header
    fn tcp_checksum_of(&self, header: &[u8; TCP_HEADER_LEN]) -> u16 {
        let mut covered = Vec::with_capacity(12 + self.tcp_len());
        covered.extend_from_slice(&self.src.ip().octets());
        covered.extend_from_slice(&self.dst.ip().octets());
        covered.extend_from_slice(&[0, PROTOCOL_TCP]);
        covered.extend_from_slice(&(self.tcp_len() as u16).to_be_bytes());
        covered.extend_from_slice(header);
        covered.extend_from_slice(&self.message);
        internet_checksum(&covered)
    }
    // ANCHOR_END: pseudo_header

    /// The nested layers as text, coloured when `colored` colours (a terminal, no
    /// `NO_COLOR`), plain otherwise.
    pub fn render(&self) -> String {
        let mut out = Drawing::default();
        self.render_frame(&mut out);
        out.text
    }

    /// Prints [`Parcel::render`].
    pub fn print(&self) {
        crate::say::out_text(&self.render());
    }

    fn render_frame(&self, out: &mut Drawing) {
        let eth = self.ethernet_header();
        out.open(
            Color::Blue,
            format!(
                "link frame (Ethernet II) · {ETHERNET_HEADER_LEN}-byte header + {} bytes = {} bytes",
                self.ipv4_len(),
                self.frame_len()
            ),
        );
        out.field("destination MAC", mac(&eth[0..6]));
        out.field("source MAC", mac(&eth[6..12]));
        out.field("EtherType", format!("0x{ETHERTYPE_IPV4:04x} = IPv4"));
        out.hex("Ethernet header hex", &eth);
        self.render_ipv4(out);
        out.close();
    }

    fn render_ipv4(&self, out: &mut Drawing) {
        let ip = self.ipv4_header();
        out.open(
            Color::Green,
            format!(
                "IPv4 packet · {IPV4_HEADER_LEN}-byte header + {} bytes = {} bytes",
                self.tcp_len(),
                self.ipv4_len()
            ),
        );
        out.field(
            "version / IHL",
            format!(
                "4 / {} (header {} × 4 = {IPV4_HEADER_LEN} bytes)",
                IPV4_HEADER_LEN / 4,
                IPV4_HEADER_LEN / 4
            ),
        );
        out.field("DSCP / ECN", "0 / 0");
        out.field("total length", self.ipv4_len());
        out.field(
            "identification",
            format!("0x{IDENTIFICATION:04x} (illustrative)"),
        );
        out.field("flags / fragment offset", "DF (don't fragment) / 0");
        out.field("TTL", TTL);
        out.field("protocol", format!("{PROTOCOL_TCP} = TCP"));
        out.field(
            "header checksum",
            format!(
                "0x{:04x} (RFC 1071, over this header)",
                self.ipv4_checksum()
            ),
        );
        out.field("source address", self.src.ip());
        out.field("destination address", self.dst.ip());
        out.hex("IPv4 header hex", &ip);
        self.render_tcp(out);
        out.close();
    }

    fn render_tcp(&self, out: &mut Drawing) {
        let tcp = self.tcp_header();
        out.open(
            Color::Yellow,
            format!(
                "TCP segment · {TCP_HEADER_LEN}-byte header + {} bytes = {} bytes",
                self.message.len(),
                self.tcp_len()
            ),
        );
        out.field("source port", self.src.port());
        out.field("destination port", self.dst.port());
        out.field(
            "sequence number",
            format!("{SEQUENCE_NUMBER} (illustrative)"),
        );
        out.field(
            "acknowledgment number",
            format!("{ACKNOWLEDGMENT_NUMBER} (illustrative)"),
        );
        out.field(
            "data offset",
            format!(
                "{} (header {} × 4 = {TCP_HEADER_LEN} bytes, no options)",
                TCP_HEADER_LEN / 4,
                TCP_HEADER_LEN / 4
            ),
        );
        out.field("flags", "PSH ACK (0x18)");
        out.field("window", format!("{WINDOW} (illustrative)"));
        out.field(
            "checksum",
            format!(
                "0x{:04x} (RFC 9293: over a pseudo-header, this header and the data)",
                self.tcp_checksum()
            ),
        );
        out.field("urgent pointer", 0);
        out.hex("TCP header hex", &tcp);
        self.render_data(out);
        out.close();
    }

    fn render_data(&self, out: &mut Drawing) {
        let text = String::from_utf8_lossy(&self.message);
        let chars = text.chars().count();
        let title = if chars == self.message.len() {
            format!("application data · {} bytes", self.message.len())
        } else {
            format!(
                "application data · {} bytes ({chars} characters in UTF-8)",
                self.message.len()
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
        let bytes = &self.message[..self.message.len().min(SHOW_DATA)];
        out.hex("data hex", bytes);
        if self.message.len() > SHOW_DATA {
            out.line(format!("… ({} more bytes)", self.message.len() - SHOW_DATA));
        }
        out.close();
    }
}

/// Six bytes as a MAC address, `00:00:00:00:00:00`.
fn mac(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Text drawn inside nested boxes, each box a left bar in its own colour. Only the
/// left side is drawn, so colour codes never shift a column.
#[derive(Default)]
struct Drawing {
    text: String,
    /// The colours of the open boxes, outermost first.
    open: Vec<Color>,
}

impl Drawing {
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
        self.line(format!("{name:<23} {value}"));
    }

    /// `label` and the bytes in hex, at most [`HEX_ROW`] bytes a line, later lines
    /// aligned under the first.
    fn hex(&mut self, label: &str, bytes: &[u8]) {
        if bytes.is_empty() {
            self.line(format!("{label:<23} (none)"));
        }
        for (i, row) in bytes.chunks(HEX_ROW).enumerate() {
            let hex: Vec<String> = row.iter().map(|b| format!("{b:02x}")).collect();
            let lead = if i == 0 { label } else { "" };
            self.line(format!("{lead:<23} {}", hex.join(" ")));
        }
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
}
