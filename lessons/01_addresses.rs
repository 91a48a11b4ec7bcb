//! Lesson 01: addresses, ports, and the parcel a message travels in.
//!
//! Before any socket talks, a program must name where its bytes go. This lesson shows
//! the names: IPv4 and IPv6 addresses and their special ranges, the MAC addresses of
//! this machine's network cards, ports (and one the operating system hands out for
//! real), a socket address resolved from `HOST:PORT`, and finally the message `Michael`
//! wrapped layer by layer, with the real header bytes, as it would leave for
//! 127.0.0.1:1234, where the server of lesson 03 listens.
//!
//! Run it:
//!
//! ```text
//! cargo run --example 01_addresses
//! cargo run --example 01_addresses -- example.com:80 张三 --src-port 50000
//! ```

use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, TcpListener, ToSocketAddrs};
use tcp_lessons::args::Args;
use tcp_lessons::parcel::Parcel;
use tcp_lessons::say::heading;
use tcp_lessons::{kernel, note};

/// What section 4 resolves: the article's server, by name.
const TARGET: &str = "localhost:1234";
/// What the parcel carries: the first name the article's client sends.
const MESSAGE: &str = "Michael";

fn usage() -> String {
    indoc::formatdoc! {"
        usage: 01_addresses [HOST:PORT] [MESSAGE] [OPTIONS]

        Shows IP and MAC addresses, the neighbour table that links them, ports, a socket
        address, and MESSAGE wrapped in the headers it travels in (application data, TCP,
        IPv4, link frame).

        arguments:
          HOST:PORT      the socket address to resolve (default {TARGET})
          MESSAGE        the data to wrap in headers (default {MESSAGE})

        options:
          --src-port N   the parcel's source port (default 0: the ephemeral port the
                         operating system hands out in this run); set it to get the same
                         bytes every run
          -h, --help     show this text

        examples:
          cargo run --example 01_addresses
          cargo run --example 01_addresses -- example.com:80 张三 --src-port 50000
    "}
}

/// Data bytes in a full TCP segment over standard Ethernet: the 1500-byte MTU minus 20
/// bytes of IPv4 header, 20 of TCP header and the 12 of Linux's timestamp option.
const FULL_ETHERNET_SEGMENT: usize = 1500 - 20 - 20 - 12;

/// Where the article's server listens: the parcel's destination.
const SERVER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 1234);

fn main() {
    let mut args = Args::from_env(&usage());
    let src_port: u16 = args.value("--src-port", 0);
    let target = args.positional().unwrap_or_else(|| TARGET.into());
    let message = args.positional().unwrap_or_else(|| MESSAGE.into());
    args.finish();

    show_addresses();
    show_ip_and_mac();
    let ephemeral = show_ports();
    show_socket_address(&target);
    let src_port = match (src_port, ephemeral) {
        (0, Some(port)) => port,
        (0, None) => {
            note!("No port from the OS: the parcel uses 49152, the first dynamic port.");
            49152
        }
        (port, _) => port,
    };
    show_parcel(message.as_bytes(), src_port);
    show_packings();
}

// ANCHOR: classify
/// Parses a few addresses and says which special range each falls in.
fn show_addresses() {
    heading("1. IP addresses: IPv4 (32 bits) and IPv6 (128 bits)");
    note!("An IP address is set on a network interface, and routers carry packets toward it.");
    let examples = [
        "127.0.0.1",
        "0.0.0.0",
        "192.168.1.10",
        "10.0.0.1",
        "172.16.5.4",
        "169.254.10.20",
        "224.0.0.251",
        "255.255.255.255",
        "8.8.8.8",
        "::1",
        "::",
        "fe80::1",
        "fd12:3456:789a::1",
        "ff02::1",
        "2001:4860:4860::8888",
    ];
    for text in examples {
        match text.parse::<IpAddr>() {
            Ok(ip) => note!("{text:<22} {}", classify(ip)),
            Err(err) => note!("{text:<22} not an IP address: {err}"),
        }
    }
    note!(
        "\"global\" here means only that the address is in none of the ranges above;\n\
         other special ranges exist (documentation, shared 100.64.0.0/10, ...)."
    );
}

/// The special range `ip` belongs to, as `std::net` tells it.
fn classify(ip: IpAddr) -> &'static str {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> &'static str {
    if ip.is_loopback() {
        "IPv4 loopback (127.0.0.0/8): this machine itself, never leaves it"
    } else if ip.is_unspecified() {
        "IPv4 unspecified (0.0.0.0): \"any address of this machine\" when binding"
    } else if ip.is_private() {
        "IPv4 private (RFC 1918): home and office networks, not routed on the Internet"
    } else if ip.is_link_local() {
        "IPv4 link-local (169.254.0.0/16): self-assigned, valid on one link only"
    } else if ip.is_multicast() {
        "IPv4 multicast (224.0.0.0/4): one sender, a group of receivers"
    } else if ip.is_broadcast() {
        "IPv4 broadcast (255.255.255.255): every machine on the local link"
    } else if ip.is_documentation() {
        "IPv4 documentation (RFC 5737): for examples only"
    } else {
        "IPv4 global (none of the special ranges above)"
    }
}

fn classify_v6(ip: Ipv6Addr) -> &'static str {
    if ip.is_loopback() {
        "IPv6 loopback (::1): this machine itself"
    } else if ip.is_unspecified() {
        "IPv6 unspecified (::): \"any address of this machine\" when binding"
    } else if ip.is_unicast_link_local() {
        "IPv6 link-local (fe80::/10): valid on one link only; most IPv6 interfaces have one"
    } else if ip.is_unique_local() {
        "IPv6 unique local (fc00::/7): IPv6's private range"
    } else if ip.is_multicast() {
        "IPv6 multicast (ff00::/8): one sender, a group of receivers"
    } else {
        "IPv6 global (none of the special ranges above)"
    }
}
// ANCHOR_END: classify

// ANCHOR: interfaces
/// Lists this machine's network interfaces with their MAC addresses.
fn show_ip_and_mac() {
    heading("2. IP address and MAC address");
    note!(
        "A MAC address is like your ID-card number: given to the network card when it is\n\
         made. An IP address is like where you stay now: it changes when you move to\n\
         another network, and one machine can have several."
    );
    note!(
        "Unlike an ID card, a MAC can be changed in software, and many phones and laptops\n\
         pick random ones. It matters only on the local link: routers do not pass it on."
    );
    match read_interfaces() {
        Ok(interfaces) if !interfaces.is_empty() => {
            kernel!("this machine's network interfaces (from /sys/class/net/*/address and mtu):");
            for (name, mac, mtu) in interfaces {
                kernel!("  {name:<10} mtu {mtu:<6} {}", describe_mac(&mac));
            }
        }
        Ok(_) => kernel!("/sys/class/net lists no network interfaces"),
        Err(err) => {
            kernel!("cannot list network interfaces: /sys/class/net is Linux's, and here: {err}")
        }
    }
    note!(
        "`ip address` (Linux) shows which IP addresses each interface has. The MTU is the\n\
         largest packet the interface sends: 1500 bytes on standard Ethernet."
    );
    show_neighbours();
}

/// Each interface's name, and the MAC address and MTU Linux reports for it.
fn read_interfaces() -> std::io::Result<Vec<(String, String, String)>> {
    let mut found = Vec::new();
    for entry in fs::read_dir("/sys/class/net")? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let read = |file: &str| {
            fs::read_to_string(entry.path().join(file))
                .map(|text| text.trim().to_string())
                .unwrap_or_else(|err| format!("(unreadable: {err})"))
        };
        found.push((name, read("address"), read("mtu")));
    }
    found.sort();
    Ok(found)
}

/// A MAC address and what kind it is.
fn describe_mac(mac: &str) -> String {
    let octets: Vec<u8> = mac
        .split(':')
        .filter_map(|part| u8::from_str_radix(part, 16).ok())
        .collect();
    if mac.is_empty() {
        return "no MAC address (a link without Ethernet-style addresses)".into();
    }
    if octets.len() != 6 {
        return mac.to_string();
    }
    if octets.iter().all(|&b| b == 0) {
        format!("{mac}  all zeros: no network card behind it, as on loopback")
    } else if octets[0] & 0x02 != 0 {
        // The second-lowest bit of the first byte marks a locally administered address.
        format!("{mac}  locally administered: set by software, not by the maker")
    } else {
        format!("{mac}  universally administered: assigned by the card's maker")
    }
}
// ANCHOR_END: interfaces

// ANCHOR: neighbours
/// How an IP address on the local link finds its MAC address: the neighbour table.
fn show_neighbours() {
    note!(
        "To send to an IP address on its own link, a machine needs that card's MAC. ARP\n\
         (RFC 826) asks the whole link \"who has 192.0.2.1?\"; the owner answers with its\n\
         MAC, and the kernel keeps the answer a while in its neighbour table. For an address\n\
         beyond the link, the frame goes to the router's MAC. IPv6 does the same with NDP\n\
         (Neighbor Discovery, RFC 4861)."
    );
    const FILE: &str = "/proc/net/arp";
    match read_arp_table(FILE) {
        Ok(entries) if entries.is_empty() => {
            kernel!("the ARP table ({FILE}) is empty: this machine has not talked on a link lately")
        }
        Ok(entries) => {
            kernel!("this machine's IPv4 neighbours, the ARP table (from {FILE}):");
            for (ip, mac, device, complete) in entries {
                let state = if complete {
                    ""
                } else {
                    " (incomplete: asked, no answer yet)"
                };
                kernel!("  {ip:<15} is at {mac} on {device}{state}");
            }
        }
        Err(err) => kernel!("cannot read {FILE} (it is Linux's): {err}"),
    }
    note!("`ip neigh` shows the same table; the IPv6 neighbours are not in /proc: `ip -6 neigh`.");
}

/// The entries of Linux's ARP table: IP address, MAC address, device, and whether the
/// MAC is known (flag 0x2, "complete").
fn read_arp_table(file: &str) -> std::io::Result<Vec<(String, String, String, bool)>> {
    let text = fs::read_to_string(file)?;
    // "IP address  HW type  Flags  HW address  Mask  Device", then one line per entry.
    let entries = text.lines().skip(1).filter_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [ip, _hw_type, flags, mac, _mask, device] = fields[..] else {
            return None;
        };
        let flags = u32::from_str_radix(flags.trim_start_matches("0x"), 16).unwrap_or(0);
        Some((ip.into(), mac.into(), device.into(), flags & 0x2 != 0))
    });
    Ok(entries.collect())
}
// ANCHOR_END: neighbours

// ANCHOR: ports
/// Explains ports and shows one the operating system hands out; returns that port.
fn show_ports() -> Option<u16> {
    heading("3. Ports: the door numbers");
    note!(
        "One machine runs many network programs. Each TCP segment carries two ports,\n\
         16-bit door numbers: the destination port tells the OS which program gets it."
    );
    note!(
        "IANA's ranges: well-known 0-1023 (80 HTTP, 443 HTTPS, 22 SSH), registered\n\
         1024-49151, dynamic 49152-65535, for short-lived (ephemeral) use."
    );
    show_ephemeral_range();
    let port = ask_for_a_port();
    note!("A client's connect() gets its source port the same way, from the same range.");
    port
}

/// Shows which ports this machine really hands out: Linux's range need not be IANA's.
fn show_ephemeral_range() {
    const FILE: &str = "/proc/sys/net/ipv4/ip_local_port_range";
    let range = fs::read_to_string(FILE).ok().and_then(|text| {
        let mut numbers = text.split_whitespace().map(|n| n.parse::<u16>());
        match (numbers.next(), numbers.next()) {
            (Some(Ok(low)), Some(Ok(high))) => Some((low, high)),
            _ => None,
        }
    });
    match range {
        Some((low, high)) => {
            kernel!("this machine's ephemeral ports: {low}-{high} (from {FILE})");
            if (low, high) == (49152, 65535) {
                note!("That is IANA's dynamic range.");
            } else {
                note!(
                    "That is not IANA's 49152-65535: each OS picks its own range,\n\
                     and Linux's default is 32768-60999."
                );
            }
        }
        None => kernel!("cannot read {FILE} (it is Linux's): the ephemeral range is not shown"),
    }
}

/// Binds to port 0, which asks the operating system for any free port.
fn ask_for_a_port() -> Option<u16> {
    let wanted = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0);
    match TcpListener::bind(wanted).and_then(|listener| listener.local_addr()) {
        Ok(got) => {
            kernel!("bind({wanted}) -> the OS chose port {}: {got}", got.port());
            Some(got.port())
        }
        Err(err) => {
            kernel!("bind({wanted}) failed: {err}");
            None
        }
    }
}
// ANCHOR_END: ports

// ANCHOR: resolve
/// Resolves `HOST:PORT` into socket addresses, as a client does before it connects.
fn show_socket_address(target: &str) {
    heading("4. A socket address: IP + port");
    note!(
        "To reach a program you need its machine's IP address and its port: together,\n\
         a socket address. The article calls IP + port \"a socket\", and so does TCP's\n\
         standard, RFC 9293; a program's socket (next lesson) is the other meaning."
    );
    if let Ok(addr) = target.parse::<SocketAddr>() {
        // std parses an IP literal itself: the resolver is never asked.
        note!(
            "{target} is already IP:PORT, nothing to resolve: {}",
            classify(addr.ip())
        );
    } else {
        resolve(target);
    }
    note!(
        "A TCP connection is named by both ends, the 4-tuple (source IP, source port,\n\
         destination IP, destination port): one server port serves many clients."
    );
}

/// Asks the system's resolver, which reads /etc/hosts and asks DNS.
fn resolve(target: &str) {
    match target.to_socket_addrs() {
        Ok(addrs) => {
            let addrs: Vec<_> = addrs.collect();
            kernel!(
                "the resolver (getaddrinfo) turned {target} into {} socket address{}:",
                addrs.len(),
                if addrs.len() == 1 { "" } else { "es" }
            );
            for addr in &addrs {
                kernel!("  {addr:<30} {}", classify(addr.ip()));
            }
        }
        Err(err) => {
            kernel!("cannot resolve {target:?}: {err}");
            let has_port = target
                .rsplit_once(':')
                .is_some_and(|(_, port)| port.parse::<u16>().is_ok());
            if has_port {
                note!("The name did not resolve: a typo, no network, or no such name.");
            } else {
                note!("Expected HOST:PORT, such as localhost:1234 or example.com:80.");
            }
        }
    }
}
// ANCHOR_END: resolve

// ANCHOR: parcel_build
/// Wraps `message` in every header it travels in, from `src_port` to the server.
fn show_parcel(message: &[u8], src_port: u16) {
    heading("5. The parcel: one message in its layers");
    let src = SocketAddrV4::new(Ipv4Addr::LOCALHOST, src_port);
    let parcel = match Parcel::new(message, src, SERVER) {
        Ok(parcel) => parcel,
        Err(too_long) => {
            note!("No parcel: {too_long}.");
            return;
        }
    };
    note!("A client at {src} sends it to the server at {SERVER}, over loopback.");
    note!("Each layer is a header followed by the layer inside it:");
    parcel.print();
    // ANCHOR_END: parcel_build
    // ANCHOR: parcel_notes
    if parcel.frame_len() < 60 {
        note!(
            "Real Ethernet pads frames shorter than 60 bytes (64 with the FCS); loopback does not."
        );
    }
    note!(
        "Illustrative values: sequence and acknowledgment numbers (a real connection\n\
         starts from a random ISN; shown relative, as Wireshark does), the window and\n\
         the identification. The rest follows from the message, the addresses and\n\
         Linux's defaults (TTL 64, DF set)."
    );
    note!("Linux usually adds 12 bytes of TCP options (timestamps): a real header is 32 bytes.");
    note!(
        "In its SYN each side announces the most data it takes in one segment, its MSS:\n\
         its own interface's MTU minus 40 (20 bytes of IPv4, 20 of TCP), 1460 on standard\n\
         Ethernet. With the timestamps, a full segment then carries 1448 bytes of data.\n\
         (The path between two machines may carry less than either end's MTU: TCP learns\n\
         that separately, by path MTU discovery.)"
    );
    if message.len() > FULL_ETHERNET_SEGMENT {
        let segments = message.len().div_ceil(FULL_ETHERNET_SEGMENT);
        note!("Over standard Ethernet TCP would cut this message into {segments} segments.");
    }
    note!(
        "On loopback Linux writes this 14-byte link header, with zero MACs\n\
         (`tcpdump -e -i lo`); BSD and macOS write a 4-byte header on lo0 instead. On\n\
         Ethernet the MACs are the two cards', and the card adds a 4-byte frame check\n\
         sequence, not shown. Wi-Fi sends 802.11 frames over the air, with a longer\n\
         header of its own."
    );
    note!(
        "On loopback Linux never finishes the TCP checksum (it leaves that to the network\n\
         card, and the bytes never leave memory), so `tcpdump -v -i lo` calls it\n\
         incorrect. Here it is computed in full."
    );
    // ANCHOR_END: parcel_notes
}

// ANCHOR: packings
/// Maps the article's three packings onto the real layers.
fn show_packings() {
    heading("6. The article's three packings, and the real layers");
    note!(
        "Packing 1, the owner packs the goods and writes the addresses\n\
         (\"application-layer protocol\"): the application data, the innermost box.\n\
         The program picks the address; TCP and IP write it into their headers."
    );
    note!(
        "Packing 2, the logistics company sorts by region (\"post office protocol\"):\n\
         closest to IP, the internet layer: addresses, and routers forwarding hop by hop."
    );
    note!(
        "Packing 3, the transport department picks a vehicle (the article's \"transport\n\
         layer\"): really the link layer, the vehicle for one hop: Ethernet, Wi-Fi."
    );
    note!(
        "TCP, the real transport layer, is the door number on the label (the port) plus\n\
         a delivery service that numbers the boxes, confirms receipt and resends what\n\
         was lost."
    );
}
// ANCHOR_END: packings
