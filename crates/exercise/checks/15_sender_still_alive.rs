//! Check of 15_sender_still_alive: it returns, with every square counted once.
use crate::exercise::{main as lesson, sum_of_squares};
use crate::support::{expect_eq, within};

pub fn main() {
    within("the lesson's main: sum_of_squares(10, 2)", lesson);
    for (n, producers) in [(10, 2), (100, 3), (0, 2), (5000, 1)] {
        let got = within(&format!("sum_of_squares({n}, {producers})"), move || {
            sum_of_squares(n, producers)
        });
        expect_eq(
            &format!("sum_of_squares({n}, {producers})"),
            got,
            (0..n).map(|i| i * i).sum(),
        );
    }
}
