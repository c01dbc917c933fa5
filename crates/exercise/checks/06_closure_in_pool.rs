//! Check of 06_closure_in_pool: other factors and lengths, computed by worker processes.
use crate::exercise::{main as lesson, scaled};
use crate::support::{children_faults, expect, expect_eq, fail};

pub fn main() {
    if let Err(error) = lesson() {
        fail(&format!("the lesson's main failed: {error}"));
    }
    for (factor, n) in [(3, 10), (7, 4), (0, 3), (5, 0)] {
        let before = children_faults();
        let got =
            scaled(factor, n).unwrap_or_else(|e| fail(&format!("scaled({factor}, {n}): {e}")));
        expect_eq(
            &format!("scaled({factor}, {n})"),
            got,
            (0..n).map(|x| x * factor).collect(),
        );
        expect(
            &format!("scaled({factor}, {n}) used worker processes"),
            children_faults() > before,
        );
    }
}
