//! Check of 15_producer_consumer: every square, in order, for other sizes; and it returns.
use crate::exercise::{main as lesson, squares};
use crate::support::{expect_eq, within};

pub fn main() {
    within("the lesson's main: squares(5)", lesson);
    for n in [5, 0, 1, 10_000] {
        let got = within(&format!("squares({n})"), move || squares(n));
        expect_eq(
            &format!("squares({n})"),
            got,
            (0..n).map(|i| i * i).collect(),
        );
    }
}
