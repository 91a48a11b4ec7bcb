//! Lesson 03's accept loop, for the exercises whose point lies in the session.
//!
//! `serve(USAGE, session)` reads `[ADDRESS]` from the command line (default
//! 127.0.0.1:1234), listens, prints `listening on IP:PORT`, and runs
//! `session(stream, peer)` in a thread of its own for every client, logging how each
//! session ended. Lesson 03 shows every one of these calls; here they stay out of the way.
//! Like lesson 03 it survives what a busy machine throws at it: it rests after a failed
//! accept (out of file descriptors), its log never holds up a session (a closed or full
//! stdout is said once on stderr), and a client beyond what the machine has room for is
//! told `busy, try again later`.

use crate::args::Args;
use crate::ceiling;
use crate::say::{self, OnBrokenStdout, Repeated, Role, explain, fail};
use crate::server;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::Duration;

/// How long the loop rests after a failed accept.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);
/// What a client receives when the server has no room for it.
const BUSY: &str = "busy, try again later";

/// Serves forever: one thread per connection, each running `session`.
pub fn serve<F>(usage: &'static str, session: F)
where
    F: Fn(TcpStream, SocketAddr) -> io::Result<()> + Send + Sync + 'static,
{
    let mut args = Args::from_env(usage);
    let addr = args.address("127.0.0.1:1234");
    args.finish();
    say::on_broken_stdout(OnBrokenStdout::KeepGoing);
    say::log_in_background();
    let listener = TcpListener::bind(addr).unwrap_or_else(|err| fail(explain(&err, addr)));
    server!("listening on {}", listener.local_addr().unwrap_or(addr));
    // An exercise's session may clone its stream (a reader beside a writer): two
    // descriptors each.
    let limit = ceiling::sessions(2).sessions;
    if limit < usize::MAX {
        server!("at most {} sessions at once", ceiling::thousands(limit));
    }
    let session = Arc::new(session);
    let running = Arc::new(AtomicUsize::new(0));
    let mut failed = Repeated::new(Role::Server);
    let mut turned_away = Repeated::new(Role::Server);
    loop {
        let (mut stream, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(err) => {
                // Out of file descriptors, say: rest instead of failing again at once.
                failed.say(format!("accept failed: {err}; trying again"));
                thread::sleep(ACCEPT_PAUSE);
                continue;
            }
        };
        failed.end();
        if running.load(SeqCst) >= limit {
            turned_away.say(format!(
                "no room: {limit} sessions running; a client told busy"
            ));
            let _ = stream.write_all(BUSY.as_bytes());
            continue;
        }
        turned_away.end();
        running.fetch_add(1, SeqCst);
        let place = Place(Arc::clone(&running));
        let session = Arc::clone(&session);
        let spawned = thread::Builder::new().spawn(move || {
            let _place = place; // given back when the session ends, even by a panic
            match session(stream, peer) {
                Ok(()) => server!("{peer} closed"),
                Err(err) => server!("{peer} closed after an error: {err}"),
            }
        });
        if let Err(err) = spawned {
            server!("cannot start a thread for {peer}: {err}; connection dropped");
        }
    }
}

/// One running session, counted in `running` until dropped.
struct Place(Arc<AtomicUsize>);

impl Drop for Place {
    fn drop(&mut self) {
        self.0.fetch_sub(1, SeqCst);
    }
}
