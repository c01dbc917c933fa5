//! Check of 05_results_by_queue: the results, in order, for other numbers, computed in child
//! processes.
use crate::exercise::{main as lesson, results};
use crate::support::{children_faults, expect, expect_eq, fail};

fn job(n: u64) -> u64 {
    (0..n).map(|i| i + i * i).sum()
}

pub fn main() {
    if let Err(error) = lesson() {
        fail(&format!("the lesson's main failed: {error}"));
    }
    for ns in [
        vec![1000, 1000],
        vec![10, 100, 1],
        vec![7, 2000, 0, 30],
        vec![],
    ] {
        let before = children_faults();
        let got = results(&ns).unwrap_or_else(|error| fail(&format!("results(&{ns:?}): {error}")));
        let want: Vec<u64> = ns.iter().map(|&n| job(n)).collect();
        expect_eq(&format!("results(&{ns:?})"), got, want);
        if !ns.is_empty() {
            expect(
                &format!("results(&{ns:?}) ran child processes"),
                children_faults() > before,
            );
        }
    }
}
