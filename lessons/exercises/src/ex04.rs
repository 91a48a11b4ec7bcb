//! The checks of the exercises on lesson 04. They play lesson 03's server (unframed, as
//! in the article: `Welcome!`, then `Hello, NAME!` for each message) and run the
//! student's client against it.

use super::{Check, Conn, Exercise, Finished, Mismatch, Program, WAIT, listener};
use socket2::{Domain, Protocol, Socket, Type};
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
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
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
/// (the next of `pauses`, none once they run out) and `Hello, NAME!`, until `exit` or
/// the end of the connection. Returns the messages it got, one per read.
fn play_server(
    listener: TcpListener,
    pauses: &[Duration],
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
        thread::sleep(pauses.get(got.len() - 1).copied().unwrap_or_default());
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
            what: "each reply is printed with its time, in ms with three decimals: \
                   Hello, Michael! (400.212 ms)",
            hint: "print the reply and then the time in milliseconds with three decimals, in \
                   brackets: format!(\"{reply} ({:.3} ms)\", took.as_secs_f64() * 1000.0). \
                   as_millis() would drop the microseconds",
            run: each_reply_is_timed,
        },
        Check {
            what: "the times are the round trips: each at least the server's pause before \
                   that reply (400 ms, then 100 ms)",
            hint: "take Instant::now() just before write_all, and read .elapsed() on it only \
                   after the reply has been read: the server's pause lies between the two",
            run: times_are_round_trips,
        },
        Check {
            what: "each time is its own round trip: Tracy's (a 100 ms pause) is shorter than \
                   Michael's (a 400 ms pause)",
            hint: "take a new Instant::now() for each name, just before its write: an Instant \
                   taken once, before the loop, gives the time since the start, which grows \
                   with every reply",
            run: each_time_is_its_own,
        },
        Check {
            what: "every name is sent and answered, then `exit` is sent",
            hint: "keep the dialogue as it is: one write per name, one read per reply, \
                   `exit` at the end; only add the timing around it",
            run: dialogue_is_whole,
        },
    ],
};

/// How long the check's server waits before its reply to each name: the first pause is
/// the longest, so that a time that adds up the round trips shows.
const PAUSES: [Duration; 3] = [
    Duration::from_millis(400),
    Duration::from_millis(100),
    Duration::from_millis(100),
];

/// The client's output against a server that pauses [`PAUSES`] before its replies.
fn timed_run(program: &Program) -> Result<(Finished, Result<Vec<String>, Mismatch>), Mismatch> {
    let (listener, addr) = listener()?;
    let addr = addr.to_string();
    let mut args = vec![addr.as_str()];
    args.extend(NAMES);
    converse(program, &args, move |ended| {
        play_server(listener, &PAUSES, ended)
    })
}

/// The milliseconds printed after `Hello, NAME!`, with three decimals, on some line of
/// `output`: an error that shows the line (or the whole output) when there is none.
fn time_of(name: &str, output: &str) -> Result<f64, Mismatch> {
    let greeting = format!("Hello, {name}!");
    let expected = format!("a line \"{greeting} (N.NNN ms)\"");
    let Some(line) = output.lines().find(|line| line.contains(&greeting)) else {
        return Err(Mismatch::new(expected, format!("the output {output:?}")));
    };
    let after = line.split(&greeting).nth(1).unwrap_or_default().trim();
    let three_decimals = |number: &str| {
        number
            .split_once('.')
            .is_some_and(|(_, decimals)| decimals.len() == 3)
    };
    after
        .strip_prefix('(')
        .and_then(|rest| rest.strip_suffix("ms)"))
        .map(str::trim)
        .filter(|number| three_decimals(number))
        .and_then(|number| number.parse::<f64>().ok())
        .ok_or_else(|| Mismatch::new(expected, format!("{line:?}")))
}

fn each_reply_is_timed(program: &Program) -> Result<(), Mismatch> {
    let (finished, _) = timed_run(program)?;
    for name in NAMES {
        time_of(name, &finished.stdout)?;
    }
    Ok(())
}

/// A timing check that fails gets a second run: a moment when the machine held the
/// client up can make one time long; a mistake fails both runs.
fn twice(check: impl Fn() -> Result<(), Mismatch>) -> Result<(), Mismatch> {
    check().or_else(|_| check())
}

fn times_are_round_trips(program: &Program) -> Result<(), Mismatch> {
    twice(|| round_trips_once(program))
}

fn round_trips_once(program: &Program) -> Result<(), Mismatch> {
    let (finished, _) = timed_run(program)?;
    for (name, pause) in NAMES.iter().zip(PAUSES) {
        let least = pause.as_secs_f64() * 1000.0;
        // A generous upper bound: a busy machine may be slow, but not by a second.
        let most = least + 1000.0;
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

fn each_time_is_its_own(program: &Program) -> Result<(), Mismatch> {
    twice(|| own_time_once(program))
}

fn own_time_once(program: &Program) -> Result<(), Mismatch> {
    let (finished, _) = timed_run(program)?;
    let michael = time_of(NAMES[0], &finished.stdout)?;
    let tracy = time_of(NAMES[1], &finished.stdout)?;
    // An ordering, not a threshold: 300 ms apart, whatever the machine's load.
    if tracy < michael {
        Ok(())
    } else {
        Err(Mismatch::new(
            format!("Tracy's time below Michael's ({michael:.3} ms)"),
            format!("{tracy:.3} ms"),
        ))
    }
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
                   count the retry, print the line and loop to connect again. 5 retries come \
                   after the first try: 6 tries in all",
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
                   turns it into one line and exit status 1. A panic (panic!, unwrap, expect) \
                   prints more and exits with 101",
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

/// A port of 127.0.0.1 held but not listened on: a connect there is refused (the kernel
/// finds no listener and answers with a RST), and no other program, nor another check
/// running beside this one, can take the port while the socket is held. Calling
/// `listen` on it later makes it the listener.
fn held_port() -> Result<(Socket, SocketAddr), Mismatch> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    socket.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
    let addr = socket
        .local_addr()?
        .as_socket()
        .ok_or_else(|| Mismatch::new("an IPv4 address", "another kind"))?;
    Ok((socket, addr))
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
            let (_held, addr) = held_port()?;
            let started = Instant::now();
            let finished = program.run(&[&addr.to_string()], "")?;
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
    let (held, addr) = held_port()?;
    let late = move |ended: &AtomicBool| {
        thread::sleep(Duration::from_millis(300));
        held.listen(128).map_err(|err| {
            Mismatch::new(format!("the check to listen on {addr}"), err.to_string())
        })?;
        play_server(held.into(), &[], ended)
    };
    let (finished, got) = converse(program, &[&addr.to_string()], late)?;
    if !finished.stdout.contains("Welcome!") {
        let got = printed(finished.status, &finished.stdout, &finished.stderr);
        return Err(Mismatch::new("the welcome printed", got));
    }
    got.map(drop)
}
