//! Exercise 17_scope_move: the compiler teaches.
//! Lesson: notes/17_executors.md. Check it: `cargo exercise 17_scope_move`
//!
//! `submit_all` is Python's `[executor.submit(job, x) for x in xs]` followed by each future's
//! `result()`, with one scoped thread per x. It does not compile: read what the compiler says
//! about `x`. Make it compile, with each job still on a thread of its own.
//! (Keep each `pub fn`'s name and signature: the check calls them with other inputs.)
use std::thread;

fn job(x: u64) -> u64 {
    x * x
}

/// Each x's job on a scoped thread of its own; the results in the order of `xs`.
pub fn submit_all(xs: &[u64]) -> Vec<u64> {
    thread::scope(|s| {
        let mut futures = Vec::new();
        for x in xs.iter().copied() {
            futures.push(s.spawn(|| job(x))); // executor.submit(job, x)
        }
        futures.into_iter().map(|f| f.join().unwrap()).collect() // f.result()
    })
}

pub fn main() {
    println!("{:?}", submit_all(&[0, 1, 2, 3]));
}
