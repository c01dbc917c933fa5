//! Check of 06_sum_of_squares: other sizes and pool sizes, computed by worker processes.
use crate::exercise::{main as lesson, sum_of_squares};
use crate::support::{children_faults, expect, expect_eq, fail};

pub fn main() {
    if let Err(error) = lesson() {
        fail(&format!("the lesson's main failed: {error}"));
    }
    for (n, processes) in [(10, 3), (100, 2), (1, 1), (1000, 4)] {
        let before = children_faults();
        let got = sum_of_squares(n, processes)
            .unwrap_or_else(|e| fail(&format!("sum_of_squares({n}, {processes}): {e}")));
        expect_eq(
            &format!("sum_of_squares({n}, {processes})"),
            got,
            (0..n).map(|x| x * x).sum(),
        );
        expect(
            &format!("sum_of_squares({n}, {processes}) used worker processes"),
            children_faults() > before,
        );
    }
}
