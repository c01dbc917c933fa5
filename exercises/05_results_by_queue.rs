//! Exercise 05_results_by_queue: write it.
//! Lesson: notes/05_queue.md. Check it: `cargo exercise 05_results_by_queue`
//!
//! Port this Python program to Rust with `mp`: one process per number, every result sent home
//! through one queue, returned in the order of the numbers.
//! (Keep each `pub fn`'s name and signature: the check calls them with other inputs.)
//!
//! ```python
//! import multiprocessing as mp
//!
//! def job(q, n):
//!     result = 0
//!     for i in range(n):
//!         result += i + i**2
//!     q.put((n, result))
//!
//! def results(ns):
//!     q = mp.Queue()
//!     ps = [mp.Process(target=job, args=(q, n)) for n in ns]
//!     for p in ps:
//!         p.start()
//!     found = dict(q.get() for _ in ps)   # in whatever order they come
//!     for p in ps:
//!         p.join()
//!     return [found[n] for n in ns]
//!
//! if __name__ == '__main__':
//!     print(results([1000, 1000]))   # [333333000, 333333000]
//!     print(results([10, 100]))      # [330, 333300]
//! ```
use mp::{Process, Queue};

/// The tutorial's job for each number, each in a process of its own, in the numbers' order.
pub fn results(ns: &[u64]) -> mp::Result<Vec<u64>> {
    todo!("port `results` and its `job`")
}

pub fn main() -> mp::Result<()> {
    mp::init(); // if __name__ == '__main__':
    println!("{:?}", results(&[1000, 1000])?);
    println!("{:?}", results(&[10, 100])?);
    Ok(())
}
