//! Lesson 08: the benchmark makes the servers take turns, round after round, reports
//! the median of the per-round ratios with their range, writes the same numbers to its
//! Markdown file, and raises a low open-file limit; its floor server listens with the
//! backlog it claims and does not spin when file descriptors run out.
//!
//! The test profile is a debug build: `--allow-debug` lets the benchmark run anyway
//! (its numbers then say little, and nothing here checks a speed).

mod common;

use common::{EXIT, Peer, Running, WELCOME, hello, lesson, lessons, run, skip};
use std::net::SocketAddr;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

/// The servers `--quick` measures (no Python in quick mode), in the order of round 1.
const SERVERS: [&str; 4] = [
    "03_server",
    "03_server/quiet",
    "06_hardened_server",
    "floor",
];
/// The numbers of clients `--quick` runs, in order.
const QUICK_LOADS: [usize; 2] = [1, 10];

/// The body rows of the terminal table titled `title`, each split into its words (up
/// to a blank line or a tagged line such as `[note] ...`).
fn text_rows(stdout: &str, title: &str) -> Vec<Vec<String>> {
    let mut lines = stdout.lines().skip_while(|line| *line != title).skip(2);
    let in_table = |line: &&str| !line.is_empty() && !line.starts_with('[');
    std::iter::from_fn(|| lines.next().filter(in_table))
        .map(|line| line.split_whitespace().map(String::from).collect())
        .collect()
}

/// The header and body rows of the Markdown table under `#### title`, each split into
/// its cells (the rule under the header left out).
fn markdown_rows(markdown: &str, title: &str) -> Vec<Vec<String>> {
    let heading = format!("#### {title}");
    let mut lines = markdown.lines().skip_while(|line| *line != heading).skip(2);
    std::iter::from_fn(|| lines.next().filter(|line| line.starts_with('|')))
        .filter(|line| !line.starts_with("| :--"))
        .map(|line| {
            let inner = line.trim_matches('|');
            inner
                .split('|')
                .map(|cell| cell.trim().to_string())
                .collect()
        })
        .collect()
}

/// One progress line: `round R of N, C clients: NAME RATE/s, NAME RATE/s, ...`.
#[derive(Debug)]
struct Turn {
    round: usize,
    clients: usize,
    rates: Vec<(String, f64)>,
}

/// The progress lines of a run, in the order printed.
fn turns(stdout: &str) -> Vec<Turn> {
    stdout
        .lines()
        .filter_map(|line| {
            let rest = line.split("round ").nth(1)?;
            let (head, rates) = rest.split_once(": ")?;
            let mut words = head.split([' ', ',']).filter(|w| !w.is_empty());
            let round = words.next()?.parse().ok()?;
            let clients = words.nth(2)?.parse().ok()?;
            let rates = rates
                .split(", ")
                .map(|pair| {
                    let (name, rate) = pair.rsplit_once(' ').unwrap();
                    let rate = rate.trim_end_matches("/s").parse().unwrap();
                    (name.to_string(), rate)
                })
                .collect();
            Some(Turn {
                round,
                clients,
                rates,
            })
        })
        .collect()
}

/// Why `server` did no round trips, in plain words, when the benchmark's table of
/// first errors says 07 got other words than the article's from it; empty otherwise.
fn words_changed(stdout: &str, server: &str) -> String {
    let error = stdout.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        (words.next() == Some(server)).then_some(())?;
        line.split_once("expected ")
    });
    let Some((_, said)) = error else {
        return String::new();
    };
    let Some((expected, got)) = said.split_once(", got ") else {
        return String::new();
    };
    // The floor is 08's own server; 03_server/quiet is 03_server.
    let lesson = match server.split('/').next().unwrap_or(server) {
        "floor" => "08_benchmark",
        name => name,
    };
    let text = |quoted: &str| quoted.trim_matches('"').to_string();
    let found = format!("07_load got {got} from {server}");
    let mut message: Vec<String> = common::promises_broken(&[lesson], &text(expected), &text(got))
        .iter()
        .map(|p| p.broken(&found))
        .collect();
    message.push(format!(
        "The benchmark measures {server} with 07_load, which checks what a server says word \
         for word: it expected {expected} and got {got}.\n"
    ));
    message.join("\n")
}

/// The median, the smallest and the largest of some numbers.
fn spread(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let median = if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    };
    (median, values[0], values[n - 1])
}

#[test]
fn quick_run_takes_turns_and_reports_the_median_of_per_round_ratios() {
    // The benchmark starts the servers and 07_load built beside it.
    lessons(&["03_server", "06_hardened_server", "07_load", "08_benchmark"]);
    let file = std::env::temp_dir().join(format!("08_benchmark_{}.md", std::process::id()));
    let path = file.to_str().unwrap();
    let rounds = 3;
    let out = run(
        "08_benchmark",
        &[
            "--quick",
            "--allow-debug",
            "--rounds",
            "3",
            "--markdown",
            path,
        ],
        "",
    );
    let markdown = std::fs::read_to_string(&file).unwrap_or_default();
    let _ = std::fs::remove_file(&file);
    assert!(out.status.success(), "{}\n{}", out.stderr, out.stdout);

    // Interleaved: round 1 at every load, then round 2, ...; in each, every server once,
    // the order turning by one place from round to round (A B C D, B C D A, ...).
    let turns = turns(&out.stdout);
    let order: Vec<(usize, usize)> = turns.iter().map(|t| (t.round, t.clients)).collect();
    let expected: Vec<(usize, usize)> = (1..=rounds)
        .flat_map(|round| QUICK_LOADS.map(|clients| (round, clients)))
        .collect();
    assert_eq!(
        order, expected,
        "the runs no longer take turns round by round:\n{}",
        out.stdout
    );
    for turn in &turns {
        let names: Vec<&str> = turn.rates.iter().map(|(name, _)| name.as_str()).collect();
        let mut order = SERVERS;
        order.rotate_left((turn.round - 1) % SERVERS.len());
        assert_eq!(
            names, order,
            "round {} should run every server once, in this order: {turn:?}",
            turn.round
        );
    }

    let title = format!("Round trips (median of {rounds} rounds)");
    let rows = text_rows(&out.stdout, &title);
    for server in SERVERS {
        let mine: Vec<&Vec<String>> = rows.iter().filter(|row| row[0] == server).collect();
        assert_eq!(
            mine.len(),
            QUICK_LOADS.len(),
            "rows for {server}:\n{}",
            out.stdout
        );
        for row in mine {
            let rate: f64 = row[3].parse().unwrap();
            let why = words_changed(&out.stdout, server);
            assert!(rate > 0.0, "{why}{server} did no round trips: {row:?}");
            assert_eq!(row[7], "0", "{why}{server} had errors: {row:?}");
        }
    }

    // Each ratio cell is the median of the per-round ratios (from the rates each round
    // printed, which are rounded: hence the small tolerance), with their min–max.
    let ratios_title = format!("Ratios of round trips/s (median of {rounds} per-round ratios)");
    let table = markdown_rows(&markdown, &ratios_title);
    assert_eq!(
        table[0][..4],
        ["server", "clients", "÷ floor", "min–max"],
        "the ratio table lost its median and min–max columns:\n{markdown}"
    );
    for row in &table[1..] {
        let (server, clients) = (&row[0], row[1].parse::<usize>().unwrap());
        let rate = |turn: &Turn, name: &str| {
            let found = turn.rates.iter().find(|(n, _)| n == name);
            found.map(|(_, rate)| *rate).unwrap()
        };
        let per_round: Vec<f64> = turns
            .iter()
            .filter(|turn| turn.clients == clients)
            .map(|turn| rate(turn, server) / rate(turn, "floor"))
            .collect();
        let (median, min, max) = spread(per_round.clone());
        let (low, high) = row[3].split_once('–').unwrap();
        let shown = [row[2].as_str(), low, high].map(|c| c.parse::<f64>().unwrap());
        let checks = [("median", median), ("min", min), ("max", max)];
        for ((what, want), got) in checks.into_iter().zip(shown) {
            assert!(
                (want - got).abs() < 0.011,
                "{server} at {clients} clients ÷ floor: the {what} of the per-round \
                 ratios {per_round:?} is {want:.3}, the table says {got}:\n{markdown}"
            );
        }
    }

    let targets = "Targets (a ratio: the median of the per-round ratios)";
    for title in [title.as_str(), &ratios_title, targets] {
        let terminal = text_rows(&out.stdout, title);
        let written: Vec<Vec<String>> = markdown_rows(&markdown, title)
            .into_iter()
            .skip(1)
            .map(|row| row.join(" ").split_whitespace().map(String::from).collect())
            .collect();
        assert_eq!(
            terminal, written,
            "table {title:?} differs between the terminal and {path}:\n{markdown}"
        );
    }
}

/// This process's hard limit on open files, from /proc (Linux).
fn hard_open_files() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(4)?.parse().ok()
}

#[test]
fn a_low_open_file_limit_is_raised_and_said() {
    // macOS starts programs with `ulimit -n` 256; here we lower it ourselves.
    let Some(hard) = hard_open_files().filter(|&hard| hard > 64) else {
        skip("no /proc/self/limits, or a hard limit of 64 open files or fewer");
        return;
    };
    lessons(&["03_server", "06_hardened_server", "07_load"]);
    let mut command = Command::new("sh");
    command
        .args(["-c", "ulimit -Sn 64 && exec \"$0\" \"$@\""])
        .arg(lesson("08_benchmark"))
        .args(["--quick", "--allow-debug", "--rounds", "1"]);
    let mut benchmark = Running::spawn(command);
    let said = benchmark.expect("open files");
    assert!(
        said.contains(&format!("from 64 to {hard}")),
        "the benchmark should raise its soft limit of 64 open files to the hard limit \
         {hard}, and say so; it said: {said}"
    );
    assert!(benchmark.wait_exit().success(), "{:?}", benchmark.seen());
}

#[test]
fn a_debug_build_refuses_to_run_without_allow_debug() {
    // Only a debug build refuses; in a release test profile there is nothing to check.
    if !cfg!(debug_assertions) {
        return;
    }
    let out = run("08_benchmark", &["--quick"], "");
    assert_eq!(out.status.code(), Some(1), "{}", out.stdout);
    assert!(out.stderr.contains("--release"), "{}", out.stderr);
    assert_eq!(out.stdout, "");
}

#[test]
fn impossible_numbers_are_usage_errors() {
    for args in [
        &["--rounds", "0"][..],
        &["--rounds", "1000"],
        &["--floor-server", "--backlog", "-1"],
        &["--backlog", "5"],
    ] {
        let out = run("08_benchmark", args, "");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {}", out.stderr);
    }
}

#[test]
fn the_floor_server_speaks_the_article_protocol() {
    let (_server, addr) = Running::server("08_benchmark", &["--floor-server"]);
    let mut peer = Peer::connect(addr);
    peer.expect(WELCOME);
    peer.send(b"Michael");
    peer.expect(&hello("Michael"));
    peer.send(EXIT.as_bytes());
    peer.expect_closed();
}

/// The address in a line `listening on IP:PORT ...`.
fn address_in(line: &str) -> SocketAddr {
    let after = line.split("listening on ").nth(1).unwrap();
    after.split_whitespace().next().unwrap().parse().unwrap()
}

/// The backlog in the floor's `listening on ... (floor server, backlog N)` line.
fn claimed_backlog(line: &str) -> u32 {
    let after = line
        .split("backlog ")
        .nth(1)
        .expect("no backlog in the line");
    after.trim_end_matches(')').parse().unwrap()
}

#[test]
fn the_floor_listens_with_the_backlog_it_claims() {
    if Command::new("ss").arg("-V").output().is_err() {
        skip("`ss` is not installed: cannot read a listening socket's backlog");
        return;
    }
    // net.core.somaxconn caps every backlog (Linux).
    let somaxconn: Option<u32> = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|text| text.trim().parse().ok());
    let help = run("08_benchmark", &["--help"], "").stdout;
    let default = common::help_default(&help, "--backlog");
    for (args, backlog) in [
        (&["--floor-server"][..], default.as_str()),
        (&["--floor-server", "--backlog", "7"], "7"),
    ] {
        let mut server = Running::start("08_benchmark", &[&["127.0.0.1:0"], args].concat());
        let line = server.expect("listening on");
        let addr = address_in(&line);
        let claimed = claimed_backlog(&line);
        assert_eq!(
            claimed.to_string(),
            backlog,
            "started with {args:?}, the floor should listen with a backlog of {backlog} (the \
             default its --help shows, or the one given), but it says `{line}`"
        );
        let expected = somaxconn.map_or(claimed, |cap| claimed.min(cap));
        // For a listening socket, ss shows the backlog in the Send-Q column.
        let filter = format!("sport = :{}", addr.port());
        let ss = Command::new("ss").args(["-ltn", &filter]).output().unwrap();
        let ss = String::from_utf8_lossy(&ss.stdout);
        let listening = ss.lines().find(|l| l.starts_with("LISTEN"));
        let send_q = listening.and_then(|l| l.split_whitespace().nth(2));
        assert_eq!(
            send_q,
            Some(expected.to_string().as_str()),
            "the floor says `{line}`, but ss shows another backlog:\n{ss}"
        );
    }
}

/// CPU time (user + system) of process `pid`, in clock ticks, from /proc (Linux).
fn cpu_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command name in parentheses: state is field 3, utime 14, stime 15.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

#[test]
fn the_floor_pauses_instead_of_spinning_when_out_of_file_descriptors() {
    if !std::path::Path::new("/proc/self/stat").exists() {
        skip("no /proc: cannot read a process's CPU time");
        return;
    }
    // 32 open files: stdin, stdout, stderr and the listening socket leave 28 for clients.
    let mut command = Command::new("sh");
    command
        .args(["-c", "ulimit -n 32 && echo pid $$ && exec \"$0\" \"$@\""])
        .arg(lesson("08_benchmark"))
        .args(["--floor-server", "127.0.0.1:0"]);
    let mut floor = Running::spawn(command);
    let pid = floor.expect("pid ").replace("pid ", "");
    let addr = floor.listening_addr();
    // The kernel completes the handshakes of all 60 (the backlog is 1024); the floor
    // runs out of descriptors after about 28 and its accept fails from then on.
    let mut held: Vec<Peer> = (0..60).map(|_| Peer::connect(addr)).collect();
    floor.expect("accept failed");
    let (before, began) = (cpu_ticks(&pid).unwrap(), Instant::now());
    thread::sleep(Duration::from_secs(1));
    let ticks = cpu_ticks(&pid).unwrap() - before;
    // Linux counts CPU time in ticks of 1/100 s (USER_HZ): a spinning loop takes about
    // 100 in a second; pausing 100 ms between tries takes next to none.
    let wall_ticks = began.elapsed().as_millis() as u64 / 10;
    assert!(
        ticks * 4 < wall_ticks,
        "out of descriptors, the floor used {ticks} ticks of CPU in {wall_ticks}: its \
         accept loop spins instead of pausing after a failed accept"
    );
    let failures = floor
        .seen()
        .iter()
        .filter(|l| l.contains("accept failed"))
        .count();
    assert_eq!(
        failures,
        1,
        "a repeated accept error should be said once and counted:\n{}",
        floor.seen().join("\n")
    );
    // Once the clients close, the queued connections are accepted, and a new client is
    // welcomed.
    held.clear();
    floor.expect("accept works again, after failing");
    Peer::welcomed(addr);
}

/// `--scale --quick`: 09 and 10 beside the floor, every design holding a few sessions
/// at once, 10 with two workers, and the targets table (its big rows not measured).
#[cfg(feature = "scale")]
#[test]
fn quick_scale_run_holds_sessions_with_every_design() {
    lessons(&[
        "03_server",
        "07_load",
        "08_benchmark",
        "09_event_loop",
        "10_async_server",
        "11_many_clients",
    ]);
    let out = run(
        "08_benchmark",
        &["--scale", "--quick", "--allow-debug", "--rounds", "1"],
        "",
    );
    assert!(out.status.success(), "{}\n{}", out.stderr, out.stdout);
    let ratios = text_rows(
        &out.stdout,
        "Ratios of round trips/s (median of 1 per-round ratios)",
    );
    let names: Vec<&str> = ratios.iter().map(|row| row[0].as_str()).collect();
    for name in ["09_event_loop", "10_async_server", "floor"] {
        assert!(
            names.contains(&name),
            "no {name} in the ratios:\n{}",
            out.stdout
        );
    }
    let held = text_rows(
        &out.stdout,
        "Sessions held at once, then every dialogue at once (pause 100 ms)",
    );
    // design words, then: sessions held served errors ...
    let numbers = |row: &Vec<String>| -> Vec<String> {
        row.iter()
            .skip_while(|w| w.parse::<u64>().is_err())
            .cloned()
            .collect()
    };
    for design in ["03_server", "09_event_loop", "10_async_server"] {
        let row = held
            .iter()
            .find(|row| row[0] == design)
            .unwrap_or_else(|| panic!("no row for {design}:\n{}", out.stdout));
        assert_eq!(
            numbers(row)[..4],
            ["50", "50", "50", "0"],
            "{design} should hold and serve all 50 sessions, without errors:\n{}",
            out.stdout
        );
    }
    let workers = held
        .iter()
        .find(|row| row.iter().any(|w| w == "--workers"))
        .unwrap_or_else(|| panic!("no row for the workers:\n{}", out.stdout));
    assert_eq!(
        numbers(workers)[1..5],
        ["100", "100", "100", "0"],
        "10's two workers should hold and serve all 100 sessions:\n{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("not measured"),
        "the quick run cannot measure 19,000 sessions, and should say so:\n{}",
        out.stdout
    );
}
