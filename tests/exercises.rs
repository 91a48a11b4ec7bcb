//! The exercises are honest: every check passes on every solution, and every starter,
//! as shipped, fails at least one check (no exercise comes already solved).

mod common;

use std::path::PathBuf;
use std::thread;
use tcp_lessons::check::{self, Exercise};

/// The starter or solution of every exercise, built at once.
fn built(solution: bool) -> Vec<(&'static Exercise, PathBuf)> {
    let exercises = check::exercises();
    let names: Vec<String> = exercises
        .iter()
        .map(|e| match solution {
            true => format!("{}_solution", e.name),
            false => e.name.to_string(),
        })
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    exercises.into_iter().zip(common::lessons(&names)).collect()
}

/// Runs every exercise's checks on the given programs, each exercise in its own thread;
/// returns, per exercise, the checks that failed with what they said.
fn failures(programs: Vec<(&'static Exercise, PathBuf)>) -> Vec<(&'static str, Vec<String>)> {
    thread::scope(|scope| {
        let runs: Vec<_> = programs
            .iter()
            .map(|(exercise, binary)| {
                scope.spawn(move || {
                    let failed = check::run_checks(exercise, binary)
                        .into_iter()
                        .filter_map(|(check, result)| {
                            result.err().map(|m| {
                                format!("{}: expected {}, got {}", check.what, m.expected, m.got)
                            })
                        })
                        .collect();
                    (exercise.name, failed)
                })
            })
            .collect();
        runs.into_iter().map(|run| run.join().unwrap()).collect()
    })
}

#[test]
fn every_solution_passes_every_check() {
    let broken: Vec<String> = failures(built(true))
        .into_iter()
        .filter(|(_, failed)| !failed.is_empty())
        .map(|(name, failed)| format!("{name}_solution:\n  {}", failed.join("\n  ")))
        .collect();
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn every_starter_fails_a_check() {
    // Only the first failure is needed, so a starter stops at it: the suite stays fast.
    let solved: Vec<&str> = thread::scope(|scope| {
        let runs: Vec<_> = built(false)
            .into_iter()
            .map(|(exercise, binary)| {
                scope.spawn(move || match check::first_failure(exercise, &binary) {
                    Some(_) => None,
                    None => Some(exercise.name),
                })
            })
            .collect();
        runs.into_iter()
            .filter_map(|run| run.join().unwrap())
            .collect()
    });
    assert!(
        solved.is_empty(),
        "these starters pass every check as shipped: {solved:?}"
    );
}

#[test]
fn there_are_two_exercises_or_more_per_lesson() {
    for lesson in ["01", "02", "03", "04", "05", "06"] {
        let count = check::exercises()
            .iter()
            .filter(|e| e.lesson.starts_with(lesson) && e.name.starts_with(&format!("ex{lesson}_")))
            .count();
        assert!(count >= 2, "lesson {lesson} has {count} exercises");
    }
}

#[test]
fn every_check_has_a_hint_and_every_exercise_a_task() {
    for exercise in check::exercises() {
        assert!(!exercise.task.is_empty(), "{}", exercise.name);
        assert!(
            !exercise.checks.is_empty(),
            "{} has no checks",
            exercise.name
        );
        for check in exercise.checks {
            assert!(
                !check.hint.is_empty(),
                "{}: {:?} has no hint",
                exercise.name,
                check.what
            );
        }
    }
}

#[test]
fn the_book_lists_every_exercise() {
    let page = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/book/src/exercises.md"
    ))
    .expect("book/src/exercises.md");
    for exercise in check::exercises() {
        assert!(
            page.contains(&format!("`{}`", exercise.name)),
            "book/src/exercises.md does not list {}",
            exercise.name
        );
    }
}
