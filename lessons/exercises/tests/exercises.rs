//! The exercises are honest: every check passes on every solution; every starter, as
//! shipped, fails at least one check (no exercise comes already solved); and every
//! wrong solution under `wrong/` is rejected, by a check whose hint names its mistake.
//!
//! A starter that differs from the one shipped (a student's own work) is left out of
//! the starter test, with a line saying so: solving an exercise never turns this red.

use exercises::profile::Profile;
use exercises::wrong::{self, Wrong};
use exercises::{Exercise, Program, features, shipped};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;

/// Where cargo put this package's programs for this test run: beside the checker.
fn built(name: &str) -> PathBuf {
    Profile::of(Path::new(env!("CARGO_BIN_EXE_check"))).program(name)
}

/// Says a line on stderr even when the test passes: written to the stream itself, not
/// through `eprintln!`, whose output the test harness keeps to itself for tests that pass.
fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Runs `work` for each item, each in a thread of its own, and collects the answers.
fn side_by_side<T: Sync, R: Send>(items: &[T], work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    thread::scope(|scope| {
        let runs: Vec<_> = items
            .iter()
            .map(|item| scope.spawn(|| work(item)))
            .collect();
        runs.into_iter().map(|run| run.join().unwrap()).collect()
    })
}

/// The exercises whose programs this build has: those that need a cargo feature that is
/// off (ex09 and ex10 need `scale`) are left out, with a line saying how to test them.
fn testable() -> Vec<&'static Exercise> {
    exercises::exercises()
        .into_iter()
        .filter(|exercise| {
            let on = features::on(exercise.features());
            if !on {
                say(&format!(
                    "left out: {} needs --features {} (cargo test -p exercises --features {})",
                    exercise.name,
                    exercise.features().join(","),
                    exercise.features().join(",")
                ));
            }
            on
        })
        .collect()
}

#[test]
fn every_solution_passes_every_check() {
    let exercises = testable();
    let broken: Vec<String> = side_by_side(&exercises, |exercise| {
        let program = Program::new(&built(&format!("{}_solution", exercise.name)));
        let failed: Vec<String> = exercises::run_checks(exercise, &program)
            .unwrap_or_else(|not_started| panic!("{not_started}"))
            .into_iter()
            .filter_map(|(check, result)| {
                result
                    .err()
                    .map(|m| format!("{}: expected {}, got {}", check.what, m.expected, m.got))
            })
            .collect();
        (!failed.is_empty())
            .then(|| format!("{}_solution:\n  {}", exercise.name, failed.join("\n  ")))
    })
    .into_iter()
    .flatten()
    .collect();
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

/// Set in CI (`.ci/run`), where the starters are those of the commit: a starter that
/// differs from its recorded fingerprint is then a fingerprint someone forgot to update.
const AS_SHIPPED: &str = "EXERCISES_AS_SHIPPED";

#[test]
fn every_starter_as_shipped_fails_a_check() {
    if std::env::var_os("UPDATE_FINGERPRINTS").is_some() {
        update_fingerprints();
    }
    let strict = std::env::var_os(AS_SHIPPED).is_some();
    let (shipped, changed): (Vec<&Exercise>, Vec<&Exercise>) = exercises::exercises()
        .into_iter()
        .partition(|e| shipped::is_shipped(e.name));
    // Every starter's fingerprint is checked above; only those this build has are run.
    let shipped: Vec<&Exercise> = shipped
        .into_iter()
        .filter(|e| features::on(e.features()))
        .collect();
    for exercise in &changed {
        say(&format!(
            "left out: {} differs from the starter as shipped (your own work?), so \
             whether it fails a check is not tested",
            shipped::starter_file(exercise.name).display()
        ));
    }
    assert!(
        !strict || changed.is_empty(),
        "{AS_SHIPPED} is set, yet these starters differ from their fingerprints in {}: {:?}. \
         After changing a starter on purpose, UPDATE_FINGERPRINTS=1 cargo test -p exercises \
         records it.",
        shipped::fingerprints_file().display(),
        changed.iter().map(|e| e.name).collect::<Vec<_>>()
    );
    // Only the first failure is needed, so a starter stops at it: the suite stays fast.
    let solved: Vec<&str> = side_by_side(&shipped, |exercise| {
        let program = Program::new(&built(exercise.name));
        match exercises::first_failure(exercise, &program) {
            Ok(Some(_)) => None,
            Ok(None) => Some(exercise.name),
            Err(not_started) => panic!("{not_started}"),
        }
    })
    .into_iter()
    .flatten()
    .collect();
    assert!(
        solved.is_empty(),
        "these starters pass every check as shipped: {solved:?}"
    );
}

/// Records the fingerprint of every starter as it is now.
fn update_fingerprints() {
    let mut text = String::from(
        "# The starters as shipped: NAME FINGERPRINT (see src/shipped.rs). After changing a\n\
         # starter on purpose: UPDATE_FINGERPRINTS=1 cargo test -p exercises\n",
    );
    for exercise in exercises::exercises() {
        let print = shipped::current(exercise.name)
            .unwrap_or_else(|| panic!("no starter {}", exercise.name));
        text.push_str(&format!("{} {print}\n", exercise.name));
    }
    fs::write(shipped::fingerprints_file(), text).unwrap();
}

#[test]
fn every_wrong_solution_is_rejected_by_a_check_whose_hint_names_its_mistake() {
    let all: Vec<&Wrong> = wrong::ALL.iter().collect();
    let escaped: Vec<String> = side_by_side(&all, |w| {
        let id = w.id();
        if let Some(problem) = w.problem {
            return Some(format!("{id}: not made: {problem}"));
        }
        if !features::on(w.features) {
            say(&format!(
                "left out: {id} needs --features {}",
                w.features.join(",")
            ));
            return None;
        }
        if w.os.is_some_and(|os| os != std::env::consts::OS) {
            say(&format!(
                "left out: {id} shows on {} only",
                w.os.unwrap_or_default()
            ));
            return None;
        }
        let Some(exercise) = exercises::find(w.exercise) else {
            return Some(format!("{id}: there is no exercise {}", w.exercise));
        };
        // The checks that name this mistake in their hint: one of them must fail.
        let naming: Vec<_> = exercise
            .checks
            .iter()
            .filter(|check| !w.hint.is_empty() && check.hint.contains(w.hint))
            .collect();
        if naming.is_empty() {
            return Some(format!("{id}: no check's hint contains {:?}", w.hint));
        }
        let program = Program::wrong(&built("wrong"), &id);
        let rejected = naming.iter().any(|check| (check.run)(&program).is_err());
        (!rejected).then(|| {
            format!(
                "{id} ({}) passes the checks whose hint names it ({:?})",
                w.mistake, w.hint
            )
        })
    })
    .into_iter()
    .flatten()
    .collect();
    assert!(escaped.is_empty(), "{}", escaped.join("\n"));
}

#[test]
fn every_exercise_has_two_wrong_solutions_or_more() {
    for exercise in exercises::exercises() {
        let count = wrong::of(exercise.name).count();
        assert!(
            count >= 2,
            "{} has {count} wrong solutions under wrong/{}/",
            exercise.name,
            exercise.name
        );
    }
}

/// An exercise's starter, its solution and its wrong solutions need the same features
/// (Cargo.toml's `required-features`): the checker builds them all with those.
#[test]
fn an_exercise_its_solution_and_its_mistakes_need_the_same_features() {
    for exercise in exercises::exercises() {
        let solution = format!("{}_solution", exercise.name);
        assert_eq!(
            exercise.features(),
            features::of(&solution),
            "Cargo.toml: {} and {solution} should have the same required-features",
            exercise.name
        );
        for w in wrong::of(exercise.name) {
            assert_eq!(w.features, exercise.features(), "{}", w.id());
        }
    }
    // The lessons' own feature, for the exercises on lessons 09 and 10.
    for name in ["ex09_count", "ex10_total"] {
        assert_eq!(features::of(name), ["scale"], "{name}");
    }
}

#[test]
fn there_are_two_exercises_or_more_per_lesson() {
    for lesson in ["01", "02", "03", "04", "05", "06"] {
        let count = exercises::exercises()
            .iter()
            .filter(|e| e.lesson.starts_with(lesson) && e.name.starts_with(&format!("ex{lesson}_")))
            .count();
        assert!(count >= 2, "lesson {lesson} has {count} exercises");
    }
}

#[test]
fn every_check_has_a_hint_and_every_exercise_a_task() {
    for exercise in exercises::exercises() {
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

/// The book, two folders up.
fn book_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../book/src")
        .join(path)
}

#[test]
fn the_book_lists_every_exercise() {
    let page = fs::read_to_string(book_file("exercises.md")).expect("book/src/exercises.md");
    for exercise in exercises::exercises() {
        assert!(
            page.contains(&format!("`{}`", exercise.name)),
            "book/src/exercises.md does not list {}",
            exercise.name
        );
    }
}

/// The book's example of the checker's output: the starter of ex03_count as shipped.
/// `UPDATE_TRANSCRIPTS=1 cargo test -p exercises` rewrites it.
#[test]
fn the_books_transcript_of_the_checker_is_what_it_prints() {
    if !shipped::is_shipped("ex03_count") {
        say("left out: the book's transcript of ex03_count, whose starter is not as shipped");
        return;
    }
    let out = Command::new(built("check"))
        .arg("ex03_count")
        .env("NO_COLOR", "1")
        .env("CARGO", env!("CARGO"))
        .output()
        .unwrap();
    let fresh = format!(
        "$ cargo exercise ex03_count\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let path = book_file("transcripts/check_ex03_count.txt");
    let stored = fs::read_to_string(&path).unwrap_or_default();
    if stored != fresh {
        if std::env::var_os("UPDATE_TRANSCRIPTS").is_some() {
            fs::write(&path, &fresh).unwrap();
        } else {
            panic!(
                "{} differs from what the checker prints now \
                 (UPDATE_TRANSCRIPTS=1 cargo test -p exercises rewrites it):\n\
                 --- stored\n{stored}\n--- printed now\n{fresh}",
                path.display()
            );
        }
    }
}

/// The checker builds ex09 and ex10 with `--features scale` (and ex03 without): `echo`
/// plays cargo and prints how it was called, and builds nothing, so the checker then
/// says in one line that it cannot start the program.
#[test]
#[cfg(unix)]
fn the_checker_builds_an_exercise_with_the_features_it_needs() {
    for (name, wanted) in [
        ("ex09_count", Some("scale")),
        ("ex10_total", Some("scale")),
        ("ex03_count", None),
    ] {
        let out = Command::new(built("check"))
            .arg(name)
            .env("CARGO", "echo")
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let cargo = stdout
            .lines()
            .find(|l| l.starts_with("build "))
            .unwrap_or_default();
        let args: Vec<&str> = cargo.split_whitespace().collect();
        let features = args
            .iter()
            .position(|a| *a == "--features")
            .and_then(|i| args.get(i + 1).copied());
        assert_eq!(
            features, wanted,
            "the checker should build {name} with --features {wanted:?}; cargo got: {cargo:?}"
        );
        assert!(cargo.contains(&format!("--bin {name}")), "{cargo:?}");
    }
}

/// A folder of this test's own, in cargo's temporary folder inside `target/`.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// A checker built with the release profile builds with `--release` and runs the
/// program from target/release; when that program cannot be started, it says so in one
/// plain line and shows no hint (the student's code is not to blame). The checker here
/// is the test build, linked into a `release` folder, and `echo` plays cargo: it prints
/// how it was called and builds nothing. (A link, not a copy: a program this test wrote
/// could not be started while another test's child still held it open, "text file
/// busy".)
#[test]
#[cfg(unix)]
fn a_release_checker_builds_release_and_says_plainly_when_a_program_will_not_start() {
    let dir = scratch("release");
    let release = dir.join("release");
    fs::create_dir_all(&release).unwrap();
    let checker = release.join("check");
    fs::hard_link(built("check"), &checker).unwrap();

    let out = Command::new(&checker)
        .arg("ex03_count")
        .env("CARGO", "echo")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let _ = fs::remove_dir_all(&dir);

    // echo's line: cargo's arguments.
    let cargo = stdout
        .lines()
        .find(|l| l.starts_with("build "))
        .unwrap_or_default();
    assert!(
        cargo.split_whitespace().any(|a| a == "--release"),
        "a release checker should build with --release; cargo got: {cargo:?}\n{stdout}"
    );
    assert!(
        cargo.contains("--bin ex03_count"),
        "cargo should build ex03_count; it got: {cargo:?}"
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout {stdout}\nstderr {stderr}"
    );
    let missing = release.join("ex03_count");
    assert!(
        stderr.contains("cannot start") && stderr.contains(&missing.display().to_string()),
        "the checker should say it cannot start {}; it said: {stderr}",
        missing.display()
    );
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(
        !stdout.contains("hint:") && !stdout.contains('✗'),
        "no check should run, and no hint blame the code: {stdout}"
    );
}
