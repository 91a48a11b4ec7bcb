//! Builds the programs to check with the checker's own cargo profile, and finds them.
//!
//! The checker runs as `target/<DIR>/check`, where `DIR` names the profile it was built
//! with: `debug` for cargo's default (dev) profile, `release` under `--release`, or the
//! name of a custom profile. It builds each program it checks with that same profile, so
//! the program lands beside it, and runs that very build: a debug build is never graded
//! in place of a stale release one, or the other way round.

use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A cargo profile, known by the folder its programs land in.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    dir: PathBuf,
}

impl Profile {
    /// The profile of the program at `exe` (`target/<DIR>/NAME`).
    pub fn of(exe: &Path) -> Profile {
        let dir = exe.parent().unwrap_or(Path::new(".")).to_path_buf();
        Profile { dir }
    }

    /// The profile of the running program.
    pub fn current() -> io::Result<Profile> {
        Ok(Profile::of(&std::env::current_exe()?))
    }

    /// What cargo needs to build with this profile: nothing for `debug` (dev), `--release`
    /// for `release`, `--profile NAME` for another.
    pub fn cargo_args(&self) -> Vec<String> {
        match self.dir.file_name().and_then(OsStr::to_str) {
            None | Some("debug") => vec![],
            Some("release") => vec!["--release".into()],
            Some(name) => vec!["--profile".into(), name.into()],
        }
    }

    /// Where the program `name` of this profile lies.
    pub fn program(&self, name: &str) -> PathBuf {
        self.dir
            .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
    }

    /// `cargo build` of the programs `names` of this package, with this profile and the
    /// cargo `features` they need (`scale` for ex09 and ex10), run from this package's
    /// folder.
    pub fn build_command(&self, cargo: &OsStr, names: &[&str], features: &[&str]) -> Command {
        let mut command = Command::new(cargo);
        command
            .args(["build", "--quiet", "--package", env!("CARGO_PKG_NAME")])
            .args(self.cargo_args())
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if !features.is_empty() {
            command.args(["--features", &features.join(",")]);
        }
        for name in names {
            command.args(["--bin", name]);
        }
        command
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(exe: &str) -> Vec<String> {
        Profile::of(Path::new(exe)).cargo_args()
    }

    #[test]
    fn a_debug_checker_builds_with_the_dev_profile() {
        assert!(args("/p/target/debug/check").is_empty());
    }

    #[test]
    fn a_release_checker_builds_and_runs_release_programs() {
        assert_eq!(args("/p/target/release/check"), ["--release"]);
        let profile = Profile::of(Path::new("/p/target/release/check"));
        assert_eq!(
            profile.program("ex03_count"),
            Path::new("/p/target/release")
                .join(format!("ex03_count{}", std::env::consts::EXE_SUFFIX))
        );
    }

    #[test]
    fn another_profile_is_named() {
        assert_eq!(args("/p/target/quick/check"), ["--profile", "quick"]);
    }
}
