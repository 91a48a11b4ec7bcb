//! # check: does your exercise work?
//!
//! ```text
//! cargo run --example check                      # every exercise, and which pass
//! cargo run --example check -- ex03_count        # build and check one exercise
//! cargo run --example check -- ex03_count --solution   # check its solution instead
//! ```
//!
//! It builds your exercise as cargo would, runs it as a black box over real sockets,
//! and prints each check with what was expected, what came back, and a hint. It exits
//! with status 0 only when every check passes.

use colored::Colorize;
use std::path::PathBuf;
use std::process::Command;
use std::thread;
use tcp_lessons::args::Args;
use tcp_lessons::check::{self, Exercise};
use tcp_lessons::say::fail;

const USAGE: &str = indoc::indoc! {"
    usage: check [EXERCISE] [--solution]

    Checks an exercise from lessons/exercises/: builds it, runs it, and says which
    checks pass. Without EXERCISE, lists every exercise and whether it passes.

      EXERCISE     such as ex03_count
      --solution   check the exercise's solution (lessons/solutions/) instead
      --help       show this text
"};

fn main() {
    let mut args = Args::from_env(USAGE);
    let solution = args.flag("--solution");
    let name = args.positional();
    args.finish();
    match name {
        Some(name) => check_one(&name, solution),
        None => list_all(solution),
    }
}

/// Builds and checks one exercise; exits 0 only if every check passes.
fn check_one(name: &str, solution: bool) {
    let Some(exercise) = check::find(name) else {
        let names: Vec<_> = check::exercises().iter().map(|e| e.name).collect();
        fail(format!(
            "no exercise {name:?}; there are: {}",
            names.join(", ")
        ));
    };
    let program = example_name(exercise, solution);
    println!("{} {program}: {}", "Checking".bold(), exercise.task);
    let binary = build(&[program.as_str()]);
    let results = check::run_checks(exercise, &binary[0]);
    let mut failed = 0;
    for (check, result) in &results {
        match result {
            Ok(()) => println!("  {} {}", "✓".green().bold(), check.what),
            Err(mismatch) => {
                failed += 1;
                println!("  {} {}", "✗".red().bold(), check.what);
                println!("      expected: {}", mismatch.expected);
                println!("      got:      {}", mismatch.got.yellow());
                println!("      {} {}", "hint:".cyan(), check.hint);
            }
        }
    }
    let passed = results.len() - failed;
    if failed == 0 {
        println!(
            "{}",
            format!("All {passed} checks pass. Well done!")
                .green()
                .bold()
        );
    } else {
        println!(
            "{}",
            format!("{passed} of {} checks pass.", results.len())
                .red()
                .bold()
        );
        std::process::exit(1);
    }
}

/// Builds every exercise, checks each, and prints one line per exercise.
fn list_all(solution: bool) {
    let exercises = check::exercises();
    let programs: Vec<String> = exercises
        .iter()
        .map(|e| example_name(e, solution))
        .collect();
    let names: Vec<&str> = programs.iter().map(String::as_str).collect();
    println!("Building {} exercises...", names.len());
    let binaries = build(&names);
    println!(
        "Checking them, all at once (a check that fails may wait {:?})...",
        check::WAIT
    );
    // Each exercise runs its own programs on its own ports: they can run side by side.
    let all_results: Vec<_> = thread::scope(|scope| {
        let runs: Vec<_> = exercises
            .iter()
            .zip(&binaries)
            .map(|(exercise, binary)| scope.spawn(move || check::run_checks(exercise, binary)))
            .collect();
        runs.into_iter()
            .map(|run| run.join().expect("a check panicked"))
            .collect()
    });
    for ((exercise, program), results) in exercises.iter().zip(&programs).zip(all_results) {
        let passed = results.iter().filter(|(_, r)| r.is_ok()).count();
        let mark = if passed == results.len() {
            "✓".green().bold()
        } else {
            "✗".red().bold()
        };
        println!(
            "{mark} {program:<28} {passed}/{} checks  ({}) {}",
            results.len(),
            exercise.lesson,
            exercise.task
        );
    }
    println!("Check one, with its hints: cargo run --example check -- NAME");
}

/// The example that holds the exercise, or its solution.
fn example_name(exercise: &Exercise, solution: bool) -> String {
    if solution {
        format!("{}_solution", exercise.name)
    } else {
        exercise.name.to_string()
    }
}

/// Builds the examples with cargo, as `cargo run` would, and returns their paths.
fn build(names: &[&str]) -> Vec<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["build", "--quiet"])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    for name in names {
        command.args(["--example", name]);
    }
    match command.status() {
        Ok(status) if status.success() => {}
        Ok(_) => fail("the build failed: cargo's messages above say where"),
        Err(err) => fail(format!("cannot run cargo: {err}")),
    }
    // This program is target/<profile>/examples/check: the others are its neighbours.
    let here = std::env::current_exe().unwrap_or_else(|err| fail(err));
    names
        .iter()
        .map(|name| here.with_file_name(format!("{name}{}", std::env::consts::EXE_SUFFIX)))
        .collect()
}
