//! Exercise 15_producer_consumer: write it.
//! Lesson: notes/15_pipes_and_channels.md. Check it: `cargo exercise 15_producer_consumer`
//!
//! Port this Python program to Rust with threads and a `std::sync::mpsc` channel.
//! (Keep each `pub fn`'s name and signature: the check calls them with other inputs.)
//!
//! ```python
//! import queue, threading
//!
//! def producer(q, n):
//!     for i in range(n):
//!         q.put(i)
//!     q.put(None)                 # nothing more will come
//!
//! def consumer(q, results):
//!     while (item := q.get()) is not None:
//!         results.append(item * item)
//!
//! def squares(n):
//!     q, results = queue.Queue(), []
//!     threads = [threading.Thread(target=producer, args=(q, n)),
//!                threading.Thread(target=consumer, args=(q, results))]
//!     for t in threads:
//!         t.start()
//!     for t in threads:
//!         t.join()
//!     return results
//!
//! if __name__ == '__main__':
//!     print(squares(5))   # [0, 1, 4, 9, 16]
//! ```
use std::sync::mpsc;
use std::thread;

/// The squares of 0..n, in order: one thread sends the numbers, another squares them.
pub fn squares(n: u64) -> Vec<u64> {
    todo!("port `squares`, `producer` and `consumer`")
}

pub fn main() {
    println!("{:?}", squares(5));
}
