//! Another lesson's program, started by a lesson: lesson 12's `--live` starts
//! 03_server and 04_client and captures their conversation. The programs are the ones
//! `cargo build --examples` built beside the running lesson (`target/debug/examples/`,
//! with `.exe` on Windows). Starting them is not what the lesson teaches, so it is here.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

/// A lesson program this one started: killed, and waited for, when dropped, so that no
/// early return or error leaves it running.
pub struct Sibling(Child);

impl Sibling {
    /// Starts the lesson program `name` with `args`, its standard output dropped.
    pub fn start(name: &str, args: &[&str]) -> Result<Sibling, String> {
        let mut command = beside_me(name);
        command.args(args).stdout(Stdio::null());
        spawn(name, command)
    }

    /// Starts the server `name` with `args` (an address such as `127.0.0.1:0` among
    /// them) and returns it with the address of its `listening on ADDRESS` line. The
    /// rest of what it prints is read and dropped, so that it never waits on a full
    /// pipe.
    pub fn server(name: &str, args: &[&str]) -> Result<(Sibling, SocketAddr), String> {
        let mut command = beside_me(name);
        command
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut server = spawn(name, command)?;
        let stdout = server.0.stdout.take();
        let mut lines = stdout.map(|out| BufReader::new(out).lines());
        let addr = lines.as_mut().and_then(|lines| {
            lines.map_while(Result::ok).take(40).find_map(|line| {
                let after = line.split("listening on ").nth(1)?;
                let word = after.split_whitespace().next()?;
                word.trim_end_matches([',', '.', ')']).parse().ok()
            })
        });
        let Some(addr) = addr else {
            return Err(format!("{name} did not say where it listens"));
        };
        if let Some(lines) = lines {
            std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
        }
        Ok((server, addr))
    }
}

impl Drop for Sibling {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The lesson program `name`, built beside this one.
fn beside_me(name: &str) -> Command {
    let file = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    let path = std::env::current_exe()
        .map(|me| me.with_file_name(file))
        .unwrap_or_default();
    Command::new(path)
}

fn spawn(name: &str, mut command: Command) -> Result<Sibling, String> {
    command.spawn().map(Sibling).map_err(|err| {
        format!(
            "cannot start {name} ({err}): it is built beside this lesson by \
             `cargo build --examples`"
        )
    })
}
