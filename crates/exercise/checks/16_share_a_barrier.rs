//! Check of 16_share_a_barrier: every runner passes one line, which names one leader.
use crate::exercise::{main as lesson, meet};
use crate::support::{expect_eq, within};

pub fn main() {
    within("the lesson's main: meet(3)", lesson);
    for runners in [3, 1, 8] {
        let got = within(&format!("meet({runners})"), move || meet(runners));
        expect_eq(&format!("meet({runners})"), got, (runners, 1));
    }
}
