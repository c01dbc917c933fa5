//! `cargo exercise` lists every exercise and whether it is solved; `cargo exercise NN_topic`
//! checks one, says what is still wrong, and exits 0 only when it is solved.

use std::process::ExitCode;

use exercise::{
    EXERCISES, Ended, Exercise, Outcome, Run, Scratch, Side, catalogue, check_all, repository_root,
    run, target_dir,
};

const USAGE: &str = "usage: cargo exercise            list every exercise and whether it is solved
       cargo exercise NN_topic   check one (for example: cargo exercise 03_lock_twice)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = repository_root();
    let scratch = Scratch::new(root.clone(), target_dir(&root));
    run::become_subreaper();
    let result = match args.as_slice() {
        [] => list(&scratch),
        [flag] if flag == "-h" || flag == "--help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        [name] if !name.starts_with('-') => match catalogue::find(name) {
            Ok(exercise) => check_one(&scratch, exercise),
            Err(message) => Err(message),
        },
        _ => Err(format!("unexpected arguments {args:?}\n{USAGE}")),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn io_error(error: std::io::Error) -> String {
    format!("cannot build or run the exercises: {error}")
}

fn check_one(scratch: &Scratch, exercise: &'static Exercise) -> Result<ExitCode, String> {
    let stem = exercise.stem;
    println!(
        "Checking exercises/{stem}.rs ({}) ...",
        exercise.kind.words()
    );
    if !scratch.dir.join("Cargo.lock").exists() {
        println!("(this first time, the dependencies are built too: give it a minute)");
    }
    let outcome = check_all(scratch, &[(exercise, Side::Exercise)], 1, true)
        .map_err(io_error)?
        .pop()
        .expect("one asked, one answered");
    if run::interrupted() {
        eprintln!("interrupted: the check and its processes were stopped");
        return Ok(ExitCode::from(130));
    }
    match &outcome {
        Outcome::DoesNotCompile { messages, .. } => {
            print!("{messages}");
            println!("\n✗ {stem} does not compile yet: the compiler's messages are above.");
            if messages.contains("crates/exercise/checks/") {
                println!(
                    "(some are about the check, which calls your `pub fn`s: keep their names and \
                     signatures as the exercise gave them)"
                );
            }
        }
        Outcome::Ran(Run {
            ended,
            output,
            killed,
        }) => {
            // Panic messages name files by their whole path: show it from the root, as rustc does.
            let output = output.replace(&format!("{}/", scratch.root.display()), "");
            if !output.is_empty() {
                println!("--- what the check printed ---");
                print!("{output}");
                if !output.ends_with('\n') {
                    println!();
                }
                println!("------------------------------");
            }
            match ended {
                Ended::Passed => {
                    println!("✓ {stem} is solved.");
                    let next = EXERCISES
                        .iter()
                        .skip_while(|e| e.stem != stem)
                        .nth(1)
                        .map(|e| format!("next: cargo exercise {}", e.stem))
                        .unwrap_or_else(|| "that was the last one.".to_owned());
                    println!("{next}");
                    return Ok(ExitCode::SUCCESS);
                }
                Ended::Failed(how) => println!("✗ {stem} is not solved yet: {how}."),
                Ended::Hung => println!(
                    "✗ {stem} hangs: it was still waiting when its time ran out (at most {} s), \
                     so the checker stopped it ({killed} process{} killed and reaped).",
                    exercise.limit.as_secs(),
                    if *killed == 1 { "" } else { "es" },
                ),
            }
        }
    }
    println!("hint: {}", exercise.hint);
    println!(
        "(the lesson: {}; start again with `git checkout exercises/{stem}.rs`)",
        exercise.note
    );
    Ok(ExitCode::FAILURE)
}

fn list(scratch: &Scratch) -> Result<ExitCode, String> {
    println!("Building and checking every exercise ...");
    if !scratch.dir.join("Cargo.lock").exists() {
        println!("(this first time, the dependencies are built too: give it a minute)");
    }
    let which: Vec<(&'static Exercise, Side)> =
        EXERCISES.iter().map(|e| (e, Side::Exercise)).collect();
    let outcomes = check_all(scratch, &which, 4, true).map_err(io_error)?;
    if run::interrupted() {
        eprintln!("interrupted: the checks and their processes were stopped");
        return Ok(ExitCode::from(130));
    }
    let solved = outcomes.iter().filter(|o| o.solved()).count();
    println!("\n{:<28} {:<22} state", "exercise", "kind");
    for (exercise, outcome) in EXERCISES.iter().zip(&outcomes) {
        let mark = if outcome.solved() { "✓" } else { " " };
        println!(
            "{:<28} {:<22} {mark} {}",
            exercise.stem,
            exercise.kind.words(),
            outcome.summary()
        );
    }
    println!(
        "\n{solved} of {} solved. Check one with `cargo exercise NN_topic`.",
        EXERCISES.len()
    );
    if let Some(next) = EXERCISES.iter().zip(&outcomes).find(|(_, o)| !o.solved()) {
        println!("next: cargo exercise {}", next.0.stem);
    }
    Ok(ExitCode::SUCCESS)
}
