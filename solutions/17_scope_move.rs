//! Solution of exercise 17_scope_move: `move` copies `x` into its thread's closure. A scoped
//! thread may borrow what outlives the scope, but `x` ends with each turn of the loop.
use std::thread;

fn job(x: u64) -> u64 {
    x * x
}

/// Each x's job on a scoped thread of its own; the results in the order of `xs`.
pub fn submit_all(xs: &[u64]) -> Vec<u64> {
    thread::scope(|s| {
        let mut futures = Vec::new();
        for x in xs.iter().copied() {
            futures.push(s.spawn(move || job(x))); // executor.submit(job, x)
        }
        futures.into_iter().map(|f| f.join().unwrap()).collect() // f.result()
    })
}

pub fn main() {
    println!("{:?}", submit_all(&[0, 1, 2, 3]));
}
