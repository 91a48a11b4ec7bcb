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
