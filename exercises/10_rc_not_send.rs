//! Exercise 10_rc_not_send: the compiler teaches.
//! Lesson: notes/10_gil.md. Check it: `cargo exercise 10_rc_not_send`
//!
//! `count(threads, each)` has `threads` threads each add 1 to one counter `each` times:
//! `count(2, 1000)` must be 2000. In Python the GIL lets any thread touch any object. Here it
//! does not compile: read which type may not go to another thread, and why. Make it compile
//! and count right.
//! (Keep each `pub fn`'s name and signature: the check calls them with other inputs.)
use std::cell::RefCell;
use std::rc::Rc;
use std::thread;

/// `threads` threads each add 1 to one counter `each` times; the total.
pub fn count(threads: usize, each: usize) -> usize {
    let counter = Rc::new(RefCell::new(0));
    let mut workers = Vec::new();
    for _ in 0..threads {
        let counter = Rc::clone(&counter);
        workers.push(thread::spawn(move || {
            for _ in 0..each {
                *counter.borrow_mut() += 1;
            }
        }));
    }
    for worker in workers {
        worker.join().expect("a worker panicked");
    }
    *counter.borrow()
}

pub fn main() {
    println!("{}", count(2, 1000));
}
