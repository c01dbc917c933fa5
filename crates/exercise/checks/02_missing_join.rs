//! Check of 02_missing_join: every result, in order; a job's panic comes back as `Err`.
use crate::exercise::{main as lesson, run_jobs};
use crate::support::{expect, expect_eq, within};

pub fn main() {
    within("the lesson's main", lesson);
    let got = within("run_jobs(&[1, 2, 3])", || run_jobs(&[1, 2, 3]));
    expect_eq("run_jobs(&[1, 2, 3])", got, Ok(vec![1, 4, 9]));
    let got = within("run_jobs(&[7, 5, 9, 2])", || run_jobs(&[7, 5, 9, 2]));
    expect_eq("run_jobs(&[7, 5, 9, 2])", got, Ok(vec![49, 25, 81, 4]));
    let got = within("run_jobs(&[4, 0, 6])", || run_jobs(&[4, 0, 6]));
    expect(
        &format!("run_jobs(&[4, 0, 6]) is an Err that says \"job refuses 0\" (it gave {got:?})"),
        matches!(&got, Err(message) if message.contains("job refuses 0")),
    );
}
