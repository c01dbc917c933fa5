//! Exercise 09_split_the_job: write it.
//! Lesson: notes/09_comparison.md. Check it: `cargo exercise 09_split_the_job`
//!
//! Port this Python program to Rust with threads. In Rust, unlike Python, the threads really
//! run at once, on every core.
//! (Keep each `pub fn`'s name and signature: the check calls them with other inputs.)
//!
//! ```python
//! import threading
//!
//! def job(start, stop):
//!     return sum(i + i * i for i in range(start, stop))
//!
//! def multithread(n, workers):
//!     results = [0] * workers
//!     def run(k, start, stop):
//!         results[k] = job(start, stop)
//!     step = n // workers
//!     threads = []
//!     for k in range(workers):
//!         start = k * step
//!         stop = n if k == workers - 1 else start + step   # the last one takes the rest
//!         t = threading.Thread(target=run, args=(k, start, stop))
//!         t.start()
//!         threads.append(t)
//!     for t in threads:
//!         t.join()
//!     return sum(results)
//!
//! if __name__ == '__main__':
//!     print(multithread(1_000_000, 2))   # 333333333333000000
//! ```
use std::ops::Range;

/// The tutorial's job, on one range of numbers.
pub fn job(range: Range<u64>) -> u64 {
    range.map(|i| i + i * i).sum()
}

/// The job on 0..n, split into `workers` ranges, each summed on a thread of its own.
pub fn multithread(n: u64, workers: u64) -> u64 {
    todo!("port `multithread`")
}

pub fn main() {
    println!("{}", multithread(1_000_000, 2));
}
