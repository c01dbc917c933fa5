//! Snapshot tests of the lessons on the rest of Python's toolbox for talking and waiting:
//! `15_pipes_and_channels` and `16_events_and_barriers`.
//!
//! Each runs the built example binary, as a learner would, and compares what it printed with
//! `tests/snapshots/<stem>.snap`. The examples check their own claims with `assert!` (every job
//! done once, the items in order, the places at the barrier, the error kinds).

mod common;

use insta_cmd::assert_cmd_snapshot;

/// The shared filters, plus the pids that `mp`'s messages print as `process 4242`.
fn settings() -> insta::Settings {
    let mut settings = common::settings();
    settings.add_filter(r"\bprocess \d+\b", "process [PID]");
    settings
}

#[test]
fn pipes_and_channels() {
    // `select!` shuffles the two ready channels before it picks one. crossbeam seeds that
    // shuffle with a constant, so one build of the example picks the same way in every run,
    // but a change anywhere before the `select!` (or another crossbeam) may pick the other:
    // the number may come first or second. The snapshot stores the number first; the other
    // order is rewritten into it, and anything else (a message lost, or taken twice) fails.
    let mut settings = settings();
    common::add_rewrite(
        &mut settings,
        "select!: word seven, number 7,",
        "select!: number 7, word seven,",
    );
    settings.bind(|| {
        assert_cmd_snapshot!(
            "15_pipes_and_channels",
            common::example("15_pipes_and_channels")
        )
    });
}

#[test]
fn pipes_and_channels_bad_flag() {
    let mut bad_flag = common::example("15_pipes_and_channels");
    bad_flag.args(["--rounds", "zero"]);
    settings().bind(|| assert_cmd_snapshot!("15_pipes_and_channels_bad_flag", bad_flag));
}

#[test]
fn events_and_barriers() {
    // Nothing here is up to the scheduler: one producer and one consumer keep the buffer's
    // order, the places at the barrier are sorted, and each party dies where the program
    // says. Only the pids vary.
    settings().bind(|| {
        assert_cmd_snapshot!(
            "16_events_and_barriers",
            common::example("16_events_and_barriers")
        )
    });
}

#[test]
fn events_and_barriers_rejects_arguments() {
    // Like every lesson that reads no flags: a usage message and exit code 2, never a panic.
    let mut bad = common::example("16_events_and_barriers");
    bad.arg("--items");
    settings().bind(|| assert_cmd_snapshot!("16_events_and_barriers_bad_flag", bad));
}
