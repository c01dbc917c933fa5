//! Check of 09_split_the_job: the sum for other sizes and numbers of workers, against the
//! closed formula, so that no range is missed or counted twice.
use crate::exercise::{main as lesson, multithread};
use crate::support::{expect_eq, within};

/// The sum of i + i*i for i in 0..n, by formula.
fn expected(n: u64) -> u64 {
    let n = u128::from(n);
    let sum = n * n.saturating_sub(1) / 2 + n.saturating_sub(1) * n * (2 * n).saturating_sub(1) / 6;
    sum as u64
}

pub fn main() {
    within("the lesson's main", lesson);
    for (n, workers) in [(1_000_000, 2), (10, 3), (7, 4), (3, 8), (1001, 1), (0, 2)] {
        let got = within("multithread", move || multithread(n, workers));
        expect_eq(&format!("multithread({n}, {workers})"), got, expected(n));
    }
}
