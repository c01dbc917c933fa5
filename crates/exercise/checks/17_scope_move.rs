//! Check of 17_scope_move: the results in order, for other lists.
use crate::exercise::{main as lesson, submit_all};
use crate::support::{expect_eq, within};

pub fn main() {
    within("the lesson's main", lesson);
    for xs in [vec![0, 1, 2, 3], vec![9, 4, 7], vec![]] {
        let want: Vec<u64> = xs.iter().map(|x| x * x).collect();
        let got = within("submit_all", move || submit_all(&xs));
        expect_eq("submit_all", got, want);
    }
}
