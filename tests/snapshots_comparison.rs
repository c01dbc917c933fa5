//! Snapshot tests of the comparison lessons, 09 and 10: each runs the built example (a debug
//! build, so the times mean nothing) and compares what it printed with
//! `tests/snapshots/<stem>.snap`. What is checked is everything but the numbers that vary:
//! the results, the methods, the shape of the table and of the timeline.
//!
//! Accept a changed example with the README's two steps, in this order:
//! `INSTA_UPDATE=always cargo test --workspace` rewrites the snapshots, then
//! `NOTES_UPDATE=1 cargo test --workspace` copies them into the notes.

mod common;

use insta_cmd::assert_cmd_snapshot;

/// The shared filters, and the few that only these lessons need.
fn settings() -> insta::Settings {
    let mut settings = common::settings();
    // Times and speedups are right-aligned in columns, so the padding before them
    // varies with their width: one space stands for it.
    settings.add_filter(r" +\[(TIME|RATIO)\]", " [$1]");
    // A timeline's bars: where each worker was busy depends on the scheduler.
    settings.add_filter(r"\|[#.]+\|", "|[BARS]|");
    // How often the simulated GIL changed hands.
    settings.add_filter(r"taken \d+ times", "taken [N] times");
    // Where a method starts beating sequential code depends on the machine.
    settings.add_filter(
        r"(faster from n = [\d,]+ on|never faster up to n = [\d,]+)",
        "[CROSSOVER]",
    );
    settings
}

#[test]
fn comparison() {
    settings().bind(|| assert_cmd_snapshot!("09_comparison", common::example("09_comparison")));
}

#[test]
fn comparison_sweep() {
    // The sweep, cut short at n = 10,000 so that a debug build finishes at once.
    let mut sweep = common::example("09_comparison");
    sweep.args(["--sweep", "--n", "10_000"]);
    settings().bind(|| assert_cmd_snapshot!("09_comparison_sweep", sweep));
}

#[test]
fn comparison_rejects_a_bad_flag() {
    // A clear message and exit code 2, never a panic.
    let mut bad = common::example("09_comparison");
    bad.args(["--workers", "two"]);
    settings().bind(|| assert_cmd_snapshot!("09_comparison_bad_flag", bad));
}

#[test]
fn gil() {
    settings().bind(|| assert_cmd_snapshot!("10_gil", common::example("10_gil")));
}
