//! `tcp_lessons`: what the lessons share, and nothing that is a lesson's point.
//!
//! The socket calls each lesson teaches stand in the lesson file itself. This library
//! holds only the incidental parts several lessons need:
//!
//! - [`args`]: the command line, with a `--help` text for every lesson;
//! - [`say`]: coloured, role-tagged output (`[server]`, `[client]`, `[kernel]`, `[note]`)
//!   and error lines written for people;
//! - [`parcel`]: the nested-layers renderer of lesson 01;
//! - [`framing`]: newline-delimited and length-prefixed messages, once lesson 05 has
//!   shown why a byte stream needs them;
//! - [`sys`]: facts read from the operating system, such as `somaxconn`;
//! - [`serve`]: lesson 03's accept loop, for exercises whose point is the session.

pub mod args;
pub mod framing;
pub mod parcel;
pub mod say;
pub mod serve;
pub mod sys;
