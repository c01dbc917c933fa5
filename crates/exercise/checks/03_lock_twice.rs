//! Check of 03_lock_twice: no hang, the right total, and each thread's ten reports together,
//! counting up by its step from where the other left the counter.
use crate::exercise::{main as lesson, run};
use crate::support::{expect, expect_eq, within};

/// The reports when `first` ran its whole run, then `second`.
fn legal(first: (&str, i32), second: (&str, i32)) -> Vec<(String, i32)> {
    let steps = [first; 10].into_iter().chain([second; 10]);
    let mut value = 0;
    steps
        .map(|(name, step)| {
            value += step;
            (name.to_owned(), value)
        })
        .collect()
}

pub fn main() {
    within("the lesson's main (T1 and T2 on one counter)", lesson);
    for (step1, step2) in [(1, 10), (2, 5)] {
        let (total, reports) = within("run", move || run(step1, step2));
        expect_eq(
            &format!("run({step1}, {step2})'s final value"),
            total,
            10 * (step1 + step2),
        );
        let orders = [
            legal(("T1", step1), ("T2", step2)),
            legal(("T2", step2), ("T1", step1)),
        ];
        expect(
            &format!(
                "run({step1}, {step2}): each thread's ten reports come together, while it \
                 holds the lock (got {reports:?})"
            ),
            orders.contains(&reports),
        );
    }
}
