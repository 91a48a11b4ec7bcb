//! # Solution to ex10_total: a count that every task shares
//!
//! One `AtomicUsize` for the whole server, made once before the accept loop; each task
//! gets a clone of the `Arc` around it, so every task adds to the same number.
//! Run it: `cargo run -p exercises --features scale --bin ex10_total_solution`.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tcp_lessons::args::Args;
use tcp_lessons::say::{explain, fail};
use tcp_lessons::server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const USAGE: &str = "usage: ex10_total_solution [ADDRESS]";

fn main() {
    let mut args = Args::from_env(USAGE);
    let addr = args.address("127.0.0.1:1234");
    args.finish();
    // The runtime, as lesson 10 builds it: a thread per core, each an event loop.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|err| fail(format!("cannot start the tokio runtime: {err}")));
    runtime.block_on(accept_loop(addr));
}

// ANCHOR: task
/// Listens, and spawns a task for every client.
async fn accept_loop(addr: std::net::SocketAddr) {
    let listener = TcpListener::bind(addr)
        .await
        .unwrap_or_else(|err| fail(explain(&err, addr)));
    server!("listening on {}", listener.local_addr().unwrap_or(addr));
    // One count for the whole server; each task gets a handle (an `Arc`) to it.
    let greeted = Arc::new(AtomicUsize::new(0));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Out of file descriptors, most likely: rest, as lesson 10 does, not spin.
            Err(_) => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let greeted = Arc::clone(&greeted);
        tokio::spawn(async move {
            if let Err(err) = session(stream, &greeted).await {
                server!("{peer}: {err}");
            }
        });
    }
}

/// `Welcome!`, then `Hello, NAME!` for every message (each counted in `greeted`), and
/// `names greeted: N` for `total`, until `exit` or the close.
async fn session(mut stream: TcpStream, greeted: &AtomicUsize) -> io::Result<()> {
    stream.write_all(b"Welcome!").await?;
    let mut buffer = [0; 1024];
    loop {
        let n = stream.read(&mut buffer).await?;
        if n == 0 {
            return Ok(());
        }
        let message = String::from_utf8_lossy(&buffer[..n]);
        let text = message.trim_end_matches(['\r', '\n']);
        let ending = &message[text.len()..];
        if text == "exit" {
            return Ok(());
        }
        let reply = if text == "total" {
            // Relaxed: the count needs no order with other memory, only no lost update.
            let total = greeted.load(Ordering::Relaxed);
            format!("names greeted: {total}{ending}")
        } else {
            greeted.fetch_add(1, Ordering::Relaxed);
            format!("Hello, {text}!{ending}")
        };
        stream.write_all(reply.as_bytes()).await?;
    }
}
// ANCHOR_END: task
