//! Copies every note into `OUT_DIR/notes/`, with the blocks that are synced
//! copies of an example's code or output marked as text, and writes
//! `OUT_DIR/notes.rs`: one module per note, documented by that copy, so that
//! rustdoc tests the note's own snippets and nothing else. Lines keep their
//! numbers, so a failure names the note's line.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let notes = manifest.join("../../notes");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo"));
    println!("cargo::rerun-if-changed={}", notes.display());

    let copies = out.join("notes");
    fs::create_dir_all(&copies).expect("cannot make OUT_DIR/notes");
    let mut paths: Vec<PathBuf> = fs::read_dir(&notes)
        .expect("cannot read notes/")
        .map(|entry| entry.expect("cannot read notes/").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    paths.sort();

    let mut modules = String::new();
    for path in paths {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let copy = copies.join(path.file_name().unwrap());
        fs::write(&copy, without_synced_blocks(&text)).expect("cannot write a note's copy");
        let module: String = stem
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        writeln!(
            modules,
            "#[doc = include_str!({:?})]\npub mod note_{module} {{}}",
            path_str(&copy)
        )
        .unwrap();
    }
    fs::write(out.join("notes.rs"), modules).expect("cannot write notes.rs");
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("the build folder's path is UTF-8")
}

/// The note with the opening line of every synced block (the fence right
/// after a `<!-- code: ... -->` or `<!-- output: ... -->` marker) made
/// ```` ```text ````, which rustdoc does not test.
fn without_synced_blocks(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut after_marker = false;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        let ticks = line.len() - line.trim_start_matches('`').len();
        if after_marker && ticks >= 3 {
            out.push_str(&"`".repeat(ticks));
            out.push_str("text\n");
        } else {
            out.push_str(line);
        }
        after_marker = trimmed.starts_with("<!--")
            && trimmed.ends_with("-->")
            && ["code:", "output:"].iter().any(|kind| {
                trimmed
                    .trim_start_matches("<!--")
                    .trim_start()
                    .starts_with(kind)
            });
    }
    out
}
