//! Exercise 02_missing_join: fix the bug.
//! Lesson: notes/02_join.md. Check it: `cargo exercise 02_missing_join`
//!
//! `run_jobs` starts one thread per number, each running `job`. It must return every job's
//! result in the order of the numbers, once all jobs have finished; and when a job panics, it
//! must return `Err` with the panic's message instead. As shipped, it does not wait for its
//! threads. Fix it.
//! (Keep each `pub fn`'s name and signature: the check calls them with other inputs.)
use std::any::Any;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// The job: a short wait, then the square. It refuses 0.
pub fn job(x: u64) -> u64 {
    assert!(x != 0, "job refuses {x}");
    thread::sleep(Duration::from_millis(20));
    x * x
}

/// What a thread that panicked left behind, as text.
fn panic_message(panic: Box<dyn Any + Send>) -> String {
    match panic.downcast::<String>() {
        Ok(text) => *text,
        Err(panic) => panic.downcast_ref::<&str>().unwrap_or(&"?").to_string(),
    }
}

/// Each number's job on a thread of its own; the results in order, or the first panic.
pub fn run_jobs(numbers: &[u64]) -> Result<Vec<u64>, String> {
    let results = Arc::new(Mutex::new(vec![0; numbers.len()]));
    for (i, &x) in numbers.iter().enumerate() {
        let results = Arc::clone(&results);
        thread::spawn(move || {
            let square = job(x);
            results.lock().unwrap()[i] = square;
        });
    }
    let results = results.lock().unwrap().clone();
    Ok(results)
}

pub fn main() {
    println!("{:?}", run_jobs(&[1, 2, 3]));
}
