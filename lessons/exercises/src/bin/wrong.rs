//! Every wrong solution of `wrong/`, in one program: it becomes the one that the
//! environment variable `EXERCISES_WRONG` names (`EXERCISE/MISTAKE`). The checker and
//! the package's tests run it; see `src/wrong.rs`.

include!(concat!(env!("OUT_DIR"), "/wrong_programs.rs"));

fn main() {
    let which = std::env::var(exercises::wrong::WHICH).unwrap_or_default();
    if !run(&which) {
        let known: Vec<String> = exercises::wrong::ALL.iter().map(|w| w.id()).collect();
        eprintln!(
            "set {}=EXERCISE/MISTAKE to one of: {}",
            exercises::wrong::WHICH,
            known.join(", ")
        );
        std::process::exit(2);
    }
}
