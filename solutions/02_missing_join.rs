//! Solution of exercise 02_missing_join: keep each thread's handle and join it; `join` waits,
//! and returns the thread's result, or its panic.
use std::any::Any;
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
    let workers: Vec<_> = numbers
        .iter()
        .map(|&x| thread::spawn(move || job(x)))
        .collect();
    // New: join each worker, in order. All of them were started before the first join.
    workers
        .into_iter()
        .map(|worker| worker.join().map_err(panic_message))
        .collect()
}

pub fn main() {
    println!("{:?}", run_jobs(&[1, 2, 3]));
}
