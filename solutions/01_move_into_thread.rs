//! Solution of exercise 01_move_into_thread: `move` hands the thread its own `label`.
use std::thread;

/// Starts the job called `label` on a thread named T1, and returns what the thread says.
pub fn start_job(label: String) -> String {
    let thread1 = thread::Builder::new()
        .name("T1".to_owned())
        .spawn(move || {
            // New: `move`: the closure owns `label`, so it lives as long as the thread needs.
            let name = thread::current().name().unwrap_or("<unnamed>").to_owned();
            format!("{label} ran on {name}")
        })
        .expect("the operating system could not start a thread");
    thread1.join().expect("the job panicked")
}

pub fn main() {
    println!("{}", start_job("job1".to_owned()));
}
