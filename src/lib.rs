//! `tcp_lessons`: what the lessons share, and nothing that is a lesson's point.
//!
//! The socket calls each lesson teaches stand in the lesson file itself. This library
//! holds only the incidental parts several lessons need:
//!
//! - [`args`]: the command line, with a `--help` text for every lesson;
//! - [`say`]: coloured, role-tagged output (`[server]`, `[client]`, `[kernel]`, `[note]`),
//!   error lines written for people, and a server's log that never holds up a session;
//! - [`parcel`]: the nested-layers renderer of lesson 01;
//! - [`framing`]: newline-delimited and length-prefixed messages, once lesson 05 has
//!   shown why a byte stream needs them;
//! - [`sys`]: facts read from the operating system, such as `somaxconn`;
//! - [`ceiling`]: how many sessions, a thread and a socket each, this machine can hold;
//! - [`serve`]: lesson 03's accept loop, for exercises whose point is the session;
//! - [`article`]: the article's protocol as lesson 03 speaks it, for lessons 09 and 10;
//! - [`sibling`]: another lesson's program, started and stopped by a lesson (12's
//!   `--live` runs 03_server and 04_client).

pub mod args;
pub mod article;
pub mod ceiling;
pub mod framing;
pub mod parcel;
pub mod say;
pub mod serve;
pub mod sibling;
pub mod sys;
