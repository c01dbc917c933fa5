//! Exercise 17_as_completed: write it.
//! Lesson: notes/17_executors.md. Check it: `cargo exercise 17_as_completed`
//!
//! Port this Python program to Rust with `mp::Pool`, taking the results as they complete.
//! (Keep each `pub fn`'s name and signature: the check calls them with other inputs.)
//!
//! ```python
//! from concurrent.futures import ProcessPoolExecutor, as_completed
//!
//! def job(x):
//!     return x * x
//!
//! def squares_as_completed(xs):
//!     with ProcessPoolExecutor(max_workers=2) as executor:
//!         futures = [executor.submit(job, x) for x in xs]
//!         done = [future.result() for future in as_completed(futures)]
//!     return sorted(done)
//!
//! if __name__ == '__main__':
//!     print(squares_as_completed(range(10)))   # [0, 1, 4, 9, ..., 81]
//! ```
use mp::Pool;

/// The squares of `xs` from a pool of two workers, taken as they complete; then sorted.
pub fn squares_as_completed(xs: &[u64]) -> mp::Result<Vec<u64>> {
    todo!("port `squares_as_completed` and its `job`")
}

pub fn main() -> mp::Result<()> {
    mp::init(); // if __name__ == '__main__':
    let xs: Vec<u64> = (0..10).collect();
    println!("{:?}", squares_as_completed(&xs)?);
    Ok(())
}
