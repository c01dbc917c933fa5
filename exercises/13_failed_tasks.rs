//! Exercise 13_failed_tasks: write it.
//! Lesson: notes/13_crash.md. Check it: `cargo exercise 13_failed_tasks`
//!
//! Port this Python program to Rust with `mp::Pool`. A task that panics in a worker must give
//! `None` in its place, and the others their squares.
//! (Keep each `pub fn`'s name and signature: the check calls them with other inputs.)
//!
//! ```python
//! import multiprocessing as mp
//!
//! def job(x):
//!     if x == 3:
//!         raise ValueError("job refuses 3")
//!     return x * x
//!
//! def squares_or_none(xs):
//!     with mp.Pool(processes=2) as pool:
//!         handles = [pool.apply_async(job, (x,)) for x in xs]
//!         results = []
//!         for handle in handles:
//!             try:
//!                 results.append(handle.get())
//!             except ValueError:
//!                 results.append(None)
//!         return results
//!
//! if __name__ == '__main__':
//!     print(squares_or_none(range(6)))   # [0, 1, 4, None, 16, 25]
//! ```
use mp::Pool;

/// The job: the square. It refuses 3.
pub fn job(x: u64) -> u64 {
    if x == 3 {
        panic!("job refuses {x}");
    }
    x * x
}

/// Each x's square from a pool of two workers, or `None` where the task panicked.
pub fn squares_or_none(xs: &[u64]) -> mp::Result<Vec<Option<u64>>> {
    todo!("port `squares_or_none`")
}

pub fn main() -> mp::Result<()> {
    mp::init(); // if __name__ == '__main__':
    let xs: Vec<u64> = (0..6).collect();
    println!("{:?}", squares_or_none(&xs)?);
    Ok(())
}
