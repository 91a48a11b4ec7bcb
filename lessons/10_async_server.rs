//! # Lesson 10: the same server, async, with tokio
//!
//! Lesson 09 wrote the event loop by hand: a state machine per session, a queue of
//! deadlines, `WouldBlock` at every step. Here the session is written the way lesson 03
//! wrote it, top to bottom: write the welcome, read, pause, reply. But it is an
//! `async fn`, and the compiler turns it into the same kind of state machine lesson 09
//! wrote: a value that remembers where it stopped, and that the *runtime* (tokio, on top
//! of the same `mio` event loop) polls again when its socket is ready or its timer is
//! due. `tokio::spawn` starts one such task per connection: about 3 KiB of memory per
//! session here, with its socket's buffers (the scale benchmark measures it), where a
//! thread costs a stack and some 10 KiB.
//!
//! On top of lesson 03 it has what a server meeting many clients needs: a read timeout,
//! a cap on sessions, a graceful shutdown on Ctrl-C or SIGTERM that tells every client
//! goodbye, and `--workers N`: N processes that listen on the same port with
//! `SO_REUSEPORT`, the kernel spreading the connections over them (as nginx does with
//! its worker processes).
//!
//! ```text
//! cargo run --features scale --example 10_async_server
//! cargo run --example 04_client          # in a second terminal
//! ```

use std::future::{Future, poll_fn};
use std::io::{self, BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::pin::pin;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;
use tcp_lessons::args::Args;
use tcp_lessons::article::split_line_ending;
use tcp_lessons::say::{self, OnBrokenStdout, excerpt, explain, fail, out_text};
use tcp_lessons::server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::{sleep, timeout};

/// The article's address.
const ADDRESS: &str = "127.0.0.1:1234";
/// Room in the accept queue for a burst of connections (Linux caps it at
/// `net.core.somaxconn`).
const BACKLOG: u32 = 4096;
/// The article's pause after each read: `time.sleep(1)`.
const PAUSE_MS: u64 = 1000;
/// How long a session waits for its client's next message before it closes.
const TIMEOUT_MS: u64 = 60_000;
/// Sessions at once. A session costs a few KiB here, and a socket in the kernel;
/// the cap keeps their sum bounded whatever arrives.
const MAX_SESSIONS: usize = 50_000;
/// Worker processes listening on the same port.
const WORKERS: usize = 1;
/// The most bytes one read takes, as the article's `recv(1024)`.
const READ_SIZE: usize = 1024;
/// What a client past the cap is told instead of `Welcome!` (as lesson 06 says it).
const BUSY: &str = "busy, try again later";
/// What every client is told when the server shuts down (as lesson 06 says it).
const GOING_DOWN: &str = "server shutting down, bye";
/// How long a shutdown waits for the sessions to say goodbye.
const LINGER: Duration = Duration::from_secs(5);

fn usage() -> String {
    indoc::formatdoc! {"
        usage: 10_async_server [ADDRESS] [OPTIONS]

        The article's session server as async code on tokio: a task per client, the pause
        as a timer, a read timeout, a session cap, a graceful shutdown on Ctrl-C or
        SIGTERM, and worker processes sharing the port with SO_REUSEPORT.

        arguments:
          ADDRESS            where to listen (default {ADDRESS}; 127.0.0.1:0 picks a free port)

        options:
          --backlog N        length of the queue of connections waiting for accept (default {BACKLOG})
          --pause-ms MS      pause after each read, as the article's time.sleep(1) (default {PAUSE_MS})
          --timeout-ms MS    close a session whose client sends nothing for MS (default {TIMEOUT_MS})
          --max-sessions N   sessions at once; one more is told {BUSY:?} (default {MAX_SESSIONS})
          --workers N        N processes, each with its own listening socket on the same port
                             (SO_REUSEPORT; Linux spreads the connections) (default {WORKERS})
          --worker           run as one of those processes: started by --workers, it stops
                             when its standard input closes
          --quiet            do not log every read
          -h, --help         show this text

        examples:
          cargo run --features scale --example 10_async_server
          cargo run --features scale --example 10_async_server -- 127.0.0.1:0 --pause-ms 0
          cargo run --release --features scale --example 10_async_server -- --workers 4 --quiet
    "}
}

// ANCHOR: main
/// How the server runs, from the command line.
#[derive(Clone, Copy)]
struct Options {
    addr: SocketAddr,
    backlog: u32,
    pause: Duration,
    timeout: Duration,
    max_sessions: usize,
    workers: usize,
    worker: bool,
    log_reads: bool,
}

fn main() {
    let options = Options::from_args();
    // A task that writes its log line itself would hold its worker thread while stdout
    // is slow; as in lesson 03, lines go to a logger thread, and a broken stdout is said
    // once on stderr instead of stopping the server.
    say::on_broken_stdout(OnBrokenStdout::KeepGoing);
    say::log_in_background();
    // The runtime: a thread per processor core, each running an event loop like
    // lesson 09's, taking tasks from a shared queue. `#[tokio::main]` writes these
    // lines for you; here they stand in the open.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|err| fail(format!("cannot start the tokio runtime: {err}")));
    let clean = runtime.block_on(serve(options));
    // The thread that watches a worker's standard input may still be reading it.
    runtime.shutdown_background();
    // The logger thread may still hold the last lines (the goodbye count, say).
    say::flush_log(Duration::from_secs(1));
    let clean = clean && !say::stdout_failed();
    std::process::exit(if clean { 0 } else { 1 });
}
// ANCHOR_END: main

impl Options {
    fn from_args() -> Options {
        let mut args = Args::from_env(&usage());
        let options = Options {
            backlog: args.value("--backlog", BACKLOG),
            pause: Duration::from_millis(args.value("--pause-ms", PAUSE_MS)),
            timeout: Duration::from_millis(args.value("--timeout-ms", TIMEOUT_MS)),
            max_sessions: args.value("--max-sessions", MAX_SESSIONS),
            workers: args.value("--workers", WORKERS),
            worker: args.flag("--worker"),
            log_reads: !args.flag("--quiet"),
            addr: args.address(ADDRESS),
        };
        if options.timeout.is_zero() {
            args.refuse("--timeout-ms MS: give at least 1");
        }
        if !(1..=Semaphore::MAX_PERMITS.min(u32::MAX as usize)).contains(&options.max_sessions) {
            args.refuse("--max-sessions N: give at least 1");
        }
        if options.workers == 0 {
            args.refuse("--workers N: give at least 1");
        }
        if options.workers > 1 && !cfg!(target_os = "linux") {
            args.refuse("--workers N: SO_REUSEPORT spreads connections on Linux only");
        }
        args.finish();
        options
    }
}

// ANCHOR: serve
/// Listens, starts the other workers, accepts until a shutdown signal, then tells every
/// session to say goodbye and waits for them. Returns true if all went well.
async fn serve(options: Options) -> bool {
    let addr = options.addr;
    let listener = listen(addr, &options).unwrap_or_else(|err| fail(explain(&err, addr)));
    let local = listener.local_addr().unwrap_or(addr);
    let mut workers = Vec::new();
    if options.workers > 1 {
        // Port 0 asked for any free port: the others must bind the one we got.
        for n in 2..=options.workers {
            workers.push(start_worker(n, local, &options));
        }
    }
    let who = if options.worker {
        "a worker".to_string()
    } else {
        format!("tokio, {} worker process(es)", options.workers)
    };
    server!("listening on {local} (backlog {}, {who})", options.backlog);
    if !options.worker {
        server!("waiting for client connections...");
    }

    let sessions = Arc::new(Semaphore::new(options.max_sessions));
    let (tell_goodbye, goodbye) = watch::channel(false);
    // Accept until a shutdown signal comes; then the accept loop is dropped.
    first_of(
        accept_loop(&listener, &sessions, &goodbye, options),
        shutdown(options),
    )
    .await;
    // No more connections: those still waiting in the queue are reset.
    drop(listener);
    let open = options.max_sessions - sessions.available_permits();
    server!("shutting down: telling {open} session(s) goodbye");
    let _ = tell_goodbye.send(true);
    // Each session holds a permit until it ends: all permits back means all ended.
    let everyone = sessions.acquire_many(options.max_sessions as u32);
    let all_ended = timeout(LINGER, everyone).await.is_ok();
    if !all_ended {
        server!(
            "{} session(s) still open after {LINGER:?}; leaving them",
            open
        );
    }
    // Closing a worker's standard input tells it to shut down too.
    let stopped: Vec<bool> = workers.into_iter().map(stop_worker).collect();
    let workers_ok = stopped.iter().all(|&ok| ok);
    server!("shut down");
    all_ended && workers_ok
}
// ANCHOR_END: serve

// ANCHOR: listen
/// The listening socket, as lessons 02 and 03 build it, plus `SO_REUSEPORT` when
/// there are workers: every worker binds the same port with its own socket and its own
/// accept queue, and Linux spreads new connections over them by a hash of the
/// addresses. Without the option the second bind fails with "address already in use".
fn listen(addr: SocketAddr, options: &Options) -> io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    #[cfg(not(windows))]
    socket.set_reuseaddr(true)?;
    #[cfg(all(unix, not(any(target_os = "solaris", target_os = "illumos"))))]
    if options.workers > 1 || options.worker {
        socket.set_reuseport(true)?;
    }
    socket.bind(addr)?;
    socket.listen(options.backlog)
}
// ANCHOR_END: listen

// ANCHOR: accept_loop
/// Accepts connections and spawns a task for each: the async `accept_loop` of lesson
/// 03. It never ends by itself; `serve` stops polling it when a shutdown comes.
async fn accept_loop(
    listener: &TcpListener,
    sessions: &Arc<Semaphore>,
    goodbye: &watch::Receiver<bool>,
    options: Options,
) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => match Arc::clone(sessions).try_acquire_owned() {
                Ok(permit) => {
                    let goodbye = goodbye.clone();
                    // A task, not a thread: the session's state machine goes into a
                    // queue of the runtime, and the permit goes with it.
                    tokio::spawn(async move {
                        session(stream, peer, goodbye, options).await;
                        drop(permit);
                    });
                }
                Err(_) => {
                    // One attempt, no waiting: a client past the cap gets a word if
                    // the socket takes it, and is closed.
                    let _ = stream.try_write(BUSY.as_bytes());
                    server!(
                        "{peer}: {} sessions open, told it is busy",
                        options.max_sessions
                    );
                }
            },
            // Out of file descriptors, most likely: pause, and serve the others.
            Err(err) => {
                server!("accept failed: {err}; trying again in 100 ms");
                sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
// ANCHOR_END: accept_loop

// ANCHOR: session
/// One client's session, from welcome to close, and what ended it.
async fn session(
    mut stream: TcpStream,
    peer: SocketAddr,
    goodbye: watch::Receiver<bool>,
    options: Options,
) {
    server!("welcome new client {peer}...");
    match converse(&mut stream, peer, goodbye, options).await {
        Ok(End::Closed) => server!("connection from {peer} closed."),
        Ok(End::TimedOut) => server!(
            "connection from {peer} closed: nothing received for {} ms",
            options.timeout.as_millis()
        ),
        Ok(End::ShuttingDown) => server!("connection from {peer} closed: server shutting down"),
        Err(err) => server!("connection from {peer} closed after an error: {err}"),
    }
}

/// How a session ended, when it ended without an error.
enum End {
    Closed,
    TimedOut,
    ShuttingDown,
}

/// Lesson 03's dialogue, line for line, with `.await` where 03 blocks: at each `.await`
/// the task may stop and the thread runs other tasks until this one can go on.
/// (`split_line_ending` is lesson 03's, shared by 09 and 10 from `src/article.rs`.)
async fn converse(
    stream: &mut TcpStream,
    peer: SocketAddr,
    mut goodbye: watch::Receiver<bool>,
    options: Options,
) -> io::Result<End> {
    stream.write_all(b"Welcome!").await?;
    let mut buffer = [0; READ_SIZE];
    loop {
        // Wait for a message and pause after it, unless the server shuts down first.
        let step = async {
            let read = timeout(options.timeout, stream.read(&mut buffer)).await;
            // The read timed out: tokio dropped the read, nothing was lost.
            let Ok(read) = read else { return Ok(None) };
            let n = read?;
            if options.log_reads {
                // Cut to its ends when long (as lesson 03): the log stays bounded.
                server!("read {n} bytes from {peer}: {}", excerpt(&buffer[..n]));
            }
            // tokio's timers tick in milliseconds: even a sleep of zero would wait for
            // the next tick, about a millisecond per message. No pause, no timer.
            if !options.pause.is_zero() {
                sleep(options.pause).await;
            }
            io::Result::Ok(Some(n))
        };
        let n = match first_of(step, goodbye.changed()).await {
            Either::First(Ok(Some(n))) => n,
            Either::First(Ok(None)) => return Ok(End::TimedOut),
            Either::First(Err(err)) => return Err(err),
            Either::Second(_) => {
                stream.write_all(GOING_DOWN.as_bytes()).await?;
                return Ok(End::ShuttingDown);
            }
        };
        if n == 0 {
            return Ok(End::Closed);
        }
        let (text, line_ending) = split_line_ending(&buffer[..n]);
        let text = String::from_utf8_lossy(text);
        if text == "exit" {
            return Ok(End::Closed);
        }
        let reply = format!("Hello, {text}!{line_ending}");
        stream.write_all(reply.as_bytes()).await?;
    }
}
// ANCHOR_END: session

// ANCHOR: first_of
/// One of two outcomes.
enum Either<A, B> {
    First(A),
    Second(B),
}

/// Runs two futures at once and returns the outcome of the one that finishes first;
/// the other is dropped, which cancels it. tokio's `select!` macro does this (and
/// more); written out, it shows what a future is: something the runtime *polls*.
/// `poll` either returns `Ready` with the result, or `Pending` after arranging for
/// `cx`'s waker to be called when it can go on: a socket turned readable, a timer came
/// due. Then the runtime polls again.
async fn first_of<A: Future, B: Future>(a: A, b: B) -> Either<A::Output, B::Output> {
    // A future that is polled must stay where it is in memory: `pin!` keeps it there.
    let mut a = pin!(a);
    let mut b = pin!(b);
    poll_fn(|cx| {
        if let Poll::Ready(out) = a.as_mut().poll(cx) {
            return Poll::Ready(Either::First(out));
        }
        if let Poll::Ready(out) = b.as_mut().poll(cx) {
            return Poll::Ready(Either::Second(out));
        }
        Poll::Pending
    })
    .await
}
// ANCHOR_END: first_of

// ANCHOR: shutdown
/// Waits for Ctrl-C (SIGINT) or, on Unix, SIGTERM (what `kill` and service managers
/// send); a worker also stops when its standard input closes, that is when the first
/// process stops or dies.
async fn shutdown(options: Options) {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            if let Ok(mut sigterm) = signal(SignalKind::terminate()) {
                sigterm.recv().await;
                return;
            }
        }
        std::future::pending::<()>().await
    };
    let orphaned = async {
        if options.worker {
            // A blocking read, on a thread tokio keeps for such work.
            let _ = tokio::task::spawn_blocking(|| io::stdin().read_to_end(&mut Vec::new())).await;
        } else {
            std::future::pending::<()>().await
        }
    };
    first_of(interrupt, first_of(terminate, orphaned)).await;
}
// ANCHOR_END: shutdown

// ANCHOR: workers
/// Starts worker `n`: this same program with `--worker`, on the port we got. Its
/// standard input is a pipe from us; its output goes through us, so that the
/// `listening on` line below comes after every worker is listening.
fn start_worker(n: usize, local: SocketAddr, options: &Options) -> Child {
    let program = std::env::current_exe().unwrap_or_else(|err| fail(err));
    let mut command = Command::new(program);
    command.arg(local.to_string()).arg("--worker");
    for (flag, value) in [
        ("--backlog", options.backlog as u64),
        ("--pause-ms", options.pause.as_millis() as u64),
        ("--timeout-ms", options.timeout.as_millis() as u64),
        ("--max-sessions", options.max_sessions as u64),
    ] {
        command.arg(flag).arg(value.to_string());
    }
    if !options.log_reads {
        command.arg("--quiet");
    }
    command.stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|err| fail(format!("cannot start worker {n}: {err}")));
    let mut lines = BufReader::new(child.stdout.take().expect("stdout is piped")).lines();
    match lines.next() {
        Some(Ok(line)) if line.contains("listening on") => {}
        _ => fail(format!("worker {n} did not start listening")),
    }
    // Pass on the rest of what it says, line by line.
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            out_text(&format!("{line}\n"));
        }
    });
    child
}

/// Tells a worker to shut down by closing its standard input, and waits for it.
fn stop_worker(mut worker: Child) -> bool {
    drop(worker.stdin.take());
    worker.wait().is_ok_and(|status| status.success())
}
// ANCHOR_END: workers
