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
    rlimit::raise_nofile()
}

#[cfg(any(
    all(
        target_os = "linux",
        any(
            target_arch = "x86_64",
            target_arch = "aarch64",
            target_arch = "riscv64"
        )
    ),
    target_os = "macos"
))]
mod rlimit {
    use std::io;

    /// `struct rlimit`: on these systems `rlim_t` is a 64-bit unsigned integer.
    #[repr(C)]
    struct Rlimit {
        /// The soft limit, the one the kernel enforces.
        cur: u64,
        /// The hard limit, the ceiling for the soft one.
        max: u64,
    }

    /// `RLIMIT_NOFILE`: 7 in Linux's generic numbering, 8 on macOS.
    #[cfg(target_os = "linux")]
    const RLIMIT_NOFILE: i32 = 7;
    #[cfg(target_os = "macos")]
    const RLIMIT_NOFILE: i32 = 8;

    unsafe extern "C" {
        fn getrlimit(resource: i32, limit: *mut Rlimit) -> i32;
        fn setrlimit(resource: i32, limit: *const Rlimit) -> i32;
    }

    pub fn raise_nofile() -> io::Result<(u64, u64)> {
        let mut limit = Rlimit { cur: 0, max: 0 };
        // SAFETY: `limit` is a valid, writable `struct rlimit` for the call.
        if unsafe { getrlimit(RLIMIT_NOFILE, &mut limit) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let before = limit.cur;
        let most = most_allowed(limit.max);
        if before >= most {
            return Ok((before, before));
        }
        limit.cur = most;
        // SAFETY: `limit` is a valid `struct rlimit`, read only by the call.
        if unsafe { setrlimit(RLIMIT_NOFILE, &limit) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok((before, most))
    }

    /// Linux accepts any soft limit up to the hard one.
    #[cfg(target_os = "linux")]
    fn most_allowed(hard: u64) -> u64 {
        hard
    }

    /// macOS refuses a soft limit above `OPEN_MAX` (10240, `<sys/syslimits.h>`), and its
    /// hard limit is usually "unlimited": its setrlimit(2) manual page says to use
    /// `min(OPEN_MAX, rlim_max)`.
    #[cfg(target_os = "macos")]
    fn most_allowed(hard: u64) -> u64 {
        hard.min(10240)
    }
}

#[cfg(not(any(
    all(
        target_os = "linux",
        any(
            target_arch = "x86_64",
            target_arch = "aarch64",
            target_arch = "riscv64"
        )
    ),
    target_os = "macos"
)))]
mod rlimit {
    pub fn raise_nofile() -> std::io::Result<(u64, u64)> {
        Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "raising the open-file limit is not written for this system",
        ))
    }
}
