//! Snapshot tests of the lessons beyond the tutorial: `11_race`, `12_start_methods`, `13_crash`,
//! `14_big_data`.
//!
//! Each runs the built example binary, as a learner would, and compares what it printed
//! with `tests/snapshots/<stem>.snap`. The examples check their own claims with `assert!`
//! (exact totals, error kinds, exit statuses), so a broken lesson also shows up here as a
//! failed run in the snapshot.
//!
//! Accept a changed example with the README's two steps, in this order:
//! `INSTA_UPDATE=always cargo test --workspace` rewrites the snapshots, then
//! `NOTES_UPDATE=1 cargo test --workspace` copies them into the notes.

mod common;

use insta_cmd::assert_cmd_snapshot;

/// The shared filters, plus the pids that `mp`'s messages print as `process 4242`.
fn settings() -> insta::Settings {
    let mut settings = common::settings();
    settings.add_filter(r"\bprocess \d+\b", "process [PID]");
    settings
}

#[test]
fn race() {
    let mut settings = settings();
    // How many updates the unlocked run loses is up to the scheduler: hide the count, keep
    // the total it should have reached. The locked and atomic lines stay exact.
    settings.add_filter(
        r"unlocked: \d+ of (\d+) \(\d+ lost\)",
        "unlocked: [COUNT] of $1 ([LOST] lost)",
    );
    settings.bind(|| assert_cmd_snapshot!("11_race", common::example("11_race")));
}

#[test]
fn start_methods() {
    settings()
        .bind(|| assert_cmd_snapshot!("12_start_methods", common::example("12_start_methods")));
}

#[test]
fn start_methods_without_init() {
    let mut without_init = common::example("12_start_methods");
    without_init.arg("--without-init");
    settings().bind(|| assert_cmd_snapshot!("12_start_methods_without_init", without_init));
}

#[test]
fn crash() {
    settings().bind(|| assert_cmd_snapshot!("13_crash", common::example("13_crash")));
}

#[test]
fn big_data() {
    // The default size (1,000,000 numbers) keeps the debug build quick; the sums are exact.
    settings().bind(|| assert_cmd_snapshot!("14_big_data", common::example("14_big_data")));
}

#[test]
fn big_data_rejects_a_bad_flag() {
    // A clear message and exit code 2, never a panic.
    let mut bad = common::example("14_big_data");
    bad.args(["--n", "1"]);
    settings().bind(|| assert_cmd_snapshot!("14_big_data_bad_flag", bad));
}
