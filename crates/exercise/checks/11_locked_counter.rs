//! Check of 11_locked_counter: `count` for other sizes, then the learner's `add` in three
//! processes of the check's own, 50,000 times each: nothing may be lost.
use mp::{Process, Value};

use crate::exercise::{add, count, main as lesson};
use crate::support::{children_faults, expect, expect_eq, fail};

pub fn main() {
    if let Err(error) = lesson() {
        fail(&format!("the lesson's main failed: {error}"));
    }
    for (processes, times) in [(2, 10_000), (3, 5000), (1, 7)] {
        let before = children_faults();
        let got = count(processes, times)
            .unwrap_or_else(|e| fail(&format!("count({processes}, {times}): {e}")));
        expect_eq(
            &format!("count({processes}, {times})"),
            got,
            processes as i32 * times,
        );
        expect(
            &format!("count({processes}, {times}) ran processes"),
            children_faults() > before,
        );
    }
    let v = Value::new(0).unwrap();
    let mut ps: Vec<Process> = (0..3)
        .map(|_| Process::new(add, (v.clone(), 50_000)))
        .collect();
    for p in &mut ps {
        p.start()
            .unwrap_or_else(|e| fail(&format!("cannot start a process: {e}")));
    }
    for p in &mut ps {
        let status = p
            .join()
            .unwrap_or_else(|e| fail(&format!("cannot join a process: {e}")));
        expect("a process running add ended well", status.success());
    }
    expect_eq(
        "three processes running add(v, 50_000) at once",
        v.get()
            .unwrap_or_else(|e| fail(&format!("cannot read the counter: {e}"))),
        150_000,
    );
}
