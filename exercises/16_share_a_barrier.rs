//! Exercise 16_share_a_barrier: the compiler teaches.
//! Lesson: notes/16_events_and_barriers.md. Check it: `cargo exercise 16_share_a_barrier`
//!
//! `meet(runners)` starts `runners` threads that wait at one start line, std's `Barrier`, and
//! returns how many passed it and how many of them it named leader (one). It does not compile:
//! read what the compiler says about `line`. Make it compile, with one barrier for all.
//! (Keep each `pub fn`'s name and signature: the check calls them with other inputs.)
use std::sync::Barrier;
use std::thread;

/// `runners` threads meet at one line: (how many passed it, how many were named leader).
pub fn meet(runners: usize) -> (usize, usize) {
    let line = Barrier::new(runners);
    let mut threads = Vec::new();
    for _ in 0..runners {
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
