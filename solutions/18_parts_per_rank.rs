//! Solution of exercise 18_parts_per_rank: scale before dividing, so that each boundary
//! `rank * n / size` is rounded down on its own and the remainder spreads over the ranks.
use std::ops::Range;

/// The numbers rank `rank` of `size` works on.
pub fn part(rank: u64, size: u64, n: u64) -> Range<u64> {
    let boundary = |r: u64| (u128::from(r) * u128::from(n) / u128::from(size)) as u64;
    boundary(rank)..boundary(rank + 1)
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
