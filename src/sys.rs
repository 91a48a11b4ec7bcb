//! Facts read from the operating system, where Linux publishes them under /proc.

/// `net.core.somaxconn`: the kernel's ceiling on any listen() backlog. `None` where
/// /proc/sys is not there (not Linux) or cannot be read.
pub fn somaxconn() -> Option<i32> {
    let text = std::fs::read_to_string("/proc/sys/net/core/somaxconn").ok()?;
    text.trim().parse().ok()
}

/// This process's limits on open files (`ulimit -n`): `(soft, hard)`, with "unlimited"
/// as `u64::MAX`. `None` where there is no such limit (Windows) or it cannot be read.
///
/// Every socket is a file descriptor. The kernel enforces the soft limit; a process may
/// move it anywhere up to the hard limit, which only a privileged process may raise.
pub fn fd_limit() -> Option<(u64, u64)> {
    #[cfg(unix)]
    return rlimit::get(libc::RLIMIT_NOFILE as _).ok();
    #[cfg(not(unix))]
    None
}

/// Raises this process's soft limit on open files to the most it may have, and returns
/// the soft limit before and after. Programs started afterwards inherit the new limit.
///
/// macOS starts programs with a soft limit of 256 (and the hard limit unlimited), many
/// Linux systems with 1024: too few for a thousand connections. Servers such as nginx
/// (`worker_rlimit_nofile`) raise it the same way. On Windows, which has no such
/// per-process limit, it returns an error of kind [`std::io::ErrorKind::Unsupported`].
pub fn raise_fd_limit() -> std::io::Result<(u64, u64)> {
    #[cfg(unix)]
    return rlimit::raise(libc::RLIMIT_NOFILE as _);
    #[cfg(not(unix))]
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "this system has no per-process limit on open files to raise",
    ))
}

/// `getrlimit` and `setrlimit` through the `libc` crate (which socket2 already builds on):
/// the one place the lessons call the C library for a limit.
#[cfg(unix)]
mod rlimit {
    use std::io;

    /// The resource numbers differ between systems: `libc` knows each one's.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub type Resource = libc::__rlimit_resource_t;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    pub type Resource = libc::c_int;

    #[allow(clippy::unnecessary_cast)] // rlim_t is u64 here, u32 on some 32-bit systems
    fn to_u64(value: libc::rlim_t) -> u64 {
        if value == libc::RLIM_INFINITY {
            u64::MAX
        } else {
            value as u64
        }
    }

    /// `(soft, hard)` for `resource`.
    pub fn get(resource: Resource) -> io::Result<(u64, u64)> {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit only writes the struct it is given, which lives on our stack.
        if unsafe { libc::getrlimit(resource, &mut limit) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok((to_u64(limit.rlim_cur), to_u64(limit.rlim_max)))
    }

    /// Raises the soft limit of `resource` to the hard one; `(before, after)`.
    pub fn raise(resource: Resource) -> io::Result<(u64, u64)> {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: as in `get`.
        if unsafe { libc::getrlimit(resource, &mut limit) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let before = limit.rlim_cur;
        // macOS refuses a soft limit above OPEN_MAX (10240, <sys/syslimits.h>) even when
        // the hard limit is "unlimited": its setrlimit(2) manual page says to use
        // min(OPEN_MAX, rlim_max).
        let most = if cfg!(target_os = "macos") {
            limit.rlim_max.min(10240)
        } else {
            limit.rlim_max
        };
        if before >= most {
            return Ok((to_u64(before), to_u64(before)));
        }
        limit.rlim_cur = most;
        // SAFETY: setrlimit only reads the struct it is given.
        if unsafe { libc::setrlimit(resource, &limit) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok((to_u64(before), to_u64(most)))
    }
}

// Below: the kernel settings, counters and socket states lessons 01 and 02 read. Each
// function returns `None` where the file is not there (not Linux) or cannot be read, so
// a lesson can say "not shown here" instead of failing.

/// A numeric kernel setting by its `sysctl` name, such as `net.ipv4.tcp_syn_retries`,
/// read from `/proc/sys/net/ipv4/tcp_syn_retries`. `None` where this kernel does not
/// have it (`tcp_syn_linear_timeouts` is new in Linux 6.5) or /proc is not there.
pub fn sysctl(name: &str) -> Option<i64> {
    let path = format!("/proc/sys/{}", name.replace('.', "/"));
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// A TCP counter of the whole machine, such as `ListenOverflows`, from the `TcpExt:`
/// lines of `/proc/net/netstat` (what `nstat` shows as `TcpExtListenOverflows`).
pub fn tcp_ext_counter(name: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/net/netstat").ok()?;
    // Two lines per group: the names, then the values, both starting with "TcpExt:".
    let mut lines = text.lines().filter(|line| line.starts_with("TcpExt:"));
    let names = lines.next()?.split_whitespace();
    let values = lines.next()?.split_whitespace();
    names
        .zip(values)
        .find(|(n, _)| *n == name)
        .and_then(|(_, v)| v.parse().ok())
}

/// The states of a TCP socket that the lessons look for, as `/proc/net/tcp` numbers them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpState {
    /// `ESTAB` in `ss`: the handshake is done.
    Established = 0x01,
    /// `SYN-RECV`: a half-open connection on a server, SYN-ACK sent, no ACK taken yet.
    SynRecv = 0x03,
    /// `TIME-WAIT`: closed, remembered for a while by the side that closed first.
    TimeWait = 0x06,
}

/// How many TCP sockets of this machine are in `state` with local port `port`, from
/// `/proc/net/tcp` and `/proc/net/tcp6`, as `ss -tan` lists them. `None` where neither
/// file can be read (not Linux).
pub fn sockets_on_port(port: u16, state: TcpState) -> Option<usize> {
    let mut found = None;
    for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        // "  sl  local_address rem_address   st ...", then one line per socket:
        // "   0: 0100007F:04D2 0100007F:C350 06 ...": address:port in hex, then state.
        let count = text
            .lines()
            .skip(1)
            .filter(|line| {
                let mut fields = line.split_whitespace().skip(1);
                let local_port = fields
                    .next()
                    .and_then(|local| local.rsplit(':').next())
                    .and_then(|hex| u16::from_str_radix(hex, 16).ok());
                let st = fields
                    .nth(1)
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok());
                local_port == Some(port) && st == Some(state as u8)
            })
            .count();
        *found.get_or_insert(0) += count;
    }
    found
}

/// The longest wait between two sends of a SYN: Linux's `TCP_RTO_MAX`, 120 s.
const RTO_MAX_S: u64 = 120;

/// When Linux sends a SYN that gets no answer, in seconds after `connect()`, and when
/// `connect()` then gives up, for the settings `net.ipv4.tcp_syn_retries` (`retries`)
/// and `net.ipv4.tcp_syn_linear_timeouts` (`linear`; 0 on kernels before 6.5, which
/// do not have it).
///
/// The first wait is the initial retransmission timeout, 1 s. Since Linux 6.5 the
/// first `linear` resends keep that 1 s wait, and the kernel allows `linear` extra
/// resends; after them, each wait is twice the last (at most 120 s). Linux's own
/// documentation gives the defaults (6 retries, 4 linear) as a last resend at 67 s and
/// a failed `connect()` at 131 s; before 6.5 (6 retries) 63 s and 127 s.
///
/// ```
/// let (sends, give_up) = tcp_lessons::sys::syn_schedule(6, 4);
/// assert_eq!(sends, [0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67]);
/// assert_eq!(give_up, 131);
/// ```
pub fn syn_schedule(retries: u32, linear: u32) -> (Vec<u64>, u64) {
    let mut sends = vec![0];
    let mut at = 0;
    let mut wait = 1;
    let resends = retries.saturating_add(linear);
    for resend in 1..=resends {
        at += wait;
        sends.push(at);
        if resend > linear {
            wait = (wait * 2).min(RTO_MAX_S);
        }
    }
    (sends, at + wait)
}

// ANCHOR: bind_no_port
/// Asks that binding `socket` to an address with port 0 leave the port unchosen until
/// `connect`, when the kernel knows the destination too (`IP_BIND_ADDRESS_NO_PORT`,
/// Linux 4.2 and later). A plain `bind` to port 0 must pick a port no other socket of
/// that address uses, for any destination; chosen at `connect`, the port need only
/// make the four numbers (source address and port, destination address and port)
/// unique, and a port left in TIME_WAIT by a connection to elsewhere can serve again.
///
/// On Linux it calls the C library's `setsockopt` through `libc` (socket2 has no call
/// for this option). Elsewhere it returns an error of kind
/// [`std::io::ErrorKind::Unsupported`] and the socket is left as it was.
pub fn bind_address_no_port(socket: &socket2::Socket) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let on: libc::c_int = 1;
        let len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: the socket is open for the call, and `on` is an int the call only reads.
        let set = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::IPPROTO_IP,
                libc::IP_BIND_ADDRESS_NO_PORT,
                (&on as *const libc::c_int).cast(),
                len,
            )
        };
        if set != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = socket;
        Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "IP_BIND_ADDRESS_NO_PORT is Linux's",
        ))
    }
}
// ANCHOR_END: bind_no_port

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_measured_here() {
        // tcpdump on lo, Linux 6.18, a SYN dropped by a full accept queue: SYNs at 0,
        // 1.01, 2.03, 3.06, 4.08, 5.11, 7.12, 11.19, 19.38, 35.51, 69.04 s; connect()
        // failed after 134.58 s (the timers fire a little late on a busy machine).
        let (sends, give_up) = syn_schedule(6, 4);
        assert_eq!(sends, [0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67]);
        assert_eq!(give_up, 131);
    }

    #[test]
    fn the_schedule_before_linux_6_5() {
        let (sends, give_up) = syn_schedule(6, 0);
        assert_eq!(sends, [0, 1, 3, 7, 15, 31, 63]);
        assert_eq!(give_up, 127);
    }

    #[test]
    fn waits_stop_growing_at_two_minutes() {
        // Waits 1, 2, 4, ... 64, then 120 s (not 128) from then on.
        let (sends, give_up) = syn_schedule(10, 0);
        assert_eq!(sends, [0, 1, 3, 7, 15, 31, 63, 127, 247, 367, 487]);
        assert_eq!(give_up, 607);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn linux_publishes_what_the_lessons_read() {
        assert!(sysctl("net.ipv4.tcp_syn_retries").is_some());
        assert!(somaxconn().is_some());
        assert!(tcp_ext_counter("ListenOverflows").is_some());
        assert_eq!(tcp_ext_counter("NoSuchCounter"), None);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert_eq!(sockets_on_port(port, TcpState::Established), Some(0));
        let _client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        // The server's end, waiting in the accept queue, is established once the
        // client's ACK has been processed (at once on an idle machine; allow a second).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
        while sockets_on_port(port, TcpState::Established) != Some(1)
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(sockets_on_port(port, TcpState::Established), Some(1));
    }

    #[test]
    fn no_retries_means_one_syn() {
        assert_eq!(syn_schedule(0, 0), (vec![0], 1));
    }
}
