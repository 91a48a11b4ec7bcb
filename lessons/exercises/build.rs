//! Makes the wrong solutions: each file `wrong/EXERCISE/MISTAKE.txt` describes one
//! mistake as a change to the solution `solutions/EXERCISE.rs`, and this script applies
//! it. One copy of every line: a wrong solution is its solution, plus its mistake.
//!
//! A file reads:
//!
//! ```text
//! The mistake in words, up to the first blank line.
//! hint: words that the hint of the check that rejects it must contain
//! os: linux   (only where the mistake shows on one system; this line is optional)
//!
//! -the lines of the solution to take out (each after a `-`)
//! +the lines to put in their place (each after a `+`)
//! ```
//!
//! Several such blocks may follow, each separated by a line that starts with neither
//! sign. Each `-` block must stand exactly once in the solution.
//!
//! Out come, in OUT_DIR, `wrong_list.rs` (the list, for the checker) and
//! `wrong_programs.rs` (every wrong solution as a module, for the program `wrong`). A
//! mistake that no longer applies becomes a program that says so, and the list says
//! why: the package's tests fail on it, but a student's checker still builds.
//!
//! Some exercises need a cargo feature (ex09 and ex10 need `scale`: mio, tokio), as
//! their programs say in Cargo.toml (`required-features`). A wrong solution needs what
//! its solution needs: built without it, it becomes a program that says which feature
//! is missing. And `features.rs` tells the checker what each program requires and which
//! features this build has on: one list, Cargo.toml's.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

struct Mistake {
    exercise: String,
    name: String,
    words: String,
    hint: String,
    os: Option<String>,
    /// The cargo features its solution requires.
    features: Vec<String>,
    /// The wrong program's source, or why it could not be made.
    source: Result<String, String>,
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    println!("cargo::rerun-if-changed=wrong");
    println!("cargo::rerun-if-changed=solutions");
    println!("cargo::rerun-if-changed=Cargo.toml");
    let manifest = fs::read_to_string(root.join("Cargo.toml")).unwrap_or_default();
    let required = required_features(&manifest);
    let needs = |program: &str| -> Vec<String> {
        required
            .iter()
            .find(|(name, _)| name == program)
            .map(|(_, features)| features.clone())
            .unwrap_or_default()
    };
    let mut mistakes = Vec::new();
    for exercise in sorted_entries(&root.join("wrong")) {
        let Some(exercise_name) = file_name(&exercise) else {
            continue;
        };
        for file in sorted_entries(&exercise) {
            if file.extension().and_then(|e| e.to_str()) != Some("txt") {
                continue;
            }
            println!("cargo::rerun-if-changed={}", file.display());
            let name = file
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            let solution = root.join("solutions").join(format!("{exercise_name}.rs"));
            let mut mistake = read_mistake(&exercise_name, &name, &file, &solution);
            mistake.features = needs(&format!("{exercise_name}_solution"));
            mistakes.push(mistake);
        }
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it"));
    write_if_changed(&out.join("wrong_list.rs"), &list(&mistakes));
    write_if_changed(&out.join("wrong_programs.rs"), &programs(&mistakes));
    write_if_changed(&out.join("features.rs"), &features(&required));
}

/// Every `[[bin]]` of Cargo.toml that has `required-features`: its name and those
/// features. (Reads the plain form this package writes: `name = "..."` and
/// `required-features = ["...", ...]`, each on a line of its own.)
fn required_features(manifest: &str) -> Vec<(String, Vec<String>)> {
    let mut all = Vec::new();
    for block in manifest.split("[[bin]]").skip(1) {
        // The block ends where the next table begins.
        let block = block.split("\n[").next().unwrap_or_default();
        let value = |key: &str| {
            block.lines().find_map(|line| {
                let rest = line.trim().strip_prefix(key)?.trim_start();
                rest.strip_prefix('=').map(str::trim)
            })
        };
        let (Some(name), Some(list)) = (value("name"), value("required-features")) else {
            continue;
        };
        let features = list
            .trim_start_matches('[')
            .trim_end_matches(']')
            .split(',')
            .map(|f| f.trim().trim_matches('"').to_string())
            .filter(|f| !f.is_empty())
            .collect();
        all.push((name.trim_matches('"').to_string(), features));
    }
    all
}

/// Whether this build has `feature` on: cargo tells a build script by CARGO_FEATURE_*.
fn enabled(feature: &str) -> bool {
    let var = format!("CARGO_FEATURE_{}", feature.to_uppercase().replace('-', "_"));
    std::env::var_os(var).is_some()
}

/// `features.rs`: what each program requires, and which of those features are on.
fn features(required: &[(String, Vec<String>)]) -> String {
    let mut out = String::from(
        "/// The programs of Cargo.toml that need cargo features (`required-features`).\n\
         pub const REQUIRED: &[(&str, &[&str])] = &[\n",
    );
    let mut all: Vec<&String> = Vec::new();
    for (name, features) in required {
        let _ = writeln!(out, "    ({name:?}, &{features:?}),");
        all.extend(features);
    }
    out.push_str("];\n/// The features among those that this build has on.\n");
    all.sort();
    all.dedup();
    let on: Vec<&String> = all.into_iter().filter(|f| enabled(f)).collect();
    let _ = writeln!(out, "pub const ENABLED: &[&str] = &{on:?};");
    out
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .map(|read| read.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    entries.sort();
    entries
}

fn file_name(path: &Path) -> Option<String> {
    path.is_dir()
        .then(|| path.file_name()?.to_str().map(String::from))
        .flatten()
}

fn read_mistake(exercise: &str, name: &str, file: &Path, solution: &Path) -> Mistake {
    let text = fs::read_to_string(file).unwrap_or_default();
    let mut lines = text.lines();
    let words: Vec<&str> = lines
        .by_ref()
        .take_while(|l| !l.trim().is_empty())
        .collect();
    let rest: Vec<&str> = lines.collect();
    let field = |name: &str| {
        words
            .iter()
            .find_map(|l| l.strip_prefix(name))
            .map(|value| value.trim().to_string())
    };
    let hint = field("hint:").unwrap_or_default();
    let os = field("os:");
    let words = words
        .iter()
        .filter(|l| !l.starts_with("hint:") && !l.starts_with("os:"))
        .map(|l| l.trim())
        .collect::<Vec<_>>()
        .join(" ");
    let source = fs::read_to_string(solution)
        .map_err(|err| format!("cannot read {}: {err}", solution.display()))
        .and_then(|solution| apply(&solution, &rest))
        .map(|source| as_module(&source));
    Mistake {
        exercise: exercise.into(),
        name: name.into(),
        words,
        hint,
        os,
        features: Vec::new(),
        source,
    }
}

/// Applies the `-`/`+` blocks of `change` to `source`.
fn apply(source: &str, change: &[&str]) -> Result<String, String> {
    let mut source = source.replace("\r\n", "\n");
    let mut blocks: Vec<(Vec<&str>, Vec<&str>)> = Vec::new();
    let mut in_block = false;
    for line in change {
        match line.chars().next() {
            Some('-') => {
                if !in_block || !blocks.last().is_some_and(|(_, plus)| plus.is_empty()) {
                    blocks.push((Vec::new(), Vec::new()));
                }
                in_block = true;
                blocks.last_mut().expect("pushed").0.push(&line[1..]);
            }
            Some('+') if in_block => blocks.last_mut().expect("in a block").1.push(&line[1..]),
            _ => in_block = false,
        }
    }
    if blocks.is_empty() {
        return Err("it changes nothing (no `-` lines)".into());
    }
    for (minus, plus) in blocks {
        let old = minus.join("\n") + "\n";
        let new = if plus.is_empty() {
            String::new()
        } else {
            plus.join("\n") + "\n"
        };
        match source.matches(&old).count() {
            1 => source = source.replacen(&old, &new, 1),
            n => {
                return Err(format!(
                    "the lines {:?} stand {n} times in the solution, not once",
                    minus.first().copied().unwrap_or_default()
                ));
            }
        }
    }
    Ok(source)
}

/// The program as the body of a module: without its `//!` header (inner doc comments
/// cannot stand there), and with a `main` the program `wrong` can call.
fn as_module(source: &str) -> String {
    source
        .lines()
        .filter(|line| !line.starts_with("//!"))
        .map(|line| match line.strip_prefix("fn main()") {
            Some(rest) => format!("pub fn main(){rest}"),
            None => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn module_name(m: &Mistake) -> String {
    format!("{}__{}", m.exercise, m.name)
}

fn list(mistakes: &[Mistake]) -> String {
    let mut out = String::from("/// Every wrong solution, made by build.rs from `wrong/`.\n");
    out.push_str("pub const ALL: &[Wrong] = &[\n");
    for m in mistakes {
        let problem = match &m.source {
            Ok(_) => "None".to_string(),
            Err(why) => format!("Some({why:?})"),
        };
        let _ = writeln!(
            out,
            "    Wrong {{ exercise: {:?}, name: {:?}, mistake: {:?}, hint: {:?}, os: {:?}, \
             features: &{:?}, problem: {problem} }},",
            m.exercise, m.name, m.words, m.hint, m.os, m.features
        );
    }
    out.push_str("];\n");
    out
}

fn programs(mistakes: &[Mistake]) -> String {
    let mut out = String::new();
    for m in mistakes {
        let missing: Vec<&String> = m.features.iter().filter(|f| !enabled(f)).collect();
        let body = match &m.source {
            // Its crates are not compiled in this build: say which feature brings them.
            Ok(_) if !missing.is_empty() => format!(
                "pub fn main() {{ eprintln!(\"this wrong solution needs the feature {}: \
                 build the program wrong with --features {}\"); std::process::exit(3) }}",
                missing[0], missing[0]
            ),
            Ok(source) => source.clone(),
            Err(why) => format!(
                "pub fn main() {{ eprintln!(\"this wrong solution no longer applies: {}\"); \
                 std::process::exit(3) }}",
                why.escape_default()
            ),
        };
        let _ = writeln!(
            out,
            "#[allow(warnings, clippy::all)]\nmod {} {{\n{body}\n}}\n",
            module_name(m)
        );
    }
    out.push_str("/// Runs the wrong solution `EXERCISE/MISTAKE`; false if there is none.\n");
    out.push_str("#[allow(clippy::match_single_binding)]\nfn run(which: &str) -> bool {\n    match which {\n");
    for m in mistakes {
        let _ = writeln!(
            out,
            "        \"{}/{}\" => {{\n            {}::main();\n            true\n        }}",
            m.exercise,
            m.name,
            module_name(m)
        );
    }
    out.push_str("        _ => false,\n    }\n}\n");
    out
}

/// Writes only a change, so that an unchanged list does not rebuild the checker.
fn write_if_changed(path: &Path, text: &str) {
    if fs::read_to_string(path).ok().as_deref() != Some(text) {
        fs::write(path, text)
            .unwrap_or_else(|err| panic!("cannot write {}: {err}", path.display()));
    }
}
