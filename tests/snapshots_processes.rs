//! Snapshot tests of the process lessons, 04 to 08: each runs the built example
//! and compares what it printed with `tests/snapshots/<stem>.snap`.
//!
//! Accept a changed example with the README's two steps, in this order:
//! `INSTA_UPDATE=always cargo test --workspace` rewrites the snapshots, then
//! `NOTES_UPDATE=1 cargo test --workspace` copies them into the notes.

mod common;

use insta_cmd::assert_cmd_snapshot;

#[test]
fn process() {
    // The pids differ on every run; the shared filters show them as `[PID]`.
    common::settings().bind(|| assert_cmd_snapshot!("04_process", common::example("04_process")));
}

#[test]
fn queue() {
    common::settings().bind(|| assert_cmd_snapshot!("05_queue", common::example("05_queue")));
}

#[test]
fn pool() {
    common::settings().bind(|| assert_cmd_snapshot!("06_pool", common::example("06_pool")));
}

#[test]
fn shared_memory() {
    common::settings()
        .bind(|| assert_cmd_snapshot!("07_shared_memory", common::example("07_shared_memory")));
}

/// The twenty `value : N` lines of `08_process_lock` when the process adding
/// `first` takes the lock first, then the lines after them.
fn process_lock_run(first: i32, second: i32) -> String {
    let mut value = 0;
    let mut out = String::new();
    for step in [first, second] {
        for _ in 0..10 {
            value += step;
            out += &format!("value : {value}\n");
        }
    }
    out + &format!("final value : {value}\nAll done!\n")
}

#[test]
fn process_lock() {
    // Either process may take the lock first; it then does all ten of its
    // steps before the other does any. Those two outputs, and nothing else.
    let adds_1_first = process_lock_run(1, 3);
    let adds_3_first = process_lock_run(3, 1);
    // The snapshot stores the run where the process adding 1 went first.
    common::assert_legal_snapshot(
        common::settings(),
        "08_process_lock",
        &[adds_1_first, adds_3_first],
    );
}
