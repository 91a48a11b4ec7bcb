//! How many sessions a thread-per-connection server can hold on this machine.
//!
//! Each session costs one thread and one socket, and the system limits both. Most limits
//! are met politely: `accept` fails with "Too many open files", or
//! `thread::Builder::spawn` returns an error. One is not: on Linux every thread takes a
//! few memory *mappings* (its stack and its guard page, the stack Rust gives it for
//! signal handlers and that one's guard page), and a process may hold at most
//! `vm.max_map_count` mappings (65530 by default). Near that limit a new thread can be
//! created and then fail to set up its signal stack; Rust cannot recover there and the
//! whole process aborts, every session with it. So a server reads the limits when it
//! starts ([`sessions`]), takes at most that many sessions, and tells a client beyond
//! them that it is busy.
//!
//! Linux only: elsewhere no limit is read (`Ceiling::sessions` is `usize::MAX`), and a
//! thread that cannot be started drops its client.

/// Memory mappings one session thread costs, measured on Linux 6.18 with glibc by
/// counting the lines of `/proc/self/maps` around 1,000 new threads: 4.0 each (the
/// thread's stack and its guard page, the signal stack and its guard page). The test
/// `tests/03_server.rs` measures it again against a running `03_server`.
pub const MAPS_PER_THREAD: usize = 4;

/// The share of `vm.max_map_count` left unused (here 1 in 20: 3,276 of 65,530): for
/// malloc's arenas (two mappings each, up to eight per core), the stacks glibc keeps for
/// reuse, the program's own growth, and a thread that costs more than we measured.
const MAPS_RESERVE: usize = 20;

/// What the limits of this machine allow, read once.
#[derive(Clone, Debug)]
pub struct Ceiling {
    /// The most sessions to hold at once: the lowest of the limits below.
    pub sessions: usize,
    /// One line per limit read: its name, its value, and how many sessions it leaves.
    pub limits: Vec<String>,
    /// Which of `limits` gives `sessions`: the one that binds.
    lowest: Option<usize>,
}

/// Reads this machine's limits (call it once the listening socket is open, so that the
/// descriptors in use are counted), for sessions that each need one thread and
/// `descriptors` file descriptors (1 for a socket; 2 if a session clones its stream,
/// as a `BufReader` beside a writer does).
pub fn sessions(descriptors: usize) -> Ceiling {
    let mut ceiling = Ceiling {
        sessions: usize::MAX,
        limits: Vec::new(),
        lowest: None,
    };
    read_limits(&mut ceiling, descriptors.max(1));
    if ceiling.limits.is_empty() {
        ceiling.limits.push(
            "no limit read on this system: a thread that cannot start drops its client".into(),
        );
    }
    ceiling
}

impl Ceiling {
    /// Notes one limit: `name value` leaves room for `room` sessions.
    fn limit(&mut self, room: usize, text: String) {
        if room < self.sessions {
            self.sessions = room;
            self.lowest = Some(self.limits.len());
        }
        self.limits.push(text);
    }

    /// The line of the limit that binds (the one that gives [`Ceiling::sessions`]), to
    /// say why a server cannot take more; `None` where no limit was read.
    pub fn binding(&self) -> Option<&str> {
        self.lowest.map(|i| self.limits[i].as_str())
    }
}

#[cfg(not(target_os = "linux"))]
fn read_limits(_: &mut Ceiling, _: usize) {}

#[cfg(target_os = "linux")]
fn read_limits(ceiling: &mut Ceiling, descriptors: usize) {
    use linux::*;

    // Mappings: the limit whose breach aborts the process.
    if let (Some(max), Some(now)) = (number("/proc/sys/vm/max_map_count"), count_maps()) {
        let room = max.saturating_sub(now + max / MAPS_RESERVE) / MAPS_PER_THREAD;
        ceiling.limit(
            room,
            format!(
                "vm.max_map_count {max}: room for {} threads ({MAPS_PER_THREAD} mappings each)",
                thousands(room)
            ),
        );
    }

    // Descriptors: `descriptors` per session, and one kept free to accept a client we
    // turn away (RLIMIT_NOFILE counts this process's descriptors).
    if let (Some(soft), Some(open)) = (rlimit("Max open files"), count_fds()) {
        let room = soft.saturating_sub(open + 1) / descriptors;
        let each = if descriptors == 1 {
            "a socket each".to_string()
        } else {
            format!("{descriptors} descriptors each")
        };
        ceiling.limit(
            room,
            format!(
                "RLIMIT_NOFILE {soft}, {open} in use: room for {} sessions ({each})",
                thousands(room)
            ),
        );
    }

    // Threads of the whole machine: every thread takes a number (a PID) below
    // kernel.pid_max, and at most kernel.threads-max exist. Leave a tenth of what is free
    // to the other programs.
    if let (Some(pids), Some(max), Some(running)) = (
        number("/proc/sys/kernel/pid_max"),
        number("/proc/sys/kernel/threads-max"),
        threads_running(),
    ) {
        let free = pids.min(max).saturating_sub(running);
        let room = free - free / 10;
        ceiling.limit(
            room,
            format!(
                "kernel.pid_max {pids}, kernel.threads-max {max}, {running} threads running: \
                 room for {} more threads",
                thousands(room)
            ),
        );
    }

    // Threads of this user: RLIMIT_NPROC counts every thread of every process of the
    // user, and Linux does not enforce it for root.
    if let Some(soft) = rlimit("Max processes") {
        match real_uid() {
            Some(0) => ceiling.limits.push(format!(
                "RLIMIT_NPROC {soft}: not enforced for root, who runs this program"
            )),
            Some(uid) => {
                let mine = threads_of_user(uid);
                let room = soft.saturating_sub(mine);
                ceiling.limit(
                    room,
                    format!(
                        "RLIMIT_NPROC {soft}, {mine} threads of this user running: room for {} more",
                        thousands(room)
                    ),
                );
            }
            None => {}
        }
    }
}

/// `12345` as `12,345`, easier to read in a log line.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// Reading `/proc`: each function gives `None` when a file is missing or unreadable.
#[cfg(target_os = "linux")]
mod linux {
    use std::fs;

    /// A file holding one number, such as `/proc/sys/vm/max_map_count`.
    pub fn number(path: &str) -> Option<usize> {
        fs::read_to_string(path).ok()?.trim().parse().ok()
    }

    /// The mappings this process holds now.
    pub fn count_maps() -> Option<usize> {
        Some(fs::read_to_string("/proc/self/maps").ok()?.lines().count())
    }

    /// The descriptors this process holds now (not counting the one reading the list).
    pub fn count_fds() -> Option<usize> {
        Some(
            fs::read_dir("/proc/self/fd")
                .ok()?
                .count()
                .saturating_sub(1),
        )
    }

    /// The soft limit on a line of `/proc/self/limits`, such as `Max open files`;
    /// `None` also when it is `unlimited`.
    pub fn rlimit(name: &str) -> Option<usize> {
        let limits = fs::read_to_string("/proc/self/limits").ok()?;
        let line = limits.lines().find(|line| line.starts_with(name))?;
        line[name.len()..].split_whitespace().next()?.parse().ok()
    }

    /// Threads on the whole machine, from the fourth field of `/proc/loadavg`
    /// (`running/total`).
    pub fn threads_running() -> Option<usize> {
        let loadavg = fs::read_to_string("/proc/loadavg").ok()?;
        let field = loadavg.split_whitespace().nth(3)?;
        field.split('/').nth(1)?.parse().ok()
    }

    /// The real user id of this process (what RLIMIT_NPROC is counted against).
    pub fn real_uid() -> Option<u32> {
        status_field(&fs::read_to_string("/proc/self/status").ok()?, "Uid:")
    }

    /// Threads of every process whose real user id is `uid`.
    pub fn threads_of_user(uid: u32) -> usize {
        let Ok(processes) = fs::read_dir("/proc") else {
            return 0;
        };
        processes
            .flatten()
            .filter_map(|entry| fs::read_to_string(entry.path().join("status")).ok())
            .filter(|status| status_field(status, "Uid:") == Some(uid))
            .filter_map(|status| status_field::<usize>(&status, "Threads:"))
            .sum()
    }

    /// The first number after `name` on its line of a `/proc/PID/status` file.
    fn status_field<T: std::str::FromStr>(status: &str, name: &str) -> Option<T> {
        let line = status.lines().find(|line| line.starts_with(name))?;
        line[name.len()..].split_whitespace().next()?.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(16116), "16,116");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn linux_has_a_ceiling_below_its_map_limit() {
        let ceiling = sessions(1);
        let maps = linux::number("/proc/sys/vm/max_map_count").unwrap();
        assert!(ceiling.sessions < maps / MAPS_PER_THREAD, "{ceiling:?}");
        assert!(
            ceiling
                .limits
                .iter()
                .any(|l| l.contains("vm.max_map_count"))
        );
        let binding = ceiling.binding().expect("a limit that binds");
        assert!(
            binding.contains(&format!("room for {}", thousands(ceiling.sessions))),
            "{binding} does not give the ceiling {}",
            ceiling.sessions
        );
    }
}
