//! Exercise 15_sender_still_alive: fix the bug.
//! Lesson: notes/15_pipes_and_channels.md. Check it: `cargo exercise 15_sender_still_alive`
//!
//! `sum_of_squares(n, producers)` has `producers` threads send the squares of 0..n (each its
//! share) down one channel, and adds up what arrives. Every square arrives, yet it never
//! returns. Fix it.
//! (Keep each `pub fn`'s name and signature: the check calls them with other inputs.)
use std::sync::mpsc;
use std::thread;

/// The sum of i * i for i in 0..n, the squares sent by `producers` threads (at least one).
pub fn sum_of_squares(n: u64, producers: u64) -> u64 {
    let (tx, rx) = mpsc::channel();
    for p in 0..producers {
        let tx = tx.clone();
        thread::spawn(move || {
            for i in (p..n).step_by(producers as usize) {
                tx.send(i * i).expect("the receiver is still there");
            }
        });
    }
    rx.iter().sum() // for square in rx: ... until nothing more can come
}

pub fn main() {
    println!("{}", sum_of_squares(10, 2));
}
