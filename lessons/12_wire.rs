//! Lesson 12: unpacking real parcels.
//!
//! Lesson 01 *built* a parcel: `Michael` inside TCP inside IPv4 inside a link frame, byte
//! by byte. This lesson reads the parcels that really crossed the loopback when
//! `04_client` talked to `03_server`, from a capture file, and unpacks every layer with
//! the same code that built lesson 01's (`src/parcel.rs`): link, IP, TCP with its
//! options, the data. Then it follows the conversation: sequence numbers counted from
//! each side's start, windows with their scale, both checksums checked, and a timeline
//! of every segment from the handshake to TIME_WAIT.
//!
//! Run it:
//!
//! ```text
//! cargo run --example 12_wire                    # the capture shipped with the lessons
//! cargo run --example 12_wire -- --packet 6      # one packet in full: Michael
//! cargo run --example 12_wire -- my.pcap         # a capture of your own
//! cargo build --examples && sudo target/debug/examples/12_wire --live   # capture one (Linux)
//! ```
//!
//! The shipped capture, `lessons/captures/dialogue.pcap`, was made on Linux 6.18 with
//! `tcpdump -i lo -w lessons/captures/dialogue.pcap --immediate-mode port 1234` running
//! (as root) while `cargo run --example 03_server` and `cargo run --example 04_client`
//! ran in two other terminals, and stopped with Ctrl-C two seconds after the client
//! ended. To make your own, do the same with a file name of your own, then give the
//! file to this lesson.
//!
//! What is not this lesson's point is in the library: reading the pcap file and every
//! header, and drawing a packet's layers, in `src/parcel.rs` (the book shows that code
//! too); starting 03_server and 04_client for `--live`, in `src/sibling.rs`.

use std::io;
use std::net::SocketAddr;
use tcp_lessons::args::{Args, usage_error};
use tcp_lessons::note;
use tcp_lessons::parcel::{
    ACK, Capture, FIN, Ip, Link, NotTcp, Packet, RST, SYN, TcpChecksum, duration, ladder_ends,
    ladder_phase, ladder_rung, quoted, read_capture_file, seconds, unknown_link_type,
};
use tcp_lessons::say::{self, fail, heading};

/// The capture shipped with the lessons, decoded when no FILE is given.
const SAMPLE: &str = "lessons/captures/dialogue.pcap";
/// Its bytes, inside this program: it runs from any directory.
const SAMPLE_BYTES: &[u8] = include_bytes!("captures/dialogue.pcap");
/// With --live: the server's pause after each message, the article's `time.sleep(1)`.
const PAUSE_MS: u64 = 1000;
/// A pure ACK sent this long after the segment it acknowledges was delayed on
/// purpose: half of Linux's shortest delayed-ACK timer, 40 ms (`TCP_DELACK_MIN`).
const DELAYED_ACK_NS: i64 = 20_000_000;
/// Characters of data shown on a line of the timeline.
const SHOW_TEXT: usize = 18;

fn usage() -> String {
    indoc::formatdoc! {"
        usage: 12_wire [FILE] [OPTIONS]

        Reads a capture of a TCP conversation (classic pcap, as `tcpdump -w` writes it),
        unpacks every packet layer by layer with lesson 01's code, and draws the
        conversation as a timeline, from the handshake to TIME_WAIT.

        arguments:
          FILE            the capture to read, or `-` for standard input (default
                          {SAMPLE}, 04_client talking to 03_server)

        options:
          --packet N      show packet N in full (numbered from 1, as tcpdump counts),
                          every field and its bytes, as lesson 01 draws its parcel
          --live          capture a conversation yourself: run 03_server and 04_client on
                          a free port and capture it on lo with an AF_PACKET socket (Linux,
                          root or CAP_NET_RAW; `cargo build --examples` first)
          --pause-ms MS   with --live, the server's pause after each message (default {PAUSE_MS})
          --save FILE     with --live, also write the capture to FILE (for tcpdump -r or
                          Wireshark)
          -h, --help      show this text

        examples:
          cargo run --example 12_wire
          cargo run --example 12_wire -- --packet 6
          cargo run --example 12_wire -- capture.pcap
          sudo tcpdump -i lo -c 20 -w - port 1234 | cargo run --example 12_wire -- -
          cargo run --example 12_wire -- --live --save mine.pcap
    "}
}

fn main() {
    let mut args = Args::from_env(&usage());
    // 0: every packet, in short. Packets are numbered from 1, as tcpdump counts.
    let packet: usize = args.value("--packet", 0);
    let live = args.flag("--live");
    let pause_ms: u64 = args.value("--pause-ms", PAUSE_MS);
    let save: String = args.value("--save", String::new());
    let file = args.positional();
    if !live && !save.is_empty() {
        args.refuse("--save writes what --live captured: give --live too");
    }
    if live && file.is_some() {
        args.refuse("--live captures a conversation itself: give it no FILE");
    }
    args.finish();

    let (name, bytes) = if live {
        live_or_sample(pause_ms, &save)
    } else {
        read_input(file.as_deref())
    };
    let capture = Capture::read(&bytes).unwrap_or_else(|bad| fail(format!("{name}: {bad}")));
    let mut seen = decode(&name, &capture);
    let conversations = follow(&mut seen);
    if packet > 0 {
        show_one(&name, &seen, &conversations, packet);
    } else {
        heading("1. The capture file");
        say::out_text(&capture.describe(&name, &bytes));
        show_packets(&seen, &conversations);
        let last_acks = show_timelines(&seen, &conversations);
        show_checksums(&seen, &last_acks);
    }
}

/// The capture's name and bytes: the file, standard input, or the shipped sample.
fn read_input(file: Option<&str>) -> (String, Vec<u8>) {
    match file {
        Some(file) => read_capture_file(file).unwrap_or_else(|why| fail(why)),
        None => (SAMPLE.into(), SAMPLE_BYTES.to_vec()),
    }
}

// ---- Every record, unpacked ---------------------------------------------------------

/// One packet of the capture, decoded.
struct Seen {
    /// Counted from 1, as tcpdump and Wireshark count.
    number: usize,
    /// Nanoseconds after the first packet of the capture.
    time: i64,
    /// The TCP segment, or what else the packet was.
    decoded: Result<Segment, String>,
}

/// A TCP segment of the capture, and where it belongs.
struct Segment {
    packet: Packet,
    /// Which of the conversations (see [`follow`]), and whether its client sent it.
    conversation: usize,
    from_client: bool,
}

// ANCHOR: decode
/// Decodes every packet; stops with one line at the first that contradicts itself.
fn decode(name: &str, capture: &Capture) -> Vec<Seen> {
    if !Link::KNOWN
        .iter()
        .any(|(known, _)| *known == capture.link_type)
    {
        fail(format!("{name}: {}", unknown_link_type(capture.link_type)));
    }
    let start = capture.records.first().map_or(0, |r| capture.time_ns(r));
    let mut seen = Vec::new();
    for (i, record) in capture.records.iter().enumerate() {
        // The parcel codec reads the layers one inside the other: link, IP, TCP, data.
        let decoded = match Packet::parse(capture.link_type, &record.data) {
            Ok(packet) => Ok(Segment {
                packet,
                conversation: 0,
                from_client: false,
            }),
            // ARP, UDP, a fragment...: listed, and decoding goes on.
            Err(NotTcp::Other(what)) => Err(what),
            Err(NotTcp::Malformed(why)) => {
                let (n, at, kept) = (i + 1, record.offset, record.data.len());
                let mut said = format!("{name}: packet {n} (byte {at} of the file): {why}");
                // A capture may keep only the start of each packet (tcpdump -s).
                if kept < record.original_len as usize {
                    let was = record.original_len;
                    said += &format!("; only {kept} of its {was} bytes were captured");
                    said += ": capture again with tcpdump -s 0";
                }
                fail(said)
            }
        };
        // Times in a damaged file may run backwards: no overflow, whatever they say.
        let time = i128::from(capture.time_ns(record)) - i128::from(start);
        seen.push(Seen {
            number: i + 1,
            time: time.clamp(i64::MIN.into(), i64::MAX.into()) as i64,
            decoded,
        });
    }
    seen
}
// ANCHOR_END: decode

/// The segments among the packets, each with its packet.
fn segments(seen: &[Seen]) -> impl Iterator<Item = (&Seen, &Segment)> {
    seen.iter()
        .filter_map(|s| s.decoded.as_ref().ok().map(|segment| (s, segment)))
}

// ---- Following a conversation -------------------------------------------------------

/// One TCP connection of the capture: who is who, and where each side counts from.
struct Conversation {
    client: Endpoint,
    server: Endpoint,
    /// Whether the capture holds the client's SYN. Without it, who is who is a guess
    /// (the client has the higher port), and each side counts from the first segment
    /// seen.
    handshake: bool,
}

/// One end of a conversation.
struct Endpoint {
    addr: SocketAddr,
    /// Its initial sequence number (ISN), from its SYN: its bytes are numbered from
    /// ISN + 1.
    isn: Option<u32>,
    /// The window scale its SYN announced (RFC 7323).
    scale: Option<u8>,
}

// ANCHOR: follow
/// Sorts the segments into conversations, and finds each side's ISN and window
/// scale. The side that sends a SYN without ACK is the client.
fn follow(seen: &mut [Seen]) -> Vec<Conversation> {
    let mut conversations: Vec<Conversation> = Vec::new();
    for segment in seen.iter_mut().filter_map(|s| s.decoded.as_mut().ok()) {
        let (ip, tcp) = (&segment.packet.ip, &segment.packet.tcp);
        let src = SocketAddr::new(ip.src(), tcp.src_port);
        let dst = SocketAddr::new(ip.dst(), tcp.dst_port);
        // A conversation is its two addresses, whichever way a segment goes.
        let found = conversations.iter().position(|c| {
            (c.client.addr, c.server.addr) == (src, dst)
                || (c.server.addr, c.client.addr) == (src, dst)
        });
        let index = found.unwrap_or_else(|| {
            let syn = tcp.flags & (SYN | ACK) == SYN;
            let (client, server) = if syn || src.port() > dst.port() {
                (src, dst)
            } else {
                (dst, src)
            };
            let end = |addr| Endpoint {
                addr,
                isn: None,
                scale: None,
            };
            conversations.push(Conversation {
                client: end(client),
                server: end(server),
                handshake: syn,
            });
            conversations.len() - 1
        });
        let conversation = &mut conversations[index];
        segment.conversation = index;
        segment.from_client = conversation.client.addr == src;
        let sender = if segment.from_client {
            &mut conversation.client
        } else {
            &mut conversation.server
        };
        if tcp.has(SYN) {
            sender.isn = Some(tcp.seq);
            sender.scale = tcp.window_scale();
        } else if sender.isn.is_none() {
            // No SYN seen: the first byte seen is called byte 1.
            sender.isn = Some(tcp.seq.wrapping_sub(1));
        }
    }
    conversations
}
// ANCHOR_END: follow

impl Conversation {
    fn sender(&self, segment: &Segment) -> &Endpoint {
        if segment.from_client {
            &self.client
        } else {
            &self.server
        }
    }

    fn receiver(&self, segment: &Segment) -> &Endpoint {
        if segment.from_client {
            &self.server
        } else {
            &self.client
        }
    }

    // ANCHOR: relative
    /// The segment's sequence number counted from its sender's ISN: its first data
    /// byte is byte 1 of the sender's stream. Numbers wrap around at 2^32.
    fn seq(&self, segment: &Segment) -> u32 {
        let isn = self.sender(segment).isn.unwrap_or(0);
        segment.packet.tcp.seq.wrapping_sub(isn)
    }

    /// The acknowledgment number counted from the *receiver's* ISN: the next byte of
    /// the other side's stream this side expects. Only meaningful with ACK set.
    fn ack(&self, segment: &Segment) -> Option<u32> {
        let isn = self.receiver(segment).isn?;
        let tcp = &segment.packet.tcp;
        tcp.has(ACK).then(|| tcp.ack.wrapping_sub(isn))
    }
    // ANCHOR_END: relative

    // ANCHOR: window
    /// The window in bytes, and how it follows from the field. A SYN's window is never
    /// scaled; after it, each side's window is shifted by the scale that side
    /// announced, if both sides announced one (RFC 7323, section 2).
    fn window(&self, segment: &Segment) -> (u64, String) {
        let tcp = &segment.packet.tcp;
        let raw = u64::from(tcp.window);
        if tcp.has(SYN) {
            return (raw, format!("{raw} (never scaled in a SYN)"));
        }
        match (self.client.scale, self.server.scale) {
            (Some(_), Some(_)) => {
                // RFC 7323 caps the shift at 14.
                let shift = self.sender(segment).scale.unwrap_or(0).min(14);
                let bytes = raw << shift;
                (bytes, format!("{raw} × 2^{shift} = {bytes}"))
            }
            _ if self.handshake => (
                raw,
                format!("{raw} (not scaled: one side did not offer it)"),
            ),
            _ => (raw, format!("{raw} (scale unknown: no handshake captured)")),
        }
    }
    // ANCHOR_END: window
}

impl Segment {
    /// Who sent it, and who receives it.
    fn sides(&self) -> (&'static str, &'static str) {
        if self.from_client {
            ("client", "server")
        } else {
            ("server", "client")
        }
    }
}

// ---- 2. Every packet, layer by layer ------------------------------------------------

/// Every packet as its nested layers, one line each, and a first line that reads as
/// tcpdump's does.
fn show_packets(seen: &[Seen], conversations: &[Conversation]) {
    heading("2. Every packet, layer by layer");
    note!(
        "seq and ack count from each side's first sequence number (its ISN), as tcpdump\n\
         and Wireshark show them; a SYN shows the ISN itself. win is the field as sent."
    );
    for s in seen {
        let when = format!("#{:<3} {} s", s.number, seconds(s.time));
        let segment = match &s.decoded {
            Ok(segment) => segment,
            Err(what) => {
                say::out_text(&format!("{when}  not a TCP segment: {what}\n"));
                continue;
            }
        };
        let c = &conversations[segment.conversation];
        let packet = &segment.packet;
        let (from, to) = segment.sides();
        // The numbers counted from each side's ISN, as tcpdump counts them.
        let line = packet.tcpdump_line(c.seq(segment), c.ack(segment));
        say::out_text(&format!("{when}  {from} → {to}  {line}\n"));
        say::out_text(&packet.layers(&c.window(segment).1));
    }
}

// ---- --packet N: one packet in full -------------------------------------------------

/// One packet in full, as lesson 01 draws its parcel, with the article's packings laid
/// over it.
fn show_one(name: &str, seen: &[Seen], conversations: &[Conversation], number: usize) {
    let Some(s) = seen.get(number - 1) else {
        let holds = seen.len();
        usage_error(format!("--packet {number}: {name} holds {holds} packets"))
    };
    heading(format!("Packet {number} in full"));
    let segment = match &s.decoded {
        Ok(segment) => segment,
        Err(what) => {
            note!("Packet {number} is not a TCP segment: {what}.");
            return;
        }
    };
    let c = &conversations[segment.conversation];
    let (packet, tcp) = (&segment.packet, &segment.packet.tcp);
    let (side, other) = segment.sides();
    note!(
        "Seen {} s after the first packet, from the {side} {}\nto the {other} {}.",
        seconds(s.time),
        c.sender(segment).addr,
        c.receiver(segment).addr
    );
    // What lesson 01 could not know: what the numbers mean in this conversation.
    let seq = if tcp.has(SYN) {
        format!("the {side}'s ISN: its bytes are numbered from the next one")
    } else {
        format!("relative {}: counted from the {side}'s ISN", c.seq(segment))
    };
    let ack = match c.ack(segment) {
        Some(ack) => format!("relative {ack}: the next byte it expects from the {other}"),
        None => "no ACK flag: not used".into(),
    };
    let (bytes, window) = c.window(segment);
    let window = match c.sender(segment).scale {
        Some(shift) if !tcp.has(SYN) && bytes != u64::from(tcp.window) => {
            format!("{window} bytes (scale {shift}, from its SYN)")
        }
        _ => window,
    };
    let mut shown = vec![
        ("sequence number", format!("{} ({seq})", tcp.seq)),
        ("acknowledgment number", format!("{} ({ack})", tcp.ack)),
        ("window", window),
    ];
    shown.extend(packet.checksums_checked());
    say::out_text(&packet.render(&shown));
    note!("{}", packet.packings(side));
}

// ---- 3. The conversation, as a timeline ---------------------------------------------

/// Draws each conversation; returns the numbers of the packets that acknowledged a
/// conversation's last FIN.
fn show_timelines(seen: &[Seen], conversations: &[Conversation]) -> Vec<usize> {
    let mut last_acks = Vec::new();
    for (index, c) in conversations.iter().enumerate() {
        heading(match conversations.len() {
            1 => "3. The conversation".to_string(),
            _ => format!("3.{} The conversation of {}", index + 1, c.client.addr),
        });
        let mine: Vec<_> = segments(seen)
            .filter(|(_, segment)| segment.conversation == index)
            .collect();
        last_acks.extend(timeline(c, &mine));
    }
    last_acks
}

// ANCHOR: timeline
/// The conversation as a ladder: the client on the left, the server on the right, an
/// arrow for each segment, the phases named, and what each segment means on its right.
fn timeline(c: &Conversation, segments: &[(&Seen, &Segment)]) -> Option<usize> {
    if !c.handshake {
        note!("The capture holds no SYN: it began after the handshake.");
    }
    let (client, server) = (&c.client.addr, &c.server.addr);
    say::out_text(&ladder_ends(
        &format!("client {client}"),
        &format!("server {server}"),
    ));
    let mut story = Story::default();
    for (i, (seen, segment)) in segments.iter().enumerate() {
        let (phase, meaning) = story.tell(c, &segments[..i], seen, segment);
        if let Some(phase) = phase {
            say::out_text(&ladder_phase(&phase));
        }
        // The arrow says what the segment carries; the words after it, what it means.
        let label = segment
            .packet
            .label(c.seq(segment), c.ack(segment), SHOW_TEXT);
        let to_server = segment.from_client;
        say::out_text(&ladder_rung(
            seen.number,
            seen.time,
            &label,
            to_server,
            &meaning,
        ));
    }
    story.sum_up();
    story.last_ack
}
// ANCHOR_END: timeline

/// What the timeline has seen so far, to name what comes next.
#[derive(Default)]
struct Story {
    /// When the client's SYN was seen.
    syn: Option<i64>,
    /// When the handshake's last ACK was seen.
    connected: Option<i64>,
    /// When the client last sent data, and what.
    client_data: Option<(i64, String)>,
    server_spoke: bool,
    /// Who sent a FIN (the client?), and when.
    fins: Vec<(bool, i64)>,
    /// The packet that acknowledged the last FIN.
    last_ack: Option<usize>,
    /// The acknowledgment number each side sent last: client, server.
    acked: [Option<u32>; 2],
    /// How long each reply took after the name it answers.
    replies: Vec<i64>,
    delayed: Vec<i64>,
}

impl Story {
    // ANCHOR: story
    /// The phase that starts with this segment, if one does, and what it means.
    fn tell(
        &mut self,
        c: &Conversation,
        before: &[(&Seen, &Segment)],
        seen: &Seen,
        segment: &Segment,
    ) -> (Option<String>, String) {
        let (now, tcp) = (seen.time, &segment.packet.tcp);
        let side = segment.sides().0;
        // Does it acknowledge something new? A segment with data may carry an ACK too.
        let ack = c.ack(segment);
        let acked = &mut self.acked[usize::from(!segment.from_client)];
        let new_ack = ack.is_some() && *acked != ack;
        *acked = ack;
        if tcp.has(RST) {
            let aborts = format!("the {side} aborts the connection");
            return (Some("reset".into()), aborts);
        }
        if tcp.has(SYN) {
            return self.handshake(c, segment, now);
        }
        if !segment.packet.payload.is_empty() {
            return self.data(segment, now, new_ack);
        }
        if tcp.has(FIN) {
            self.fins.push((segment.from_client, now));
            return match self.fins[..] {
                [_] => (
                    Some("the close: a FIN and its ACK each way".into()),
                    format!("the {side} closes first"),
                ),
                [(_, first), ..] => (
                    None,
                    format!("the {side} closes too, {} later", duration(now - first)),
                ),
                [] => (None, String::new()),
            };
        }
        // A bare ACK: the handshake's last, or one the kernel sent on its own.
        if let (None, Some(syn), true) = (self.connected, self.syn, segment.from_client) {
            self.connected = Some(now);
            let connected = format!("handshake 3/3: connected in {}", duration(now - syn));
            return (None, connected);
        }
        let Some(acked) = acknowledged(before, segment) else {
            return (None, "ACK of nothing new (a window update?)".into());
        };
        let delay = now - acked;
        let mut meaning = if delay >= DELAYED_ACK_NS {
            self.delayed.push(delay);
            format!("delayed ACK, {} later", duration(delay))
        } else {
            format!("ACK at once, {} later", duration(delay))
        };
        // The ACK of the second FIN, from the side that closed first.
        if let [(first, _), (second, _)] = self.fins[..] {
            if segment.from_client == first && first != second && self.last_ack.is_none() {
                self.last_ack = Some(seen.number);
                meaning = format!("last ACK: the {side} enters TIME_WAIT");
            }
        }
        (None, meaning)
    }
    // ANCHOR_END: story

    /// A SYN, and what it offers: the first or the second step of the handshake.
    fn handshake(
        &mut self,
        c: &Conversation,
        segment: &Segment,
        now: i64,
    ) -> (Option<String>, String) {
        let tcp = &segment.packet.tcp;
        let mss = tcp.mss().map(|mss| format!(", MSS {mss}"));
        let scale = c.sender(segment).scale.map(|s| format!(", scale {s}"));
        let offers = format!("{}{}", mss.unwrap_or_default(), scale.unwrap_or_default());
        if tcp.has(ACK) {
            return (None, format!("handshake 2/3{offers}"));
        }
        self.syn = Some(now);
        (
            Some("three-way handshake".into()),
            format!("handshake 1/3{offers}"),
        )
    }

    /// A segment that carries data: a name from the client, or the server's words.
    fn data(&mut self, segment: &Segment, now: i64, new_ack: bool) -> (Option<String>, String) {
        let text = quoted(&segment.packet.payload, SHOW_TEXT);
        if segment.from_client {
            self.client_data = Some((now, text.clone()));
            let meaning = if new_ack && self.server_spoke {
                "carries the ACK of the reply: no bare ACK".into()
            } else {
                String::new()
            };
            return (Some(format!("the client sends {text}")), meaning);
        }
        let first = !self.server_spoke;
        self.server_spoke = true;
        match &self.client_data {
            None if first => {
                let after = self
                    .connected
                    .map(|at| format!("{} after the handshake", duration(now - at)));
                (
                    Some("the server speaks first".into()),
                    after.unwrap_or_default(),
                )
            }
            None => (None, String::new()),
            // The reply to the client's last name: how long did the server take?
            Some((then, name)) => {
                let took = now - then;
                self.replies.push(took);
                let pause = if took >= 500_000_000 {
                    ": the pause"
                } else {
                    ""
                };
                (None, format!("{} after {name}{pause}", duration(took)))
            }
        }
    }

    /// Says what the whole conversation showed.
    fn sum_up(&self) {
        if let (Some(least), Some(most)) = (self.replies.iter().min(), self.replies.iter().max()) {
            note!(
                "Each reply came {} to {} after the name it answers: the server's pause\n\
                 after each read (the article's time.sleep(1)). The ACKs did not wait: the\n\
                 kernels send them, not the programs.",
                duration(*least),
                duration(*most)
            );
        }
        for delay in &self.delayed {
            note!(
                "A delayed ACK, {} after what it acknowledges: with nothing to send, Linux\n\
                 holds a bare ACK back (40 ms at least) in case data can carry it.",
                duration(*delay)
            );
        }
        let (first, second) = match self.fins.first() {
            Some((true, _)) => ("client", "server"),
            Some((false, _)) => ("server", "client"),
            None => ("", ""),
        };
        if self.last_ack.is_some() {
            note!(
                "The {first} sent the first FIN, so after its last ACK its end waits in\n\
                 TIME_WAIT: 60 s on Linux (RFC 9293 asks for twice the maximum segment\n\
                 lifetime), so that a late segment cannot be taken for part of a new\n\
                 connection between the same ports (`ss -tan state time-wait` shows it).\n\
                 The {second}'s end was in CLOSE_WAIT from that FIN until its program\n\
                 closed, then in LAST_ACK until the last ACK came: then it is gone."
            );
        } else {
            note!("The capture ends before both sides have closed and acknowledged.");
        }
    }
}

/// When the segment that `ack` acknowledges was seen: the last one from the other
/// side whose end is the number this ACK asks for next.
fn acknowledged(before: &[(&Seen, &Segment)], ack: &Segment) -> Option<i64> {
    // A SYN and a FIN count as one byte each, as the data does.
    let seq_len =
        |p: &Packet| p.payload.len() as u32 + u32::from(p.tcp.has(SYN)) + u32::from(p.tcp.has(FIN));
    let wanted = ack.packet.tcp.ack;
    before
        .iter()
        .rev()
        .filter(|(_, s)| s.from_client != ack.from_client && seq_len(&s.packet) > 0)
        .find(|(_, s)| s.packet.tcp.seq.wrapping_add(seq_len(&s.packet)) == wanted)
        .map(|(seen, _)| seen.time)
}

// ---- 4. Checksums, and what loopback changes ----------------------------------------

/// Both checksums of every segment, and what a capture of loopback shows that a real
/// network does not.
fn show_checksums(seen: &[Seen], last_acks: &[usize]) {
    heading("4. Checksums, and what loopback changes");
    let packets: Vec<(usize, &Packet)> = segments(seen)
        .map(|(s, segment)| (s.number, &segment.packet))
        .collect();
    let ipv4: Vec<bool> = packets
        .iter()
        .filter_map(|(_, p)| match &p.ip {
            Ip::V4(h) => Some(h.checksum_ok()),
            Ip::V6(_) => None,
        })
        .collect();
    if !ipv4.is_empty() {
        let right = ipv4.iter().filter(|ok| **ok).count();
        note!(
            "IPv4 header checksums: {right} of {} correct. The kernel computes this one in\n\
             full for every packet it sends.",
            ipv4.len()
        );
    }
    let verdicts: Vec<TcpChecksum> = packets.iter().map(|(_, p)| p.tcp_checksum()).collect();
    let count = |wanted: fn(&TcpChecksum) -> bool| verdicts.iter().filter(|v| wanted(v)).count();
    let partial = count(|v| matches!(v, TcpChecksum::Partial { .. }));
    note!(
        "TCP checksums: {} correct, {partial} partial, {} wrong, {} not checked (data not\n\
         captured), of {}.",
        count(|v| *v == TcpChecksum::Correct),
        count(|v| matches!(v, TcpChecksum::Incorrect { .. })),
        count(|v| *v == TcpChecksum::NotCaptured),
        packets.len()
    );
    if partial > 0 {
        note!(
            "\"Partial\": the field holds the sum of the pseudo-header alone (both addresses,\n\
             the protocol, the length), not inverted. Linux leaves the rest of the sum to\n\
             the network card when the card says it can do it (checksum offload): the card\n\
             adds the header and the data and writes the result as the packet leaves. lo\n\
             says it can, and nothing ever does it: the bytes never leave memory, and the\n\
             receiving side takes them as checked. A capture sees each packet before any\n\
             card: `tcpdump -vv` calls these \"incorrect\" and shows, after `->`, the value\n\
             a card would have written (what --packet N calls \"whole\")."
        );
        // On loopback the one complete sum is the last ACK's: say why.
        let complete: Vec<String> = packets
            .iter()
            .filter(|(n, p)| last_acks.contains(n) && p.tcp_checksum() == TcpChecksum::Correct)
            .map(|(n, _)| format!("#{n}"))
            .collect();
        if !complete.is_empty() {
            note!(
                "Complete: {}, the last ACK. Linux sends an ACK from TIME_WAIT, when the\n\
                 connection has no full socket any more, through a control socket of its\n\
                 own, and that path sums the whole segment itself.",
                complete.join(", ")
            );
        }
    }
    show_loopback(&packets);
}

/// What else says "loopback": MACs of zeros, and an MSS that only a 64 KiB MTU allows.
fn show_loopback(packets: &[(usize, &Packet)]) {
    let no_card = |(_, p): &&(usize, &Packet)| match p.link {
        Link::Ethernet { src, dst, .. } => src == [0; 6] && dst == [0; 6],
        _ => false,
    };
    let zero_macs = packets.iter().filter(no_card).count();
    if zero_macs > 0 {
        note!(
            "{zero_macs} frames carry MAC addresses of all zeros: on lo no network card sends\n\
             them, so there is no card's address to write."
        );
    }
    let mut mss: Vec<String> = packets
        .iter()
        .filter_map(|(_, p)| p.tcp.mss().map(|mss| mss.to_string()))
        .collect();
    mss.dedup();
    if !mss.is_empty() {
        note!(
            "The SYNs announced MSS {}: the most data one segment may carry. Over lo\n\
             (MTU 65536) IP bounds it first: 65535 − 40 = 65495 bytes for IPv4, 65536 −\n\
             60 = 65476 for IPv6. Over standard Ethernet (MTU 1500) a SYN announces 1460.",
            mss.join(" and ")
        );
    }
}

// ---- --live: capture a conversation yourself (Linux) -------------------------------

/// Why --live did not capture.
enum Live {
    /// Not here: no privilege, or not Linux. The shipped sample is decoded instead.
    Unavailable(String),
    /// Something broke on the way: said in one line, exit 1.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    Failed(String),
}

/// Captures a conversation of 03_server and 04_client on lo; where that cannot be
/// done, says how tcpdump would do it and decodes the shipped sample instead.
fn live_or_sample(pause_ms: u64, save: &str) -> (String, Vec<u8>) {
    match capture_live(pause_ms) {
        Ok(capture) => {
            let bytes = capture.to_bytes();
            if !save.is_empty() {
                if let Err(err) = std::fs::write(save, &bytes) {
                    fail(format!("cannot write {save}: {err}"));
                }
                note!("Saved to {save}: `tcpdump -r {save} -nn` and Wireshark read it too.");
            }
            ("the live capture".into(), bytes)
        }
        Err(Live::Unavailable(why)) => {
            say::error_line(format!(
                "cannot capture: {why}. tcpdump does the same: `sudo tcpdump -i lo -w \
                 FILE port 1234` while 03_server and 04_client talk. Decoding the \
                 shipped sample, {SAMPLE}, instead"
            ));
            (SAMPLE.into(), SAMPLE_BYTES.to_vec())
        }
        Err(Live::Failed(why)) => fail(why),
    }
}

#[cfg(not(target_os = "linux"))]
fn capture_live(_pause_ms: u64) -> Result<Capture, Live> {
    Err(Live::Unavailable(
        "--live uses an AF_PACKET socket, which only Linux has (on macOS, capture on lo0 \
         with tcpdump; on Windows, with Wireshark and Npcap)"
            .into(),
    ))
}

/// The most --live waits beyond the server's pauses (four: three names and `exit`).
#[cfg(target_os = "linux")]
const LIVE_MARGIN_MS: u64 = 5000;

// ANCHOR: live
/// Starts 03_server on a free port, captures on lo while 04_client talks to it, and
/// stops once both sides have closed.
#[cfg(target_os = "linux")]
fn capture_live(pause_ms: u64) -> Result<Capture, Live> {
    use std::time::{Duration, Instant};
    use tcp_lessons::sibling::Sibling;
    let socket = packet_socket()?;
    let pause = pause_ms.to_string();
    let server = Sibling::server("03_server", &["127.0.0.1:0", "--pause-ms", &pause]);
    let (server, addr) = server.map_err(Live::Failed)?;
    let failed = |err: io::Error| Live::Failed(format!("cannot filter the capture: {err}"));
    socket
        .attach_filter(&only_port(lo_index(), addr.port()))
        .map_err(failed)?;
    tcp_lessons::kernel!(
        "an AF_PACKET socket listens on lo for TCP port {}, where 03_server listens",
        addr.port()
    );
    let client = Sibling::start("04_client", &[&addr.to_string()]).map_err(Live::Failed)?;
    let patience = Duration::from_millis(pause_ms.saturating_mul(4).saturating_add(LIVE_MARGIN_MS));
    let capture = read_until_closed(&socket, addr.port(), Instant::now() + patience);
    drop((client, server));
    capture.map_err(|err| Live::Failed(format!("the capture failed: {err}")))
}

/// A socket that receives every frame, as the link layer hands it over: AF_PACKET,
/// raw, for every protocol (ETH_P_ALL). To begin with it keeps nothing.
#[cfg(target_os = "linux")]
fn packet_socket() -> Result<socket2::Socket, Live> {
    use socket2::{Domain, Protocol, Socket, Type};
    // The protocol goes in network byte order, as in the frames themselves.
    let all = Protocol::from(i32::from((libc::ETH_P_ALL as u16).to_be()));
    let socket = Socket::new(Domain::PACKET, Type::RAW, Some(all)).map_err(|err| {
        if err.kind() == io::ErrorKind::PermissionDenied {
            Live::Unavailable(format!(
                "an AF_PACKET socket needs root or CAP_NET_RAW ({err})"
            ))
        } else {
            Live::Failed(format!("cannot open an AF_PACKET socket: {err}"))
        }
    })?;
    // Until the real filter is set, frames from everywhere would queue up: drop them.
    let nothing = [bpf(libc::BPF_RET | libc::BPF_K, 0, 0, 0)];
    socket
        .attach_filter(&nothing)
        .map_err(|err| Live::Failed(format!("cannot filter the capture: {err}")))?;
    Ok(socket)
}
// ANCHOR_END: live

// ANCHOR: filter
/// The kernel runs this little program (classic BPF) on every frame and keeps only
/// those it returns a length for: frames received on lo (not our own copy of what lo
/// sends, which would show every packet twice), IPv4, TCP, not a fragment, from or to
/// `port`. `tcpdump -d 'tcp port 1234'` prints the program tcpdump makes of its filter.
#[cfg(target_os = "linux")]
fn only_port(lo: u32, port: u16) -> Vec<socket2::SockFilter> {
    use libc::{
        BPF_ABS, BPF_B, BPF_H, BPF_IND, BPF_JEQ, BPF_JMP, BPF_JSET, BPF_K, BPF_LD, BPF_LDX,
        BPF_MSH, BPF_RET, BPF_W, SKF_AD_IFINDEX, SKF_AD_OFF, SKF_AD_PKTTYPE,
    };
    /// Linux's packet type for a frame this host sends (`<linux/if_packet.h>`).
    const PACKET_OUTGOING: u32 = 4;
    let extension = |which: i32| (SKF_AD_OFF + which) as u32;
    // A jump says how many instructions to skip: `jt` if the test holds, `jf` if not.
    vec![
        bpf(BPF_LD | BPF_W | BPF_ABS, 0, 0, extension(SKF_AD_PKTTYPE)), //  0 A = packet type
        bpf(BPF_JMP | BPF_JEQ | BPF_K, 14, 0, PACKET_OUTGOING),         //  1 sent by us? drop
        bpf(BPF_LD | BPF_W | BPF_ABS, 0, 0, extension(SKF_AD_IFINDEX)), //  2 A = interface
        bpf(BPF_JMP | BPF_JEQ | BPF_K, 0, 12, lo),                      //  3 not lo? drop
        bpf(BPF_LD | BPF_H | BPF_ABS, 0, 0, 12),                        //  4 A = EtherType
        bpf(BPF_JMP | BPF_JEQ | BPF_K, 0, 10, 0x0800),                  //  5 not IPv4? drop
        bpf(BPF_LD | BPF_B | BPF_ABS, 0, 0, 14 + 9),                    //  6 A = IP protocol
        bpf(BPF_JMP | BPF_JEQ | BPF_K, 0, 8, 6),                        //  7 not TCP? drop
        bpf(BPF_LD | BPF_H | BPF_ABS, 0, 0, 14 + 6),                    //  8 A = fragment bits
        bpf(BPF_JMP | BPF_JSET | BPF_K, 6, 0, 0x1fff),                  //  9 a fragment? drop
        bpf(BPF_LDX | BPF_B | BPF_MSH, 0, 0, 14),                       // 10 X = IHL × 4
        bpf(BPF_LD | BPF_H | BPF_IND, 0, 0, 14),                        // 11 A = source port
        bpf(BPF_JMP | BPF_JEQ | BPF_K, 2, 0, u32::from(port)),          // 12 ours? keep
        bpf(BPF_LD | BPF_H | BPF_IND, 0, 0, 14 + 2),                    // 13 A = destination port
        bpf(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, u32::from(port)),          // 14 not ours? drop
        bpf(BPF_RET | BPF_K, 0, 0, tcp_lessons::parcel::MAX_CAPTURED),  // 15 keep the frame
        bpf(BPF_RET | BPF_K, 0, 0, 0),                                  // 16 drop it
    ]
}

/// One instruction of a classic BPF program: what to do, where to jump when a test
/// holds or fails, and a number to load or compare.
#[cfg(target_os = "linux")]
fn bpf(code: u32, jt: u8, jf: u8, k: u32) -> socket2::SockFilter {
    socket2::SockFilter::new(code as u16, jt, jf, k)
}

/// lo's interface index (`ip link` shows it first: 1).
#[cfg(target_os = "linux")]
fn lo_index() -> u32 {
    std::fs::read_to_string("/sys/class/net/lo/ifindex")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(1)
}
// ANCHOR_END: filter

// ANCHOR: read_until_closed
/// Reads frames until both sides have sent their FIN and the last one is
/// acknowledged (or a RST came, or the time is up), each with the time it was read.
#[cfg(target_os = "linux")]
fn read_until_closed(
    socket: &socket2::Socket,
    port: u16,
    deadline: std::time::Instant,
) -> io::Result<Capture> {
    use io::ErrorKind::{Interrupted, TimedOut, WouldBlock};
    use std::io::Read;
    use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
    socket.set_read_timeout(Some(Duration::from_millis(50)))?;
    let mut capture = Capture::new(Link::ETHERNET);
    // lo's MTU is 65536: any frame fits.
    let mut buffer = vec![0; tcp_lessons::parcel::MAX_CAPTURED as usize];
    let mut fins = 0;
    while Instant::now() < deadline {
        let n = match (&mut &*socket).read(&mut buffer) {
            Ok(n) => n,
            // The read timeout (or a signal): look at the clock, and wait again.
            Err(err) if matches!(err.kind(), WouldBlock | TimedOut | Interrupted) => continue,
            Err(err) => return Err(err),
        };
        // The time the program read the frame: later than the kernel saw it by the
        // time this loop took to come round (tcpdump asks the kernel for its time).
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let Ok(packet) = Packet::parse(Link::ETHERNET, &buffer[..n]) else {
            continue;
        };
        if packet.tcp.src_port != port && packet.tcp.dst_port != port {
            continue; // queued before the filter was set
        }
        capture.push(now.as_nanos() as u64, buffer[..n].to_vec());
        let tcp = &packet.tcp;
        fins += usize::from(tcp.has(FIN));
        let last_ack = fins >= 2 && tcp.flags == ACK && packet.payload.is_empty();
        if last_ack || tcp.has(RST) {
            return Ok(capture);
        }
    }
    note!(
        "The capture stopped at its time limit before the conversation closed: the \
         timeline ends early."
    );
    Ok(capture)
}
// ANCHOR_END: read_until_closed
