//! Check of 18_parts_per_rank: for many sizes of job and numbers of ranks, the parts cover 0..n
//! in rank order with no gap and no overlap, their lengths differ by at most one, and the ranks'
//! total is the tutorial's sum.
use crate::exercise::{job_on_ranks, main as lesson, part};
use crate::support::{expect, expect_eq, within};

/// The sum of i + i*i for i in 0..n, by formula: (n - 1) n (n + 1) / 3.
fn expected(n: u64) -> u128 {
    let n = u128::from(n);
    n.saturating_sub(1) * n * (n + 1) / 3
}

pub fn main() {
    within("the lesson's main", lesson);
    for (size, n) in [(2, 1000), (3, 1000), (4, 10), (7, 100), (5, 3), (8, 8), (1, 17), (6, 0)] {
        let parts: Vec<_> = (0..size).map(|rank| part(rank, size, n)).collect();
        let mut next = 0;
        for (rank, range) in parts.iter().enumerate() {
            expect(
                &format!("with {size} ranks and n = {n}, rank {rank}'s part {range:?} starts at {next}"),
                range.start == next && range.end >= range.start,
            );
            next = range.end;
        }
        expect(&format!("with {size} ranks, the parts end at n = {n}"), next == n);
        let lengths = parts.iter().map(|range| range.end - range.start);
        let (shortest, longest) = (lengths.clone().min().unwrap(), lengths.max().unwrap());
        expect(
            &format!("with {size} ranks and n = {n}, the parts' lengths differ by at most one ({shortest} to {longest})"),
            longest - shortest <= 1,
        );
        expect_eq(&format!("job_on_ranks({size}, {n})"), job_on_ranks(size, n), expected(n));
    }
}
