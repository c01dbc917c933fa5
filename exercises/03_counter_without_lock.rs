//! Exercise 03_counter_without_lock: the compiler teaches.
//! Lesson: notes/03_lock.md. Check it: `cargo exercise 03_counter_without_lock`
//!
//! Two threads each add their step to one counter, ten times, as in lesson 03: `count(1, 10)`
//! must be 110. It does not compile: Rust will not let two threads change one number that
//! nothing guards. Make it compile and count right.
//! (Keep each `pub fn`'s name and signature: the check calls them with other inputs.)
use std::thread;

/// Two threads: one adds `step1` ten times, the other `step2` ten times. The total.
pub fn count(step1: i32, step2: i32) -> i32 {
    let mut counter = 0;
    thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..10 {
                counter += step1;
            }
        });
        s.spawn(|| {
            for _ in 0..10 {
                counter += step2;
            }
        });
    });
    counter
}

pub fn main() {
    println!("final value = {}", count(1, 10));
}
