//! Snapshot tests of the thread lessons, 01 to 03: each runs the built example
//! and compares what it printed with `tests/snapshots/<stem>.snap`.
//!
//! Accept a changed example with the README's two steps, in this order:
//! `INSTA_UPDATE=always cargo test --workspace` rewrites the snapshots, then
//! `NOTES_UPDATE=1 cargo test --workspace` copies them into the notes.

mod common;

use insta_cmd::assert_cmd_snapshot;

#[test]
fn thread() {
    common::settings().bind(|| assert_cmd_snapshot!("01_thread", common::example("01_thread")));
}

#[test]
fn join() {
    let mut settings = common::settings();
    // How far the threads got before main would have gone on is up to the
    // scheduler: the learner sees the real numbers, the snapshot `[N]`.
    settings.add_filter(
        r"before join: T1 had taken \d+ of 10 steps, T2 \d+ of 1",
        "before join: T1 had taken [N] of 10 steps, T2 [N] of 1",
    );
    settings.bind(|| assert_cmd_snapshot!("02_join", common::example("02_join")));
}

/// What `03_lock` prints when the thread named `first` takes the lock first.
fn lock_run(first: (&str, i32), second: (&str, i32)) -> String {
    let mut value = 0;
    let mut out = String::new();
    for (name, step) in [first, second] {
        for _ in 0..10 {
            value += step;
            out += &format!("{name}: value = {value}\n");
        }
    }
    out + &format!("final value = {value}, whichever thread took the lock first\n")
}

#[test]
fn lock() {
    // Either thread may take the lock first; each then does all ten of its
    // steps before the other does any. Those two outputs, and nothing else.
    let t1_first = lock_run(("T1", 1), ("T2", 10));
    let t2_first = lock_run(("T2", 10), ("T1", 1));
    // The snapshot stores the run where T1 went first.
    common::assert_legal_snapshot(common::settings(), "03_lock", &[t1_first, t2_first]);
}
