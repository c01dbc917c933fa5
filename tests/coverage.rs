//! Every lesson is complete: each example in `examples/` has its note, its
//! snapshot test and its row in the README, and the README promises no lesson
//! that is not there.
//!
//! The stem (`01_thread`) ties them together: `examples/01_thread.rs` (or, for
//! a lesson with helper modules beside it, `examples/01_thread/main.rs`),
//! `notes/01_thread.md`, `tests/snapshots/01_thread.snap`, the snapshot test
//! that names `"01_thread"` in a `tests/snapshots_*.rs` file, and a README
//! table row with `cargo run --example 01_thread`. A README row whose lesson
//! is not built yet says "coming" instead of giving a run command.
//!
//! A lesson that needs a cargo feature (`required-features` in its
//! `[[example]]` of Cargo.toml, as `18_beyond_one_machine` needs `mpi`) is
//! built only with that feature, so a plain `cargo test --workspace` cannot run
//! it. It is complete when its README row passes `--features` with it, and its
//! snapshot tests, ignored without the feature, name in their `ignore` reason a
//! script (`.ci/mpi`) that exists and runs them with the feature on.

mod common;

use common::workspace_root as root;
use std::fs;
use std::path::{Path, PathBuf};

/// The files in `dir` (relative to the root) whose names end in `suffix`.
fn files(dir: &str, suffix: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("cannot read the folder {dir}/: {e}"))
        .map(|entry| entry.expect("cannot read a folder entry").path())
        .filter(|path| path.to_string_lossy().ends_with(suffix))
        .collect();
    found.sort();
    found
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// An example: its stem, and the file a learner opens first.
struct Example {
    stem: String,
    /// `examples/01_thread.rs`, or `examples/09_comparison/main.rs` for an
    /// example that is a folder (cargo builds both kinds).
    main: String,
}

/// The examples, in name order: each `examples/<stem>.rs`, and each folder
/// `examples/<stem>/` that holds a `main.rs`.
fn examples() -> Vec<Example> {
    let mut found: Vec<Example> = fs::read_dir(root().join("examples"))
        .expect("cannot read the folder examples/")
        .map(|entry| entry.expect("cannot read a folder entry").path())
        .filter_map(|path| {
            let name = path.file_name()?.to_string_lossy().into_owned();
            if path.is_dir() && path.join("main.rs").is_file() {
                let main = format!("examples/{name}/main.rs");
                Some(Example { stem: name, main })
            } else {
                let stem = name.strip_suffix(".rs")?.to_owned();
                let main = format!("examples/{name}");
                Some(Example { stem, main })
            }
        })
        .collect();
    found.sort_by(|a, b| a.stem.cmp(&b.stem));
    found
}

fn example_stems() -> Vec<String> {
    examples().into_iter().map(|example| example.stem).collect()
}

/// The README's table rows that give a run command: the stem after `--example`.
fn readme_built_lessons(readme: &str) -> Vec<String> {
    readme
        .lines()
        .filter(|line| line.trim_start().starts_with('|'))
        .filter_map(|row| {
            let after = row.split("--example ").nth(1)?;
            let stem: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            Some(stem)
        })
        .collect()
}

/// The examples that need cargo features: each stem with its `required-features`,
/// read from the `[[example]]` sections of the root Cargo.toml.
fn gated_examples() -> Vec<(String, Vec<String>)> {
    let manifest = read(&root().join("Cargo.toml"));
    let quoted = |text: &str| -> Vec<String> {
        text.split('"')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    };
    manifest
        .split("[[example]]")
        .skip(1)
        .filter_map(|section| {
            let section = section.split("\n[").next().unwrap_or(section);
            let line = |key: &str| {
                section
                    .lines()
                    .find(|l| l.trim_start().starts_with(key))
                    .map(str::to_owned)
            };
            let name = quoted(&line("name")?).into_iter().next()?;
            let features = quoted(&line("required-features")?);
            Some((name, features))
        })
        .collect()
}

#[test]
fn every_example_has_a_note_a_snapshot_test_and_a_readme_row() {
    let readme = read(&root().join("README.md"));
    let built = readme_built_lessons(&readme);
    let snapshot_tests: Vec<String> = files("tests", ".rs")
        .iter()
        .filter(|path| {
            path.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("snapshots_")
        })
        .map(|path| read(path))
        .collect();

    let mut missing = Vec::new();
    for Example { stem, main } in examples() {
        if !root().join(format!("notes/{stem}.md")).is_file() {
            missing.push(format!("{main} has no note notes/{stem}.md"));
        }
        if !root()
            .join(format!("tests/snapshots/{stem}.snap"))
            .is_file()
        {
            missing.push(format!(
                "{main} has no snapshot tests/snapshots/{stem}.snap"
            ));
        }
        let quoted = format!("\"{stem}\"");
        if !snapshot_tests.iter().any(|test| test.contains(&quoted)) {
            missing.push(format!(
                "{main} has no snapshot test: no tests/snapshots_*.rs names {quoted}"
            ));
        }
        if !built.contains(&stem) {
            missing.push(format!(
                "{main} has no README row with `cargo run --example {stem}` \
                 (a row that still says \"coming\" does not count)"
            ));
        }
    }
    for (stem, features) in gated_examples() {
        let row = readme.lines().find(|line| {
            line.trim_start().starts_with('|') && line.contains(&format!("--example {stem}"))
        });
        for feature in &features {
            if !row.is_some_and(|row| row.contains(&format!("--features {feature}"))) {
                missing.push(format!(
                    "{stem} needs the feature `{feature}`, but its README row does not pass \
                     `--features {feature}`"
                ));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "incomplete lessons:\n  {}",
        missing.join("\n  ")
    );
}

#[test]
fn the_readme_lists_no_lesson_that_is_missing() {
    let readme = read(&root().join("README.md"));
    let stems = example_stems();
    let promised: Vec<String> = readme_built_lessons(&readme)
        .into_iter()
        .filter(|stem| !stems.contains(stem))
        .map(|stem| {
            format!(
                "the README runs `--example {stem}`, but neither examples/{stem}.rs \
                 nor examples/{stem}/main.rs exists"
            )
        })
        .collect();
    assert!(
        promised.is_empty(),
        "{}\n(mark a lesson that is not built yet as \"coming\", without a run command)",
        promised.join("\n")
    );
}

#[test]
fn a_lesson_behind_a_feature_is_ignored_with_the_command_that_runs_it() {
    // Without its feature the lesson is not built, so its tests cannot run; they must show as
    // ignored (never vanish), saying which script runs them, and that script must turn the
    // feature on.
    let mut wrong = Vec::new();
    for (stem, features) in gated_examples() {
        let quoted = format!("\"{stem}\"");
        let tests: Vec<(PathBuf, String)> = files("tests", ".rs")
            .into_iter()
            .map(|path| {
                let text = read(&path);
                (path, text)
            })
            .filter(|(_, text)| text.contains(&quoted))
            .collect();
        if tests.is_empty() {
            wrong.push(format!("no test file names {quoted}"));
        }
        for (path, text) in tests {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let test_count = text.matches("#[test]").count();
            for feature in &features {
                let gate = format!("#[cfg_attr(not(feature = \"{feature}\"), ignore = \"");
                if text.matches(&gate).count() != test_count {
                    wrong.push(format!(
                        "tests/{name}: each of its {test_count} tests needs `{gate}...\")]`"
                    ));
                }
                let scripts: Vec<&str> = text
                    .split(&gate)
                    .skip(1)
                    .filter_map(|rest| rest.split('"').next())
                    .filter_map(|reason| reason.split_whitespace().find(|w| w.starts_with(".ci/")))
                    .collect();
                if scripts.len() != test_count {
                    wrong.push(format!(
                        "tests/{name}: each `ignore` reason must name the script that runs it (.ci/...)"
                    ));
                }
                for script in scripts {
                    let script_text = fs::read_to_string(root().join(script)).unwrap_or_default();
                    if !script_text.contains(&format!("--features {feature}")) {
                        wrong.push(format!(
                            "tests/{name} sends the reader to {script}, which does not run \
                             `--features {feature}`"
                        ));
                    }
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The targets of the relative Markdown links `[text](target)` in `text`.
fn relative_links(text: &str) -> Vec<String> {
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .map(|target| target.split('#').next().unwrap_or("").trim().to_owned())
        .filter(|target| !target.is_empty() && !target.contains("://"))
        .collect()
}

#[test]
fn links_in_the_readme_and_the_notes_lead_somewhere() {
    let mut documents = vec![root().join("README.md")];
    documents.extend(files("notes", ".md"));
    let mut broken = Vec::new();
    for document in documents {
        let dir = document.parent().unwrap();
        for target in relative_links(&read(&document)) {
            if !dir.join(&target).exists() {
                let name = document.strip_prefix(root()).unwrap_or(&document);
                broken.push(format!("{}: ({target}) does not exist", name.display()));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "broken links:\n  {}",
        broken.join("\n  ")
    );
}

/// Every Rust file under `examples/`, in folders too, relative to the root.
fn example_sources() -> Vec<String> {
    let mut sources = Vec::new();
    for example in examples() {
        let Some(folder) = example.main.strip_suffix("/main.rs") else {
            sources.push(example.main);
            continue;
        };
        for file in files(folder, ".rs") {
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            sources.push(format!("{folder}/{name}"));
        }
    }
    sources
}

#[test]
fn every_example_file_says_what_it_is_for() {
    // A lesson starts with its `//!` header; a helper module beside a folder
    // example's main.rs says in one `//!` line what it holds, so a learner
    // who opens it knows whether to read on.
    let silent: Vec<String> = example_sources()
        .into_iter()
        .filter(|source| !read(&root().join(source)).starts_with("//!"))
        .collect();
    assert!(
        silent.is_empty(),
        "these files do not start with a `//!` line saying what they are for:\n  {}",
        silent.join("\n  ")
    );
}

/// The stems of `exercises/*.rs`.
fn exercise_stems() -> Vec<String> {
    files("exercises", ".rs")
        .iter()
        .map(|path| path.file_stem().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// The text of a note's last `## ` section, with its heading.
fn last_section(note: &str) -> &str {
    note.rfind("\n## ").map_or("", |start| &note[start + 1..])
}

#[test]
fn every_exercise_has_a_solution_a_check_and_a_link_from_its_note() {
    // crates/exercise/tests/exercises.rs proves each fails as shipped and passes with its
    // solution; here, that a learner can find it from the lesson's note.
    let mut missing = Vec::new();
    let stems = exercise_stems();
    assert!(
        stems.len() >= 24,
        "at least 24 exercises, found {}",
        stems.len()
    );
    for stem in &stems {
        for other in [
            format!("solutions/{stem}.rs"),
            format!("crates/exercise/checks/{stem}.rs"),
        ] {
            if !root().join(&other).is_file() {
                missing.push(format!("exercises/{stem}.rs has no {other}"));
            }
        }
        let text = read(&root().join(format!("exercises/{stem}.rs")));
        let Some(note) = text
            .lines()
            .find_map(|line| line.strip_prefix("//! Lesson: "))
            .and_then(|rest| rest.split('.').next())
        else {
            missing.push(format!(
                "exercises/{stem}.rs has no `//! Lesson: notes/….md` line"
            ));
            continue;
        };
        let note_text = fs::read_to_string(root().join(format!("{note}.md"))).unwrap_or_default();
        let section = last_section(&note_text);
        if !section.starts_with("## Exercises") {
            missing.push(format!(
                "{note}.md does not end with an `## Exercises` section"
            ));
        } else if !section.contains(&format!("](../exercises/{stem}.rs)")) {
            missing.push(format!(
                "{note}.md's Exercises section has no link to exercises/{stem}.rs"
            ));
        }
    }
    for example in examples() {
        let lesson = &example.stem[..2];
        if !stems.iter().any(|stem| stem.starts_with(lesson)) {
            missing.push(format!("lesson {} has no exercise", example.stem));
        }
    }
    let readme = read(&root().join("README.md"));
    let exercises = readme
        .split("\n## ")
        .find(|section| section.starts_with("Exercises"))
        .unwrap_or("");
    for needed in [
        "cargo exercise ",
        "cargo exercise 03_lock_twice",
        "git checkout exercises/",
    ] {
        if !exercises.contains(needed) {
            missing.push(format!(
                "the README's Exercises section does not show `{needed}`"
            ));
        }
    }
    assert!(missing.is_empty(), "\n  {}", missing.join("\n  "));
}

/// The book (`book.toml` over `notes/`) shows only the chapters `notes/SUMMARY.md` lists: a note
/// left out of it would be missing from the book, and from its translation.
#[test]
fn every_note_is_a_chapter_of_the_book() {
    let summary = read(&root().join("notes/SUMMARY.md"));
    let missing: Vec<String> = files("notes", ".md")
        .iter()
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .filter(|name| name != "SUMMARY.md" && !summary.contains(&format!("]({name})")))
        .collect();
    assert!(
        missing.is_empty(),
        "notes/SUMMARY.md does not list {missing:?}: add each where it belongs in teaching order"
    );
}
