//! Check of 04_fn_not_closure: one report per child, each from a different child of this
//! process, with the greeting it was given.
use crate::exercise::{main as lesson, reports};
use crate::support::{expect, expect_eq, fail};

pub fn main() {
    if let Err(error) = lesson() {
        fail(&format!("the lesson's main failed: {error}"));
    }
    let me = std::process::id();
    for (greeting, children) in [("hi", 3), ("bonjour", 1)] {
        let got = reports(greeting, children)
            .unwrap_or_else(|error| fail(&format!("reports({greeting:?}, {children}): {error}")));
        expect_eq(
            &format!("how many reports reports({greeting:?}, {children}) got"),
            got.len(),
            children,
        );
        let mut pids: Vec<u32> = got.iter().map(|(_, pid, _)| *pid).collect();
        pids.sort();
        pids.dedup();
        expect(
            &format!(
                "each report of reports({greeting:?}, {children}) has the greeting, and \
                      comes from a different child of this process (got {got:?})"
            ),
            pids.len() == children
                && got
                    .iter()
                    .all(|(g, pid, parent)| g == greeting && *pid != me && *parent == me),
        );
    }
}
