//! Facts read from the operating system, where Linux publishes them under /proc.

/// `net.core.somaxconn`: the kernel's ceiling on any listen() backlog. `None` where
/// /proc/sys is not there (not Linux) or cannot be read.
pub fn somaxconn() -> Option<i32> {
    let text = std::fs::read_to_string("/proc/sys/net/core/somaxconn").ok()?;
    text.trim().parse().ok()
}
