//! Lesson 03's accept loop, for the exercises whose point lies in the session.
//!
//! `serve(USAGE, session)` reads `[ADDRESS]` from the command line (default
//! 127.0.0.1:1234), listens, prints `listening on IP:PORT`, and runs
//! `session(stream, peer)` in a thread of its own for every client, logging how each
//! session ended. Lesson 03 shows every one of these calls; here they stay out of the way.

use crate::args::Args;
use crate::say::{explain, fail};
use crate::server;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;

/// Serves forever: one thread per connection, each running `session`.
pub fn serve<F>(usage: &'static str, session: F)
where
    F: Fn(TcpStream, SocketAddr) -> io::Result<()> + Send + Sync + 'static,
{
    let mut args = Args::from_env(usage);
    let addr = args.address("127.0.0.1:1234");
    args.finish();
    let listener = TcpListener::bind(addr).unwrap_or_else(|err| fail(explain(&err, addr)));
    server!("listening on {}", listener.local_addr().unwrap_or(addr));
    let session = Arc::new(session);
    loop {
        match listener.accept() {
            Ok((stream, peer)) => {
                let session = Arc::clone(&session);
                thread::spawn(move || match session(stream, peer) {
                    Ok(()) => server!("{peer} closed"),
                    Err(err) => server!("{peer} closed after an error: {err}"),
                });
            }
            Err(err) => server!("accept failed: {err}"),
        }
    }
}
