//! Lesson 09 as a student meets it: the same dialogue tests as lesson 03's server, on
//! one thread, and a server that runs out of file descriptors and goes on.

mod common;
mod dialogue;

dialogue_tests!("09_event_loop");

#[cfg(unix)]
#[test]
fn survives_running_out_of_file_descriptors() {
    dialogue::survives_running_out_of_file_descriptors("09_event_loop");
}

#[test]
fn a_session_paused_does_not_hold_up_a_new_one() {
    // One thread serves both: while the first session waits out a long pause, the
    // second is welcomed and answered at once (its reply waits out its own pause).
    let (_server, addr) = dialogue::server("09_event_loop", "3000");
    let mut slow = common::Peer::connect(addr);
    slow.expect("Welcome!");
    slow.send(b"Michael");
    let mut next = common::Peer::connect(addr);
    next.expect("Welcome!");
    // A loop that slept through the pause would have answered Michael first.
    slow.stream.set_nonblocking(true).unwrap();
    let mut byte = [0; 1];
    let early = std::io::Read::read(&mut slow.stream, &mut byte);
    assert!(
        early.is_err_and(|e| e.kind() == std::io::ErrorKind::WouldBlock),
        "the paused session was answered before the new one was welcomed: the loop waited"
    );
}
