//! Facts read from the operating system, where Linux publishes them under /proc.

/// `net.core.somaxconn`: the kernel's ceiling on any listen() backlog. `None` where
/// /proc/sys is not there (not Linux) or cannot be read.
pub fn somaxconn() -> Option<i32> {
    let text = std::fs::read_to_string("/proc/sys/net/core/somaxconn").ok()?;
    text.trim().parse().ok()
}

/// Raises this process's soft limit on open files (`ulimit -n`) to the most it may
/// have, and returns the soft limit before and after. Programs started afterwards
/// inherit the new limit.
///
/// Every socket is a file descriptor. A process has a soft limit, which it may move
/// anywhere up to its hard limit, and the hard limit, which only a privileged process
/// may raise. macOS starts programs with a soft limit of 256 (and the hard limit
/// unlimited), many Linux systems with 1024: too few for a thousand connections.
///
/// On Linux (x86-64, ARM64, RISC-V 64) and macOS it calls the C library's `getrlimit`
/// and `setrlimit` itself, declared below from `<sys/resource.h>`, rather than adding a
/// dependency for two functions. Elsewhere it returns an error of kind
/// [`std::io::ErrorKind::Unsupported`]; Windows has no such per-process limit to raise.
pub fn raise_fd_limit() -> std::io::Result<(u64, u64)> {
    #[cfg(unix)]
    if let Some(resource) = rlimit::NOFILE {
        return rlimit::raise(resource);
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "raising the open-file limit is not written for this system",
    ))
}

#[cfg(unix)]
mod rlimit {
    use std::io;

    /// `RLIMIT_NOFILE`, where this module knows it and where `rlim_t` is a 64-bit
    /// unsigned integer: 7 in Linux's generic numbering (other architectures, such as
    /// MIPS and SPARC, number it differently), 8 on macOS.
    pub const NOFILE: Option<i32> = if cfg!(all(
        target_os = "linux",
        any(
            target_arch = "x86_64",
            target_arch = "aarch64",
            target_arch = "riscv64"
        )
    )) {
        Some(7)
    } else if cfg!(target_os = "macos") {
        Some(8)
    } else {
        None
    };

    /// The highest soft limit the system accepts under hard limit `hard`. Linux
    /// accepts any up to the hard one. macOS refuses one above `OPEN_MAX` (10240,
    /// `<sys/syslimits.h>`), and its hard limit is usually "unlimited": its setrlimit(2)
    /// manual page says to use `min(OPEN_MAX, rlim_max)`.
    fn most_allowed(hard: u64) -> u64 {
        if cfg!(target_os = "macos") {
            hard.min(10240)
        } else {
            hard
        }
    }

    /// `struct rlimit` on the systems [`NOFILE`] names.
    #[repr(C)]
    struct Rlimit {
        /// The soft limit, the one the kernel enforces.
        cur: u64,
        /// The hard limit, the ceiling for the soft one.
        max: u64,
    }

    unsafe extern "C" {
        fn getrlimit(resource: i32, limit: *mut Rlimit) -> i32;
        fn setrlimit(resource: i32, limit: *const Rlimit) -> i32;
    }

    pub fn raise(resource: i32) -> io::Result<(u64, u64)> {
        let mut limit = Rlimit { cur: 0, max: 0 };
        // SAFETY: `limit` is a valid, writable `struct rlimit` for the call.
        if unsafe { getrlimit(resource, &mut limit) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let before = limit.cur;
        let most = most_allowed(limit.max);
        if before >= most {
            return Ok((before, before));
        }
        limit.cur = most;
        // SAFETY: `limit` is a valid `struct rlimit`, read only by the call.
        if unsafe { setrlimit(resource, &limit) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok((before, most))
    }
}

// ANCHOR: bind_no_port
/// Asks that binding `socket` to an address with port 0 leave the port unchosen until
/// `connect`, when the kernel knows the destination too (`IP_BIND_ADDRESS_NO_PORT`,
/// Linux 4.2 and later). A plain `bind` to port 0 must pick a port no other socket of
/// that address uses, for any destination; chosen at `connect`, the port need only
/// make the four numbers (source address and port, destination address and port)
/// unique, and a port left in TIME_WAIT by a connection to elsewhere can serve again.
///
/// On Linux it calls the C library's `setsockopt` itself, declared below, as
/// [`raise_fd_limit`] does. Elsewhere it returns an error of kind
/// [`std::io::ErrorKind::Unsupported`] and the socket is left as it was.
pub fn bind_address_no_port(socket: &socket2::Socket) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        /// `IPPROTO_IP` and `IP_BIND_ADDRESS_NO_PORT` from Linux's `<linux/in.h>`.
        const IPPROTO_IP: i32 = 0;
        const IP_BIND_ADDRESS_NO_PORT: i32 = 24;
        unsafe extern "C" {
            fn setsockopt(fd: i32, level: i32, name: i32, value: *const i32, len: u32) -> i32;
        }
        let on: i32 = 1;
        let len = std::mem::size_of::<i32>() as u32;
        let fd = socket.as_raw_fd();
        // SAFETY: `fd` is an open socket for the call, `on` an int the call only reads.
        if unsafe { setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, len) } != 0 {
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
