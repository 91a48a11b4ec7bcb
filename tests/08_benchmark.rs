//! Lesson 08: the benchmark runs every server, prints a row per server with the round
//! trips it measured, and writes the same numbers to its Markdown file.
//!
//! The test profile is a debug build: `--allow-debug` lets the benchmark run anyway
//! (its numbers then say little, and nothing here checks a speed).

mod common;

use common::{lessons, run};

/// The servers `--quick` measures (no Python in quick mode).
const SERVERS: [&str; 3] = ["03_server", "06_hardened_server", "floor"];

/// The rows of the terminal table titled `title`, each split into its cells.
fn text_rows(stdout: &str, title: &str) -> Vec<Vec<String>> {
    let mut lines = stdout.lines().skip_while(|line| *line != title).skip(2);
    std::iter::from_fn(|| lines.next().filter(|line| !line.is_empty()))
        .map(|line| line.split_whitespace().map(String::from).collect())
        .collect()
}

/// The body rows of the Markdown table under `#### title`, each split into its cells.
fn markdown_rows(markdown: &str, title: &str) -> Vec<Vec<String>> {
    let heading = format!("#### {title}");
    let mut lines = markdown.lines().skip_while(|line| *line != heading).skip(4);
    std::iter::from_fn(|| lines.next().filter(|line| line.starts_with('|')))
        .map(|line| {
            let inner = line.trim_matches('|');
            inner
                .split('|')
                .map(|cell| cell.trim().to_string())
                .collect()
        })
        .collect()
}

#[test]
fn quick_run_measures_every_server_and_writes_the_same_numbers_as_markdown() {
    // The benchmark starts the servers and 07_load built beside it.
    lessons(&["03_server", "06_hardened_server", "07_load", "08_benchmark"]);
    let file = std::env::temp_dir().join(format!("08_benchmark_{}.md", std::process::id()));
    let path = file.to_str().unwrap();
    let out = run(
        "08_benchmark",
        &["--quick", "--allow-debug", "--markdown", path],
        "",
    );
    let markdown = std::fs::read_to_string(&file).unwrap_or_default();
    let _ = std::fs::remove_file(&file);
    assert!(out.status.success(), "{}\n{}", out.stderr, out.stdout);

    let rows = text_rows(&out.stdout, "Round trips");
    for server in SERVERS {
        let mine: Vec<&Vec<String>> = rows.iter().filter(|row| row[0] == server).collect();
        assert!(!mine.is_empty(), "no row for {server}:\n{}", out.stdout);
        for row in mine {
            let round_trips: u64 = row[3].parse().unwrap();
            assert!(round_trips > 0, "{server} did no round trips: {row:?}");
            assert_eq!(row[7], "0", "{server} had errors: {row:?}");
        }
    }
    for title in ["Round trips", "Ratios of round trips/s"] {
        assert_eq!(
            text_rows(&out.stdout, title),
            markdown_rows(&markdown, title),
            "table {title:?} differs between the terminal and {path}:\n{markdown}"
        );
    }
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
fn the_floor_server_speaks_the_article_protocol() {
    let (_server, addr) = common::Running::server("08_benchmark", &["--floor-server"]);
    let mut peer = common::Peer::connect(addr);
    peer.expect("Welcome!");
    peer.send(b"Michael");
    peer.expect("Hello, Michael!");
    peer.send(b"exit");
    peer.expect_closed();
}
