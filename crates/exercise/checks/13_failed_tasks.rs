//! Check of 13_failed_tasks: other lists, with the refused number anywhere, in worker processes.
use crate::exercise::{main as lesson, squares_or_none};
use crate::support::{children_faults, expect, expect_eq, fail};

pub fn main() {
    if let Err(error) = lesson() {
        fail(&format!("the lesson's main failed: {error}"));
    }
    for xs in [vec![0, 1, 2, 3, 4, 5], vec![3, 3, 2], vec![7], vec![]] {
        let before = children_faults();
        let got = squares_or_none(&xs)
            .unwrap_or_else(|e| fail(&format!("squares_or_none(&{xs:?}): {e}")));
        let want: Vec<Option<u64>> = xs.iter().map(|&x| (x != 3).then_some(x * x)).collect();
        expect_eq(&format!("squares_or_none(&{xs:?})"), got, want);
        expect(
            &format!("squares_or_none(&{xs:?}) used worker processes"),
            children_faults() > before,
        );
    }
}
