//! # Exercise ex10_total: a count that every task shares
//!
//! The server below is lesson 10's, cut down: a tokio runtime, a task per client, the
//! article's `Welcome!` and `Hello, NAME!` until `exit`.
//!
//! **Your task:** count the names the server has greeted, over all its sessions, and
//! answer the message `total` with `names greeted: N`, ending the reply the way the
//! message ended (`total\n` gets `names greeted: 3\n`). `total` itself is not a name,
//! and neither is `exit`.
//!
//! Lesson 09's sessions all live in one thread, and a plain number would do. tokio's
//! tasks run on several threads at once, and the compiler will not let two threads
//! change one number unguarded: share one counter between the tasks, an
//! `Arc<AtomicUsize>` (or an `Arc<Mutex<usize>>`), with a clone of the `Arc` in each.
//!
//! Difficulty: ★★★. Rust: state shared by threads (the Rust Book, chapter 16.3,
//! "Shared-State Concurrency"; `std::sync::atomic` for the atomic), an `async move`
//! block that takes its own clone.
//!
//! Try it: `cargo run -p exercises --features scale --bin ex10_total`, and
//! `nc 127.0.0.1 1234` in two more terminals. (`--features scale` brings in `tokio`, as
//! for lesson 10.)
//! Check it: `cargo exercise ex10_total`.

use std::io;
use tcp_lessons::args::Args;
use tcp_lessons::say::{explain, fail};
use tcp_lessons::server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const USAGE: &str = "usage: ex10_total [ADDRESS]";

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
    // TODO: make the count here, once, and give each task a handle to it...
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Out of file descriptors, most likely: rest, as lesson 10 does, not spin.
            Err(_) => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        tokio::spawn(async move {
            if let Err(err) = session(stream).await {
                server!("{peer}: {err}");
            }
        });
    }
}

/// `Welcome!`, then `Hello, NAME!` for every message, until `exit` or the close.
async fn session(mut stream: TcpStream) -> io::Result<()> {
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
        // TODO: ...count each name greeted, and answer `total`.
        let reply = format!("Hello, {text}!{ending}");
        stream.write_all(reply.as_bytes()).await?;
    }
}
// ANCHOR_END: task
