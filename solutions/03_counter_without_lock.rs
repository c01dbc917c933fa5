//! Solution of exercise 03_counter_without_lock: the counter lives inside a `Mutex`, and each
//! thread locks it to reach it. (An `AtomicI32` with `fetch_add` would do too.)
use std::sync::Mutex;
use std::thread;

/// Two threads: one adds `step1` ten times, the other `step2` ten times. The total.
pub fn count(step1: i32, step2: i32) -> i32 {
    let counter = Mutex::new(0);
    thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..10 {
                *counter.lock().unwrap() += step1;
            }
        });
        s.spawn(|| {
            for _ in 0..10 {
                *counter.lock().unwrap() += step2;
            }
        });
    });
    counter.into_inner().unwrap()
}

pub fn main() {
    println!("final value = {}", count(1, 10));
}
