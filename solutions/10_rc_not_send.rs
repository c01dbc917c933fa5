//! Solution of exercise 10_rc_not_send: `Arc` counts its owners with atomic operations, and a
//! `Mutex` lets one thread at a time in: both are made for threads. `Rc` and `RefCell` are not
//! (`!Send`, `!Sync`), and the compiler says so before anything runs.
use std::sync::{Arc, Mutex};
use std::thread;

/// `threads` threads each add 1 to one counter `each` times; the total.
pub fn count(threads: usize, each: usize) -> usize {
    let counter = Arc::new(Mutex::new(0));
    let mut workers = Vec::new();
    for _ in 0..threads {
        let counter = Arc::clone(&counter);
        workers.push(thread::spawn(move || {
            for _ in 0..each {
                *counter.lock().unwrap() += 1;
            }
        }));
    }
    for worker in workers {
        worker.join().expect("a worker panicked");
    }
    *counter.lock().unwrap()
}

pub fn main() {
    println!("{}", count(2, 1000));
}
