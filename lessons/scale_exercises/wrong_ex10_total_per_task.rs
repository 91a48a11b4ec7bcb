//! # Exercise ex10_total, a wrong solution the checker must reject: each task counts
//! its own names.
//!
//! The server below is lesson 10's, cut down: a tokio runtime, a task per client, the
//! article's `Welcome!` and `Hello, NAME!` until `exit`.
//!
//! **Your task:** count the names the server has greeted, over all its sessions, and
//! answer the message `total` with `names greeted: N`, keeping the message's line
//! ending (`total\n` gets `names greeted: 3\n`). `total` itself is not a name, and
//! neither is `exit`.
//!
//! Lesson 09's sessions all live in one thread, and a plain number would do. tokio's
//! tasks run on several threads at once, and the compiler will not let two threads
//! change one number unguarded: share an `Arc<AtomicUsize>` between the tasks (or an
//! `Arc<Mutex<usize>>`), cloning the `Arc` into each.
//!
//! Try it: `cargo run --features scale --example ex10_total`, and
//! `nc 127.0.0.1 1234` in two more terminals.
//! Check it: `cargo run --example check -- ex10_total`.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tcp_lessons::args::Args;
use tcp_lessons::say::{explain, fail};
use tcp_lessons::server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const USAGE: &str = "usage: ex10_total [ADDRESS]\n";

fn main() {
    let mut args = Args::from_env(USAGE);
    let addr = args.address("127.0.0.1:1234");
    args.finish();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|err| fail(format!("cannot start the tokio runtime: {err}")));
    runtime.block_on(async {
        let listener = TcpListener::bind(addr)
            .await
            .unwrap_or_else(|err| fail(explain(&err, addr)));
        server!("listening on {}", listener.local_addr().unwrap_or(addr));
        // ANCHOR: solution
        // One counter for all tasks; each gets a handle (an `Arc`) to it.
        let greeted = Arc::new(AtomicUsize::new(0));
        loop {
            let Ok((stream, peer)) = listener.accept().await else {
                continue;
            };
            let greeted = Arc::new(AtomicUsize::new(greeted.load(Ordering::Relaxed)));
            tokio::spawn(async move {
                if let Err(err) = session(stream, &greeted).await {
                    server!("{peer}: {err}");
                }
            });
        }
        // ANCHOR_END: solution
    });
}

/// `Welcome!`, then `Hello, NAME!` for every message, until `exit` or the close.
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
