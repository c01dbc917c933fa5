//! Check of 17_as_completed: the sorted squares for other lists, from worker processes.
use crate::exercise::{main as lesson, squares_as_completed};
use crate::support::{children_faults, expect, expect_eq, fail};

pub fn main() {
    if let Err(error) = lesson() {
        fail(&format!("the lesson's main failed: {error}"));
    }
    for xs in [vec![3, 1, 2], (0..100).rev().collect(), vec![5, 5]] {
        let before = children_faults();
        let got = squares_as_completed(&xs)
            .unwrap_or_else(|e| fail(&format!("squares_as_completed(&{xs:?}): {e}")));
        let mut want: Vec<u64> = xs.iter().map(|x| x * x).collect();
        want.sort();
        expect_eq(&format!("squares_as_completed(&{xs:?})"), got, want);
        expect(
            &format!("squares_as_completed(&{xs:?}) used worker processes"),
            children_faults() > before,
        );
    }
}
