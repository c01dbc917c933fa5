//! Check of 07_copies_not_shared: the parent sees the squares, for other numbers too, and a
//! child process ran.
use crate::exercise::{main as lesson, square_in_child};
use crate::support::{children_faults, expect, expect_eq, fail};

pub fn main() {
    if let Err(error) = lesson() {
        fail(&format!("the lesson's main failed: {error}"));
    }
    for numbers in [vec![1, 2, 3], vec![-4, 5], vec![9]] {
        let before = children_faults();
        let got = square_in_child(&numbers)
            .unwrap_or_else(|e| fail(&format!("square_in_child(&{numbers:?}): {e}")));
        expect_eq(
            &format!("square_in_child(&{numbers:?})"),
            got,
            numbers.iter().map(|x| x * x).collect(),
        );
        expect(
            &format!("square_in_child(&{numbers:?}) ran a child process"),
            children_faults() > before,
        );
    }
}
