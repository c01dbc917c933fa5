//! Check of 07_mutex_between_processes: the count, for other numbers of children, which ran.
use crate::exercise::{count_children, main as lesson};
use crate::support::{children_faults, expect, expect_eq, fail};

pub fn main() {
    if let Err(error) = lesson() {
        fail(&format!("the lesson's main failed: {error}"));
    }
    for children in [1, 5, 3] {
        let before = children_faults();
        let got = count_children(children)
            .unwrap_or_else(|e| fail(&format!("count_children({children}): {e}")));
        expect_eq(&format!("count_children({children})"), got, children as i32);
        expect(
            &format!("count_children({children}) ran child processes"),
            children_faults() > before,
        );
    }
}
