//! Check of 16_barrier_forever: it returns, every runner started, and the line opened once,
//! with one leader among all who waited.
use crate::exercise::{main as lesson, start_line};
use crate::support::{expect_eq, within};

pub fn main() {
    within("the lesson's main: start_line(3)", lesson);
    for runners in [3, 1, 6] {
        let got = within(&format!("start_line({runners})"), move || {
            start_line(runners)
        });
        expect_eq(
            &format!("start_line({runners})"),
            got,
            ((0..runners).collect(), 1),
        );
    }
}
