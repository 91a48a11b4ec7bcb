//! # check: does your exercise work?
//!
//! ```text
//! cargo exercise                            # every exercise, and which pass
//! cargo exercise ex03_count                 # build and check one exercise
//! cargo exercise ex03_count --solution      # check its solution instead
//! cargo exercise ex03_count --wrong         # what the checks say to known mistakes
//! ```
//!
//! (`cargo exercise` is an alias, in `.cargo/config.toml`, for
//! `cargo run -p exercises --`.) It builds your exercise with the profile it was built
//! with itself (and with `--features scale` for ex09 and ex10, whose crates the others
//! do not need), runs it as a black box over real sockets, and prints each check with
//! what was expected, what came back, and a hint. It exits with status 0 only when
//! every check passes.

use colored::Colorize;
use exercises::profile::Profile;
use exercises::wrong::{self, Wrong};
use exercises::{Exercise, Program, Results};
use std::path::PathBuf;
use std::process::Stdio;
use std::thread;
use tcp_lessons::args::Args;
use tcp_lessons::say::fail;

const USAGE: &str = indoc::indoc! {"
    usage: check [EXERCISE] [OPTIONS]

    Checks an exercise of lessons/exercises/: builds it, runs it as a black box over
    real sockets, and says which checks pass, with a hint for each one that fails.
    Without EXERCISE, lists every exercise and how many of its checks pass.

    arguments:
      EXERCISE      such as ex03_count

    options:
      --solution    check the exercise's solution (lessons/exercises/solutions/) instead
      --wrong       show what the checks say to each known wrong solution of the
                    exercise (lessons/exercises/wrong/)
      -h, --help    show this text

    examples:
      cargo exercise ex03_count
      cargo exercise ex03_count --solution
      cargo run -p exercises -- ex03_count
"};

fn main() {
    let mut args = Args::from_env(USAGE);
    let solution = args.flag("--solution");
    let wrong = args.flag("--wrong");
    let name = args.positional();
    args.finish();
    match (name, wrong) {
        (Some(name), false) => check_one(find(&name), solution),
        (Some(name), true) => check_wrong(find(&name)),
        (None, false) => list_all(solution),
        (None, true) => fail("--wrong needs an exercise, such as: cargo exercise ex03_who --wrong"),
    }
}

/// The exercise called `name`, or a clear line and exit status 2.
fn find(name: &str) -> &'static Exercise {
    exercises::find(name).unwrap_or_else(|| {
        let names: Vec<_> = exercises::exercises().iter().map(|e| e.name).collect();
        eprintln!("no exercise {name:?}; there are: {}", names.join(", "));
        std::process::exit(2);
    })
}

/// Builds and checks one exercise; exits 0 only if every check passes.
fn check_one(exercise: &Exercise, solution: bool) {
    let program = program_name(exercise, solution);
    println!("{} {program}: {}", "Checking".bold(), exercise.task);
    let binary = build(&[program.as_str()], exercise.features()).remove(0);
    let results = checked(exercise, &Program::new(&binary));
    let failed = print_results(&results);
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

/// Prints each check: ✓, or ✗ with what was expected, what came back, and the hint.
/// Returns how many failed.
fn print_results(results: &Results) -> usize {
    let mut failed = 0;
    for (check, result) in results {
        match result {
            Ok(()) => println!("  {} {}", "✓".green().bold(), check.what),
            Err(mismatch) => {
                failed += 1;
                println!("  {} {}", "✗".red().bold(), check.what);
                println!("      expected: {}", mismatch.expected);
                println!("      got:      {}", mismatch.got.yellow());
                println!("      {} {}", "hint:".cyan(), wrapped(check.hint, 12));
            }
        }
    }
    failed
}

/// `text` in lines of at most 90 columns, the second and later ones indented by
/// `indent` spaces (the first is printed after a label as wide).
fn wrapped(text: &str, indent: usize) -> String {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let line = lines.last_mut().expect("one line at least");
        if !line.is_empty() && indent + line.chars().count() + 1 + word.chars().count() > 90 {
            lines.push(word.to_string());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines.join(&format!("\n{}", " ".repeat(indent)))
}

/// Runs the checks; a program that cannot be started at all is said so, plainly.
fn checked(exercise: &Exercise, program: &Program) -> Results {
    exercises::run_checks(exercise, program).unwrap_or_else(|not_started| fail(not_started))
}

/// Checks every wrong solution of the exercise and shows what the checker says to each.
fn check_wrong(exercise: &'static Exercise) {
    let wrongs: Vec<&Wrong> = wrong::of(exercise.name).collect();
    if wrongs.is_empty() {
        fail(format!("{} has no wrong solutions", exercise.name));
    }
    let binary = build(&["wrong"], exercise.features()).remove(0);
    println!(
        "{} the {} wrong solutions of {} (lessons/exercises/wrong/{}/):",
        "Checking".bold(),
        wrongs.len(),
        exercise.name,
        exercise.name
    );
    let all: Vec<Results> = thread::scope(|scope| {
        let runs: Vec<_> = wrongs
            .iter()
            .map(|w| {
                let program = Program::wrong(&binary, &w.id());
                scope.spawn(move || checked(exercise, &program))
            })
            .collect();
        runs.into_iter()
            .map(|run| run.join().expect("a check panicked"))
            .collect()
    });
    for (w, results) in wrongs.iter().zip(all) {
        println!("\n{} {}: {}", "Mistake".bold(), w.name, w.mistake);
        let failed = print_results(&results);
        if failed == 0 {
            println!(
                "  {}",
                "every check passes: the checker misses this mistake".red()
            );
        }
    }
}

/// Builds every exercise, checks each, and prints one line per exercise. One that does
/// not compile is said so, and the others are checked all the same.
fn list_all(solution: bool) {
    let exercises = exercises::exercises();
    let programs: Vec<String> = exercises
        .iter()
        .map(|e| program_name(e, solution))
        .collect();
    let names: Vec<&str> = programs.iter().map(String::as_str).collect();
    println!("Building {} exercises...", names.len());
    let profile = profile();
    let mut binaries: Vec<Option<PathBuf>> = vec![None; names.len()];
    // One build for the exercises that need no feature, one with `--features scale` for
    // those that need it (ex09, ex10), and so on.
    let mut groups: Vec<&[&str]> = exercises.iter().map(|e| e.features()).collect();
    groups.sort();
    groups.dedup();
    for features in groups {
        let members: Vec<usize> = (0..names.len())
            .filter(|&i| exercises[i].features() == features)
            .collect();
        let group: Vec<&str> = members.iter().map(|&i| names[i]).collect();
        let all_built = cargo_build(&profile, &group, features, false);
        for i in members {
            // One at a time after a failure, to tell the ones that compile from the others.
            let built = all_built || cargo_build(&profile, &[names[i]], features, false);
            binaries[i] = built.then(|| profile.program(names[i]));
        }
    }
    println!(
        "Checking them, all at once (a check that fails may wait {:?})...",
        exercises::WAIT
    );
    // Each exercise runs its own programs on its own ports: they can run side by side.
    let all_results: Vec<Option<Results>> = thread::scope(|scope| {
        let runs: Vec<_> = exercises
            .iter()
            .zip(&binaries)
            .map(|(exercise, binary)| {
                scope.spawn(move || {
                    binary
                        .as_ref()
                        .map(|binary| checked(exercise, &Program::new(binary)))
                })
            })
            .collect();
        runs.into_iter()
            .map(|run| run.join().expect("a check panicked"))
            .collect()
    });
    for ((exercise, program), results) in exercises.iter().zip(&programs).zip(all_results) {
        let Some(results) = results else {
            println!(
                "{} {program:<28} does not compile{}: `cargo exercise {}{}` shows cargo's messages",
                "✗".red().bold(),
                with_features(exercise.features()),
                exercise.name,
                if solution { " --solution" } else { "" }
            );
            continue;
        };
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
    println!("Check one, with its hints: cargo exercise NAME");
}

/// The program that holds the exercise, or its solution.
fn program_name(exercise: &Exercise, solution: bool) -> String {
    if solution {
        format!("{}_solution", exercise.name)
    } else {
        exercise.name.to_string()
    }
}

/// The profile this checker was built with: the programs it checks are built with it.
fn profile() -> Profile {
    Profile::current()
        .unwrap_or_else(|err| fail(format!("cannot tell where the checker runs from: {err}")))
}

/// Builds the programs with cargo, with this checker's own profile and the cargo
/// `features` they need, and returns their paths: beside this checker. Exits with
/// cargo's messages if they do not compile.
fn build(names: &[&str], features: &[&str]) -> Vec<PathBuf> {
    let profile = profile();
    if !cargo_build(&profile, names, features, true) {
        if features.is_empty() {
            fail("the build failed: cargo's messages above say where");
        }
        // The feature brings in crates of its own (mio, tokio): say how it was built, so
        // that a failure there is not taken for a mistake in the exercise.
        let bins: Vec<String> = names.iter().map(|name| format!("--bin {name}")).collect();
        fail(format!(
            "the build{} failed: cargo's messages above say where. The feature brings in \
             crates that the other exercises do not need; `cargo build -p exercises \
             --features {} {}` builds this one alone, with them",
            with_features(features),
            features.join(","),
            bins.join(" ")
        ));
    }
    names.iter().map(|name| profile.program(name)).collect()
}

/// ` (with --features scale)` for a build with features, nothing for one without.
fn with_features(features: &[&str]) -> String {
    if features.is_empty() {
        String::new()
    } else {
        format!(" (with --features {})", features.join(","))
    }
}

/// Runs `cargo build` for the programs, with `features`; whether they built. Cargo's
/// messages reach the terminal only if `show`.
fn cargo_build(profile: &Profile, names: &[&str], features: &[&str], show: bool) -> bool {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = profile.build_command(&cargo, names, features);
    if !show {
        command.stderr(Stdio::null());
    }
    match command.status() {
        Ok(status) => status.success(),
        Err(err) => fail(format!("cannot run cargo: {err}")),
    }
}
