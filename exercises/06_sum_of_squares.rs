//! Exercise 06_sum_of_squares: write it.
//! Lesson: notes/06_pool.md. Check it: `cargo exercise 06_sum_of_squares`
//!
//! Port this Python program to Rust with `mp::Pool`.
//! (Keep each `pub fn`'s name and signature: the check calls them with other inputs.)
//!
//! ```python
//! import multiprocessing as mp
//!
//! def job(x):
//!     return x * x
//!
//! def sum_of_squares(n, processes):
//!     with mp.Pool(processes=processes) as pool:
//!         return sum(pool.map(job, range(n)))
//!
//! if __name__ == '__main__':
//!     print(sum_of_squares(10, 3))   # 285
//! ```
use mp::Pool;

/// The sum of x * x for x in 0..n, the squares computed by a pool of `processes` workers.
pub fn sum_of_squares(n: u64, processes: usize) -> mp::Result<u64> {
    todo!("port `sum_of_squares` and its `job`")
}

pub fn main() -> mp::Result<()> {
    mp::init(); // if __name__ == '__main__':
    println!("{}", sum_of_squares(10, 3)?);
    Ok(())
}
