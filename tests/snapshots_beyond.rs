//! Snapshot tests of the lessons beyond the tutorial: `11_race`, `12_start_methods`, `13_crash`,
//! `14_big_data`, `17_executors`.
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
fn start_methods_bad_flag() {
    let mut bad_flag = common::example("12_start_methods");
    bad_flag.args(["--parent-mb", "lots"]);
    settings().bind(|| assert_cmd_snapshot!("12_start_methods_bad_flag", bad_flag));
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

/// Every order of `items`, each as `{:?}` prints a list: `[0, 1, 4, 9]`, `[0, 1, 9, 4]`, ...
fn every_order(items: &[u64]) -> Vec<String> {
    if items.len() <= 1 {
        return vec![format!("{items:?}")];
    }
    let mut orders = Vec::new();
    for (i, first) in items.iter().enumerate() {
        let mut rest = items.to_vec();
        rest.remove(i);
        for order in every_order(&rest) {
            let tail = order.trim_start_matches('[');
            let joined = if tail == "]" {
                format!("[{first}]")
            } else {
                format!("[{first}, {tail}")
            };
            orders.push(joined);
        }
    }
    orders
}

#[test]
fn executors() {
    // `as completed` lists the four results in the order their tasks finished, which the
    // scheduler decides: each of the 24 orders of [0, 1, 4, 9] is legal and shows as [ORDER];
    // anything else (a result lost, doubled or wrong) is left as it is and fails the comparison.
    let orders = every_order(&[0, 1, 4, 9]);
    assert_eq!(orders.len(), 24);
    let escaped: Vec<String> = orders
        .iter()
        .map(|order| order.replace('[', r"\[").replace(']', r"\]"))
        .collect();
    let mut settings = settings();
    settings.add_filter(
        &format!("as completed: (?:{})", escaped.join("|")),
        "as completed: [ORDER]",
    );
    settings.bind(|| assert_cmd_snapshot!("17_executors", common::example("17_executors")));
}

#[test]
fn executors_rejects_arguments() {
    // Like 14 to 16: a usage message and exit code 2, never a panic or a silent run.
    let mut bad = common::example("17_executors");
    bad.args(["--tasks", "10000"]);
    settings().bind(|| assert_cmd_snapshot!("17_executors_bad_flag", bad));
}
