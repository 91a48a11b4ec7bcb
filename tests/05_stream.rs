//! Lesson 05: each way "one read = one message" breaks against 03_server, and both
//! framings putting the messages back together.

mod common;

use common::run;

/// Runs 05_stream with the 03_server it starts itself, as a student does.
fn stream_lesson() -> String {
    common::lesson("03_server"); // 05 starts the 03_server built beside it
    let out = run("05_stream", &["--pause-ms", "200"], "");
    assert!(out.status.success(), "{}\n{}", out.stdout, out.stderr);
    out.stdout
}

fn lines_with<'a>(out: &'a str, needles: &[&str]) -> Vec<&'a str> {
    out.lines()
        .filter(|line| needles.iter().all(|n| line.contains(n)))
        .collect()
}

#[test]
fn every_trap_shows_and_both_framings_fix_it() {
    let out = stream_lesson();

    // 1. Two writes, one read.
    assert!(
        out.contains(r#"[client] read 20 bytes "Hello, MichaelTracy!""#),
        "{out}"
    );

    // 2. 3000 bytes: three server reads (1024, 1024, 952), three greetings.
    let server_reads = |n: &str| lines_with(&out, &[&format!("[server] read {n} bytes"), "\"AAAA"]);
    assert_eq!(server_reads("1024").len(), 2, "{out}");
    assert_eq!(server_reads("952").len(), 1, "{out}");
    assert_eq!(
        lines_with(&out, &["[client] read", "\"Hello, AAAA"]).len(),
        3,
        "{out}"
    );

    // 3. 张三 cut after 1024 bytes: both halves lose a character to U+FFFD.
    assert!(out.contains("e5 bc a0 e4 b8 89"), "{out}");
    assert!(out.contains("x\u{FFFD}!\""), "{out}");
    assert!(
        out.contains(r#"[client] read 14 bytes "Hello, �三!""#),
        "{out}"
    );

    // 4. After shutdown(Write) the reply still comes, then 0 bytes.
    let half_close = out
        .split("shutdown(Write)")
        .nth(1)
        .expect("no half-close section");
    let reply = half_close
        .find(r#"read 15 bytes "Hello, Michael!""#)
        .expect(&out);
    let closed = half_close
        .find("read 0 bytes: the server closed its side too")
        .expect(&out);
    assert!(reply < closed, "{out}");

    // 5. Lines: whole messages whatever the cut, an over-long line refused.
    let lines = lines_with(&out, &["read_line -> "]);
    assert_eq!(
        lines,
        [
            r#"[server] read_line -> "Michael""#,
            r#"[server] read_line -> "Tracy""#,
            r#"[server] read_line -> "张三""#,
            "[server] read_line -> end of stream, between messages",
            "[server] read_line -> error: message longer than the limit of 1024 bytes",
        ],
        "{out}"
    );

    // 6. Length prefix: big-endian, whole messages, a cut frame is an error.
    assert!(
        out.contains("big-endian (network byte order) 00 00 00 07"),
        "{out}"
    );
    let frames = lines_with(&out, &["read_frame -> "]);
    assert_eq!(
        frames,
        [
            r#"[server] read_frame -> "Michael""#,
            r#"[server] read_frame -> "Tracy""#,
            r#"[server] read_frame -> "张三""#,
            "[server] read_frame -> end of stream, between messages",
            "[server] read_frame -> error: the connection closed in the middle of a message \
             (6 bytes of it came)",
        ],
        "{out}"
    );
}

#[test]
fn no_server_at_the_address_gives_one_clear_line() {
    let addr = common::nothing_listening();
    let out = run("05_stream", &[&addr.to_string()], "");
    assert!(!out.status.success());
    assert_eq!(
        out.stderr.trim_end(),
        format!("05_stream: connection refused: is 03_server running on {addr}?")
    );
}
