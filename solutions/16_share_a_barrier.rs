//! Solution of exercise 16_share_a_barrier: an `Arc` gives every thread a handle to the one
//! barrier (`Barrier` is not `Clone`, and one moved into the first thread is gone for the rest).
//! Scoped threads borrowing `&line` would do too.
use std::sync::{Arc, Barrier};
use std::thread;

/// `runners` threads meet at one line: (how many passed it, how many were named leader).
pub fn meet(runners: usize) -> (usize, usize) {
    let line = Arc::new(Barrier::new(runners));
    let mut threads = Vec::new();
    for _ in 0..runners {
        let line = Arc::clone(&line); // New: each thread's own handle to the one barrier
        threads.push(thread::spawn(move || line.wait().is_leader()));
    }
    let leaders: Vec<bool> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    (
        leaders.len(),
        leaders.iter().filter(|&&leader| leader).count(),
    )
}

pub fn main() {
    println!("{:?}", meet(3));
}
