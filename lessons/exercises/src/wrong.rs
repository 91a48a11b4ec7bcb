//! The wrong solutions: the mistakes students really make, each one the checker must
//! reject with a hint that names it.
//!
//! Each is a file `wrong/EXERCISE/MISTAKE.txt`: the mistake in words, the words its
//! hint must contain, and the mistake itself as a change to the exercise's solution.
//! `build.rs` applies the changes; the program `wrong` holds every wrong solution and
//! becomes the one named in its environment variable [`WHICH`].
//! `cargo exercise ex03_who --wrong` shows what the checker says to each.

/// The environment variable that tells the program `wrong` which one to be:
/// `EXERCISE/MISTAKE`, such as `ex03_who/extra_reply`.
pub const WHICH: &str = "EXERCISES_WRONG";

/// One wrong solution.
#[derive(Debug)]
pub struct Wrong {
    /// The exercise, such as `ex03_who`.
    pub exercise: &'static str,
    /// The mistake's file name, such as `extra_reply`.
    pub name: &'static str,
    /// The mistake in words.
    pub mistake: &'static str,
    /// Words that the hint of the check that rejects it contains.
    pub hint: &'static str,
    /// The one system where the mistake shows (as `std::env::consts::OS` names it), if
    /// it shows on one only.
    pub os: Option<&'static str>,
    /// The cargo features it needs, as its solution does (`["scale"]` for ex09, ex10).
    pub features: &'static [&'static str],
    /// Why build.rs could not make it (its change no longer applies to the solution).
    pub problem: Option<&'static str>,
}

impl Wrong {
    /// `EXERCISE/MISTAKE`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.exercise, self.name)
    }
}

include!(concat!(env!("OUT_DIR"), "/wrong_list.rs"));

/// The wrong solutions of `exercise`.
pub fn of(exercise: &str) -> impl Iterator<Item = &'static Wrong> + '_ {
    ALL.iter().filter(move |w| w.exercise == exercise)
}
