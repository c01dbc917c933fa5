//! Check of 03_counter_without_lock: the total, for several pairs of steps.
use crate::exercise::{count, main as lesson};
use crate::support::{expect_eq, within};

pub fn main() {
    within("the lesson's main", lesson);
    for (step1, step2) in [(1, 10), (3, -2), (0, 7), (1000, 1)] {
        let total = within("count", move || count(step1, step2));
        expect_eq(
            &format!("count({step1}, {step2})"),
            total,
            10 * (step1 + step2),
        );
    }
}
