//! Exercise 18_parts_per_rank: fix the bug.
//! Lesson: notes/18_beyond_one_machine.md. Check it: `cargo exercise 18_parts_per_rank`
//!
//! Under MPI every rank runs this same program and works out its own part of 0..n from its rank
//! alone: nobody hands the work out. `part` must give rank `rank` of `size` ranks its numbers, so
//! that the parts cover 0..n in rank order with no gap and no overlap, and no part is more than
//! one number longer than another (then no rank waits long for the others at the gather). As
//! shipped, the ranks lose numbers whenever n does not divide by `size`. Fix `part`.
//! (Keep each `pub fn`'s name and signature: the check calls them with other inputs.)
use std::ops::Range;

/// The numbers rank `rank` of `size` works on.
pub fn part(rank: u64, size: u64, n: u64) -> Range<u64> {
    let step = n / size;
    rank * step..(rank + 1) * step
}

/// The tutorial's job on 0..n, as `size` ranks compute it between them: each rank sums its own
/// part, and rank 0 adds up the shares it gathers.
pub fn job_on_ranks(size: u64, n: u64) -> u128 {
    let share = |rank| part(rank, size, n).map(|i| u128::from(i + i * i)).sum::<u128>();
    (0..size).map(share).sum()
}

pub fn main() {
    println!("{}", job_on_ranks(2, 1000)); // the tutorial's 333333000
    println!("{}", job_on_ranks(3, 1000)); // the same job on three ranks: the same total
}
