//! The checks of the exercises on lesson 04. They play lesson 03's server (unframed, as
//! in the article: `Welcome!`, then `Hello, NAME!` for each message) and run the
//! student's client against it.

use super::{Check, Conn, Exercise, Finished, Mismatch, Program, WAIT, listener};
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

pub const ALL: &[Exercise] = &[TIMING, RETRY];

/// The names the checks give the client.
const NAMES: [&str; 3] = ["Michael", "Tracy", "Sarah"];

/// Accepts one client on `listener`, at most [`WAIT`] from now, and no longer than
/// until the client program has ended (`ended`) without connecting.
fn accept(listener: &TcpListener, ended: &AtomicBool) -> Result<TcpStream, Mismatch> {
    listener.set_nonblocking(true).map_err(Mismatch::from)?;
    let deadline = Instant::now() + WAIT;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).map_err(Mismatch::from)?;
                return Ok(stream);
            }
            Err(err)
                if err.kind() == io::ErrorKind::WouldBlock
                    && Instant::now() < deadline
                    && !ended.load(Ordering::SeqCst) =>
            {
                thread::sleep(Duration::from_millis(5));
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                return Err(Mismatch::new(
                    "the client to connect",
                    "no connection from it",
                ));
            }
            Err(err) => return Err(Mismatch::from(err)),
        }
    }
}

/// Plays lesson 03's server for one client: `Welcome!`, then for each message a pause
/// of `pause` and `Hello, NAME!`, until `exit` or the end of the connection. Returns
/// the messages it got, one per read.
fn play_server(
    listener: TcpListener,
    pause: Duration,
    ended: &AtomicBool,
) -> Result<Vec<String>, Mismatch> {
    let mut client = Conn::from_stream(accept(&listener, ended)?).map_err(Mismatch::from)?;
    client.send(b"Welcome!")?;
    let mut got = Vec::new();
    loop {
        let message = client.read_some()?;
        if message.is_empty() {
            return Ok(got);
        }
        got.push(message.clone());
        if message == "exit" {
            return Ok(got);
        }
        thread::sleep(pause);
        client.send(format!("Hello, {message}!").as_bytes())?;
    }
}

/// Runs the client with `args` against a server played by `serve`, which starts at once
/// in a thread of its own and learns from its flag when the client has ended; returns
/// what the client printed and what the server got.
fn converse(
    program: &Program,
    args: &[&str],
    serve: impl FnOnce(&AtomicBool) -> Result<Vec<String>, Mismatch> + Send + 'static,
) -> Result<(Finished, Result<Vec<String>, Mismatch>), Mismatch> {
    let ended = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&ended);
    let server = thread::spawn(move || serve(&flag));
    let finished = program.run(args, "");
    ended.store(true, Ordering::SeqCst);
    let finished = finished?;
    // The server's every wait is bounded, so this join ends too.
    let got = server
        .join()
        .unwrap_or_else(|_| Err(Mismatch::new("the check's server to run", "it panicked")));
    Ok((finished, got))
}

const TIMING: Exercise = Exercise {
    name: "ex04_timing",
    lesson: "04_client",
    task: "print each reply with its round-trip time: Hello, Michael! (1000.334 ms)",
    checks: &[
        Check {
            what: "each reply is printed with its time: Hello, Michael! (150.212 ms)",
            hint: "print the reply and then the time in milliseconds, in brackets: \
                   format!(\"{reply} ({:.3} ms)\", took.as_secs_f64() * 1000.0)",
            run: each_reply_is_timed,
        },
        Check {
            what: "the times are the round trips: at least the server's pause of 150 ms",
            hint: "take Instant::now() just before write_all, and read .elapsed() on it just \
                   after the reply has been read: the pause lies between the two",
            run: times_are_round_trips,
        },
        Check {
            what: "every name is sent and answered, then `exit` is sent",
            hint: "keep the dialogue as it is: one write per name, one read per reply, \
                   `exit` at the end; only add the timing around it",
            run: dialogue_is_whole,
        },
    ],
};

/// How long the check's server waits before each reply.
const PAUSE: Duration = Duration::from_millis(150);

/// The client's output against a server that pauses [`PAUSE`] before each reply.
fn timed_run(program: &Program) -> Result<(Finished, Result<Vec<String>, Mismatch>), Mismatch> {
    let (listener, addr) = listener()?;
    let addr = addr.to_string();
    let mut args = vec![addr.as_str()];
    args.extend(NAMES);
    converse(program, &args, move |ended| {
        play_server(listener, PAUSE, ended)
    })
}

/// The milliseconds printed after `Hello, NAME!` on some line of `output`: an error
/// that shows the line (or the whole output) when there is none.
fn time_of(name: &str, output: &str) -> Result<f64, Mismatch> {
    let greeting = format!("Hello, {name}!");
    let expected = format!("a line \"{greeting} (N ms)\"");
    let Some(line) = output.lines().find(|line| line.contains(&greeting)) else {
        return Err(Mismatch::new(expected, format!("the output {output:?}")));
    };
    let after = line.split(&greeting).nth(1).unwrap_or_default().trim();
    after
        .strip_prefix('(')
        .and_then(|rest| rest.strip_suffix("ms)"))
        .and_then(|number| number.trim().parse::<f64>().ok())
        .ok_or_else(|| Mismatch::new(expected, format!("{line:?}")))
}

fn each_reply_is_timed(program: &Program) -> Result<(), Mismatch> {
    let (finished, _) = timed_run(program)?;
    for name in NAMES {
        time_of(name, &finished.stdout)?;
    }
    Ok(())
}

fn times_are_round_trips(program: &Program) -> Result<(), Mismatch> {
    let (finished, _) = timed_run(program)?;
    let least = PAUSE.as_secs_f64() * 1000.0;
    // A generous upper bound: a busy machine may be slow, but not by a second.
    let most = least + 1000.0;
    for name in NAMES {
        let ms = time_of(name, &finished.stdout)?;
        if !(least..most).contains(&ms) {
            return Err(Mismatch::new(
                format!("between {least} and {most} ms for {name}"),
                format!("{ms} ms"),
            ));
        }
    }
    Ok(())
}

fn dialogue_is_whole(program: &Program) -> Result<(), Mismatch> {
    let (_, got) = timed_run(program)?;
    let got = got?;
    let mut expected: Vec<&str> = NAMES.to_vec();
    expected.push("exit");
    if got == expected {
        Ok(())
    } else {
        Err(Mismatch::new(
            format!("the server to get {expected:?}"),
            format!("{got:?}"),
        ))
    }
}

const RETRY: Exercise = Exercise {
    name: "ex04_retry",
    lesson: "04_client",
    task: "retry a refused connection 5 times, 200 ms apart, then give up",
    checks: &[
        Check {
            what: "with nothing listening, it says \"connection refused, retrying (1 of 5)\", \
                   and so on up to (5 of 5)",
            hint: "match the error of TcpStream::connect: on io::ErrorKind::ConnectionRefused, \
                   count the retry, print the line and loop to connect again",
            run: says_it_retries,
        },
        Check {
            what: "it waits 200 ms before each retry: five retries take a second",
            hint: "std::thread::sleep(Duration::from_millis(200)) after each retry line, \
                   before the next try",
            run: retries_are_apart,
        },
        Check {
            what: "after the fifth retry it gives up: one line on stderr, exit status 1",
            hint: "after 5 retries, return the last error from connect(): main already \
                   turns it into one line and exit status 1",
            run: gives_up,
        },
        Check {
            what: "when the server starts 300 ms after the client, the client gets through \
                   and prints the welcome",
            hint: "retry only while the error is ConnectionRefused, and keep the stream of \
                   the try that worked",
            run: gets_through_late_server,
        },
    ],
};

/// An address on 127.0.0.1 where nothing listens: a port the kernel just gave us, freed.
/// It has carried no connection, so no TIME_WAIT holds it and the check can listen on it
/// again. (Linux gives `bind` to port 0 and `connect` ports of different parity, so the
/// client cannot happen to connect from this very port to itself.)
fn free_address() -> Result<SocketAddr, Mismatch> {
    let (listener, addr) = listener()?;
    drop(listener);
    Ok(addr)
}

/// What the client did against an address where nothing listens.
#[derive(Clone)]
struct Refused {
    status: ExitStatus,
    stdout: String,
    stderr: String,
    took: Duration,
}

/// The refused run of each program, made once: a right client needs a second to give
/// up, and three checks read the same run. Each program has its own cell, so that the
/// runs of different programs (checked side by side) do not wait for each other.
type Once = Arc<OnceLock<Result<Refused, (String, String)>>>;
static REFUSED: Mutex<Vec<(Program, Once)>> = Mutex::new(Vec::new());

/// Runs the client against an address where nothing listens (once per program).
fn refused_run(program: &Program) -> Result<Refused, Mismatch> {
    let cell = {
        let mut runs = REFUSED.lock().unwrap_or_else(PoisonError::into_inner);
        match runs.iter().find(|(run_of, _)| run_of == program) {
            Some((_, cell)) => Arc::clone(cell),
            None => {
                let cell = Once::default();
                runs.push((program.clone(), Arc::clone(&cell)));
                cell
            }
        }
    };
    let run = cell.get_or_init(|| {
        let refused = || -> Result<Refused, Mismatch> {
            let addr = free_address()?.to_string();
            let started = Instant::now();
            let finished = program.run(&[&addr], "")?;
            Ok(Refused {
                status: finished.status,
                stdout: finished.stdout,
                stderr: finished.stderr,
                took: started.elapsed(),
            })
        };
        refused().map_err(|m| (m.expected, m.got))
    });
    run.clone()
        .map_err(|(expected, got)| Mismatch::new(expected, got))
}

/// Exit status and output, for a mismatch.
fn printed(status: ExitStatus, stdout: &str, stderr: &str) -> String {
    format!("{status}, stdout {stdout:?}, stderr {stderr:?}")
}

const RETRIES: u32 = 5;

fn says_it_retries(program: &Program) -> Result<(), Mismatch> {
    let run = refused_run(program)?;
    let output = format!("{}{}", run.stdout, run.stderr);
    for retry in 1..=RETRIES + 1 {
        let line = format!("connection refused, retrying ({retry} of {RETRIES})");
        let wanted = retry <= RETRIES;
        if output.contains(&line) != wanted {
            let expected = match wanted {
                true => format!("a line {line:?}"),
                false => format!("no line {line:?}"),
            };
            return Err(Mismatch::new(
                expected,
                printed(run.status, &run.stdout, &run.stderr),
            ));
        }
    }
    Ok(())
}

fn retries_are_apart(program: &Program) -> Result<(), Mismatch> {
    let took = refused_run(program)?.took;
    // Five sleeps of 200 ms: at least a second, whatever the machine's load.
    let least = Duration::from_millis(200) * RETRIES;
    if took >= least {
        Ok(())
    } else {
        Err(Mismatch::new(
            format!("at least {least:?} before giving up"),
            format!("it gave up after {took:.0?}"),
        ))
    }
}

fn gives_up(program: &Program) -> Result<(), Mismatch> {
    let run = refused_run(program)?;
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    if run.status.code() == Some(1) && errors.len() == 1 {
        Ok(())
    } else {
        Err(Mismatch::new(
            "exit status 1 and one line on stderr",
            printed(run.status, &run.stdout, &run.stderr),
        ))
    }
}

fn gets_through_late_server(program: &Program) -> Result<(), Mismatch> {
    let addr = free_address()?;
    let late = move |ended: &AtomicBool| {
        thread::sleep(Duration::from_millis(300));
        let listener = TcpListener::bind(addr).map_err(|err| {
            Mismatch::new(
                format!("the check to listen on {addr} again"),
                err.to_string(),
            )
        })?;
        play_server(listener, Duration::ZERO, ended)
    };
    let (finished, got) = converse(program, &[&addr.to_string()], late)?;
    if !finished.stdout.contains("Welcome!") {
        let got = printed(finished.status, &finished.stdout, &finished.stderr);
        return Err(Mismatch::new("the welcome printed", got));
    }
    got.map(drop)
}
