//! Every exercise fails as shipped, in the way the catalogue says (the compiler's error code, a
//! hang, or a wrong answer), and passes once its solution is in its place, each within its
//! time limit. So no exercise can silently become one that passes untouched, or one that
//! cannot be solved.
//!
//! The same test proves that the checks see through the answers in `crates/exercise/impostors/`:
//! the lesson's output printed from constants, the right numbers computed without the
//! processes, the lock or the join the exercise is about, the data copied where it should be
//! borrowed.
//!
//! The solution is not copied over the exercise: the scratch project builds each solution as a
//! binary of its own, with the same check (see `src/scratch.rs`). This test binary makes itself
//! a subreaper, as `cargo exercise` does, to kill and reap whatever a check leaves behind; that
//! is a setting of the whole process, so this file holds only tests that start no other child.

use std::fs;

use exercise::{
    EXERCISES, Kind, Outcome, Scratch, Shipped, Side, check_all, repository_root, run, target_dir,
};

fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::DoesNotCompile { messages, codes } => {
            format!("it does not compile ({codes:?}):\n{messages}")
        }
        Outcome::Ran(ran) => format!("{:?}; it printed:\n{}", ran.ended, ran.output),
    }
}

#[test]
fn every_exercise_fails_as_shipped_and_passes_with_its_solution() {
    run::become_subreaper();
    let root = repository_root();
    let scratch = Scratch::new(root.clone(), target_dir(&root));
    let which: Vec<_> = EXERCISES
        .iter()
        .flat_map(|e| {
            [
                (e, Side::Exercise),
                (e, Side::Solution),
                (e, Side::Impostor),
            ]
        })
        .filter(|(e, side)| root.join(side.file(e.stem)).is_file())
        .collect();
    let outcomes = check_all(&scratch, &which, 4, true).expect("cannot build or run the checks");
    let mut wrong = Vec::new();
    for ((exercise, side), outcome) in which.iter().zip(&outcomes) {
        let stem = exercise.stem;
        match side {
            Side::Exercise if !outcome.fails_as(exercise.shipped) => wrong.push(format!(
                "exercises/{stem}.rs should fail as {:?}, but {}",
                exercise.shipped,
                describe(outcome)
            )),
            Side::Solution if !outcome.solved() => wrong.push(format!(
                "solutions/{stem}.rs should pass its check, but {}",
                describe(outcome)
            )),
            // It must compile and run, and be caught by the check itself.
            Side::Impostor if !outcome.fails_as(Shipped::Wrong) => wrong.push(format!(
                "crates/exercise/impostors/{stem}.rs should be rejected by its check, but {}",
                describe(outcome)
            )),
            _ => {}
        }
        if let Outcome::Ran(ran) = outcome {
            // A check's processes are its own to end; none should be left to kill.
            let leftover = ran.killed;
            if leftover > 0 && ran.ended != exercise::Ended::Hung {
                wrong.push(format!(
                    "{side:?} {stem} left {leftover} process(es) running"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n\n"));
}

#[test]
fn the_catalogue_and_the_files_agree() {
    let root = repository_root();
    let stems_in = |folder: &str| -> Vec<String> {
        let mut stems: Vec<String> = fs::read_dir(root.join(folder))
            .unwrap_or_else(|e| panic!("cannot read {folder}/: {e}"))
            .filter_map(|entry| {
                let name = entry.ok()?.file_name().to_string_lossy().into_owned();
                Some(name.strip_suffix(".rs")?.to_owned())
            })
            .filter(|stem| stem != "support")
            .collect();
        stems.sort();
        stems
    };
    let catalogue: Vec<String> = EXERCISES.iter().map(|e| e.stem.to_owned()).collect();
    let mut sorted = catalogue.clone();
    sorted.sort();
    assert_eq!(
        catalogue, sorted,
        "the catalogue lists the exercises in name order"
    );
    for folder in ["exercises", "solutions", "crates/exercise/checks"] {
        assert_eq!(
            stems_in(folder),
            catalogue,
            "{folder}/ holds one file per exercise"
        );
    }
    let mut problems = Vec::new();
    for exercise in EXERCISES {
        let stem = exercise.stem;
        let text = fs::read_to_string(root.join(format!("exercises/{stem}.rs"))).unwrap();
        let header = format!("//! Exercise {stem}: {}.", exercise.kind.words());
        if !text.starts_with(&header) {
            problems.push(format!("exercises/{stem}.rs should start with `{header}`"));
        }
        let lesson = format!(
            "//! Lesson: {}. Check it: `cargo exercise {stem}`",
            exercise.note
        );
        if text.lines().nth(1) != Some(lesson.as_str()) {
            problems.push(format!(
                "exercises/{stem}.rs: its second line should be `{lesson}`"
            ));
        }
        let number = &exercise.note["notes/".len().."notes/NN".len()];
        if !stem.starts_with(number) {
            problems.push(format!(
                "{stem} should start with its lesson's number ({number})"
            ));
        }
        if !exercise.hint.contains(exercise.note) {
            problems.push(format!(
                "{stem}'s hint should name its note, {}",
                exercise.note
            ));
        }
        let lines = text.lines().count();
        if !(15..=60).contains(&lines) {
            problems.push(format!(
                "exercises/{stem}.rs has {lines} lines; keep it within 15-60"
            ));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn every_lesson_has_an_exercise_and_every_kind_five() {
    for lesson in 1..=18 {
        let number = format!("{lesson:02}_");
        assert!(
            EXERCISES.iter().any(|e| e.stem.starts_with(&number)),
            "lesson {lesson:02} has no exercise"
        );
    }
    assert!(EXERCISES.len() >= 24, "at least 24 exercises");
    for kind in [Kind::CompilerTeaches, Kind::FixTheBug, Kind::WriteIt] {
        let count = EXERCISES.iter().filter(|e| e.kind == kind).count();
        assert!(
            count >= 5,
            "only {count} exercises of the kind \"{}\"",
            kind.words()
        );
    }
    for exercise in EXERCISES {
        let consistent = match exercise.kind {
            Kind::CompilerTeaches => matches!(exercise.shipped, Shipped::DoesNotCompile(_)),
            Kind::FixTheBug | Kind::WriteIt => {
                !matches!(exercise.shipped, Shipped::DoesNotCompile(_))
            }
        };
        assert!(
            consistent,
            "{}: its kind and the way it fails disagree",
            exercise.stem
        );
    }
}
