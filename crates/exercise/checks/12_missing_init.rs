//! Check of 12_missing_init: the lesson's `main` runs first, as a program's `main` does (a
//! spawned child runs it too), then `spawned_results` for other numbers.
use crate::exercise::{main as lesson, spawned_results};
use crate::support::{children_faults, expect, expect_eq, fail};

pub fn main() {
    if let Err(error) = lesson() {
        fail(&format!("the lesson's main failed: {error}"));
    }
    for ns in [vec![10, 100], vec![2000, 1, 30]] {
        let before = children_faults();
        let got = spawned_results(&ns)
            .unwrap_or_else(|e| fail(&format!("spawned_results(&{ns:?}): {e}")));
        let mut want: Vec<u64> = ns
            .iter()
            .map(|&n| (0..n).map(|i| i + i * i).sum())
            .collect();
        want.sort();
        expect_eq(&format!("spawned_results(&{ns:?})"), got, want);
        expect(
            &format!("spawned_results(&{ns:?}) ran child processes"),
            children_faults() > before,
        );
    }
}
