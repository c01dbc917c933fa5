//! Check of 10_rc_not_send: nothing lost, for other numbers of threads and steps.
use crate::exercise::{count, main as lesson};
use crate::support::{expect_eq, within};

pub fn main() {
    within("the lesson's main", lesson);
    for (threads, each) in [(2, 1000), (4, 25_000), (1, 0), (8, 10)] {
        let got = within("count", move || count(threads, each));
        expect_eq(&format!("count({threads}, {each})"), got, threads * each);
    }
}
