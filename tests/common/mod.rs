//! What every snapshot test of an example shares: the one table of filters for
//! what varies between runs, and helpers that run a built example binary.
//!
//! A snapshot test file (`tests/snapshots_<group>.rs`) starts with `mod common;`
//! and snapshots each example like this:
//!
//! ```ignore
//! #[test]
//! fn thread() {
//!     common::settings().bind(|| assert_cmd_snapshot!("01_thread", common::example("01_thread")));
//! }
//! ```
//!
//! A lesson whose output holds something only it varies adds its own filter
//! to the settings (`settings.add_filter(...)`) in its own test file, so
//! nobody needs to edit this one for it.

// Each test file compiles this module on its own and uses only part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// What changes from run to run, and what the snapshots show in its place.
///
/// Each pair is a regular expression and its replacement, applied in order to
/// the whole snapshot. The example's real output keeps the real values: only
/// the stored snapshot sees the placeholders.
pub const FILTERS: &[(&str, &str)] = &[
    // Durations: `12.3 ms`, `1.2 s`, `850 µs`, `850 us`, `41 ns`, `1.5 min`.
    (r"\b\d+(\.\d+)?\s?(ns|µs|us|ms|s|min)\b", "[TIME]"),
    // Speed-ups and ratios: `1.98x`, `2x`.
    (r"\b\d+(\.\d+)?x\b", "[RATIO]"),
    // Process ids: `pid 4242`, `parent pid: 4242`, `ppid=4242`.
    (r"\b(pid|ppid)([ :=]+)\d+\b", "${1}${2}[PID]"),
    // Thread ids as Rust prints them (`ThreadId(7)`) and as the OS counts them.
    (r"ThreadId\(\d+\)", "ThreadId([TID])"),
    (r"\b(tid)([ :=]+)\d+\b", "${1}${2}[TID]"),
    // Rust's panic message names the thread and its OS id: `thread 'main' (4242)`.
    (r"(thread '[^']*') \(\d+\)", "${1} ([TID])"),
];

/// Snapshot settings for an example: the shared filters, and snapshots named
/// after the example's stem alone (`tests/snapshots/01_thread.snap`).
pub fn settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    for (regex, replacement) in FILTERS {
        settings.add_filter(regex, *replacement);
    }
    settings
}

/// The workspace root: where a learner stands when they run `cargo run --example`.
///
/// `cargo test` tells a test binary where the package is when it runs it. The
/// path compiled into the binary is only the fallback: cargo may reuse a binary
/// built from another checkout that shares the target folder.
pub fn workspace_root() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// Where cargo put the binary of `examples/<stem>.rs`.
///
/// A test binary lives in `target/<profile>/deps/`; the examples of the same
/// build are in `target/<profile>/examples/`. `cargo test --workspace` builds
/// the examples before it runs any test, so they are there.
pub fn example_path(stem: &str) -> PathBuf {
    let test_binary = std::env::current_exe().expect("the test cannot find its own binary");
    let profile_dir = test_binary
        .parent()
        .and_then(Path::parent)
        .expect("the test binary is not in target/<profile>/deps/");
    let path = profile_dir
        .join("examples")
        .join(format!("{stem}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "the example binary {} is missing: does examples/{stem}.rs (or {stem}/main.rs) exist? \
         Run the tests with `cargo test --workspace`, which builds every example first \
         (`cargo test --test NAME` alone does not).",
        path.display()
    );
    path
}

/// A command that runs the built example `stem` as a learner would: from the
/// workspace root, without arguments, and without `RUST_BACKTRACE` (which this
/// machine sets), so a panic prints its message and not a backtrace.
pub fn example(stem: &str) -> Command {
    let mut command = Command::new(example_path(stem));
    command
        .current_dir(workspace_root())
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE");
    command
}

/// Runs the example `stem` to its end and returns what it printed on stdout.
/// Fails the test, showing both streams, if the example did not succeed.
pub fn run_example(stem: &str) -> String {
    let output = example(stem)
        .output()
        .unwrap_or_else(|e| panic!("cannot run the example {stem}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "the example {stem} failed ({})\n--- stdout ---\n{stdout}--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Checks that `stdout` is exactly one of the `legal` outputs, and returns
/// which one. For an example whose order is up to the scheduler: every legal
/// order is accepted, anything else (lines mixed, lost, or wrong) fails.
pub fn assert_one_of(stem: &str, stdout: &str, legal: &[String]) -> usize {
    legal
        .iter()
        .position(|candidate| candidate == stdout)
        .unwrap_or_else(|| {
            let listed: Vec<String> = legal
                .iter()
                .enumerate()
                .map(|(i, text)| format!("--- legal output {} ---\n{text}", i + 1))
                .collect();
            panic!(
                "{stem} printed an output that no scheduler order allows:\n\
                 --- what it printed ---\n{stdout}{}\
                 (if you changed what {stem} prints on purpose, change its legal outputs too)",
                listed.join("")
            )
        })
}

/// Runs the example `stem` once, checks that its stdout is exactly one of the
/// `legal` outputs, then compares that same run with the snapshot `stem`,
/// which stores it as `legal[0]`.
///
/// For an example whose order is up to the scheduler. One run serves both
/// checks: with two runs, a legal first run and a mixed second one would fail
/// the snapshot comparison, whose advice (rewrite the snapshot) is wrong here.
/// The snapshot has the layout `insta_cmd::assert_cmd_snapshot!` gives.
pub fn assert_legal_snapshot(mut settings: insta::Settings, stem: &str, legal: &[String]) {
    let output = example(stem)
        .output()
        .unwrap_or_else(|e| panic!("cannot run the example {stem}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the example {stem} failed ({})\n--- stdout ---\n{stdout}--- stderr ---\n{stderr}",
        output.status
    );
    assert_one_of(stem, &stdout, legal);

    #[derive(serde::Serialize)]
    struct Info<'a> {
        program: &'a str,
        args: [&'a str; 0],
    }
    settings.set_info(&Info {
        program: stem,
        args: [],
    });
    settings.set_omit_expression(true);
    // Beside the other snapshots, not in a folder next to this file.
    settings.set_snapshot_path(workspace_root().join("tests/snapshots"));
    let snapshot = format!(
        "success: {:?}\nexit_code: {}\n----- stdout -----\n{}\n----- stderr -----\n{stderr}",
        output.status.success(),
        output.status.code().unwrap_or(!0),
        legal[0],
    );
    settings.bind(|| insta::assert_snapshot!(stem, snapshot));
}

/// Adds a filter that rewrites the exact text `from` into `to`.
///
/// With it, a snapshot can store one legal order of a run and still pass when
/// the scheduler picks another: the test rewrites each other legal output into
/// the stored one, and only those; any other output is left as it is and so
/// fails the comparison.
pub fn add_rewrite(settings: &mut insta::Settings, from: &str, to: &str) {
    settings.add_filter(&regex_escape(from), to.replace('$', "$$"));
}

/// `text` as a regular expression that matches exactly that text.
fn regex_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if r"\.+*?()|[]{}^$".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}
