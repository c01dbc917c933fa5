//! Every lesson is complete: each example in `examples/` has its note, its
//! snapshot test and its row in the README, and the README promises no lesson
//! that is not there.
//!
//! The stem (`01_thread`) ties them together: `examples/01_thread.rs`,
//! `notes/01_thread.md`, `tests/snapshots/01_thread.snap`, the snapshot test
//! that names `"01_thread"` in a `tests/snapshots_*.rs` file, and a README
//! table row with `cargo run --example 01_thread`. A README row whose lesson
//! is not built yet says "coming" instead of giving a run command.

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

/// The stems of the examples: `examples/01_thread.rs` gives `01_thread`.
fn example_stems() -> Vec<String> {
    files("examples", ".rs")
        .iter()
        .map(|path| path.file_stem().unwrap().to_string_lossy().into_owned())
        .collect()
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
    for stem in example_stems() {
        if !root().join(format!("notes/{stem}.md")).is_file() {
            missing.push(format!("examples/{stem}.rs has no note notes/{stem}.md"));
        }
        if !root()
            .join(format!("tests/snapshots/{stem}.snap"))
            .is_file()
        {
            missing.push(format!(
                "examples/{stem}.rs has no snapshot tests/snapshots/{stem}.snap"
            ));
        }
        let quoted = format!("\"{stem}\"");
        if !snapshot_tests.iter().any(|test| test.contains(&quoted)) {
            missing.push(format!(
                "examples/{stem}.rs has no snapshot test: no tests/snapshots_*.rs names {quoted}"
            ));
        }
        if !built.contains(&stem) {
            missing.push(format!(
                "examples/{stem}.rs has no README row with `cargo run --example {stem}` \
                 (a row that still says \"coming\" does not count)"
            ));
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
            format!("the README runs `--example {stem}`, but examples/{stem}.rs is missing")
        })
        .collect();
    assert!(
        promised.is_empty(),
        "{}\n(mark a lesson that is not built yet as \"coming\", without a run command)",
        promised.join("\n")
    );
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
