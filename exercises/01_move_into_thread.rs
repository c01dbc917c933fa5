//! Exercise 01_move_into_thread: the compiler teaches.
//! Lesson: notes/01_thread.md. Check it: `cargo exercise 01_move_into_thread`
//!
//! `start_job` runs a job on a thread named T1 and returns what the thread reports, such as
//! "job1 ran on T1". It does not compile. Read what the compiler says about the closure, then
//! make it compile, with the job still running on T1.
//! (Keep each `pub fn`'s name and signature: the check calls them with other inputs.)
use std::thread;

/// Starts the job called `label` on a thread named T1, and returns what the thread says.
pub fn start_job(label: String) -> String {
    let thread1 = thread::Builder::new()
        .name("T1".to_owned())
        .spawn(|| {
            let name = thread::current().name().unwrap_or("<unnamed>").to_owned();
            format!("{label} ran on {name}")
        })
        .expect("the operating system could not start a thread");
    thread1.join().expect("the job panicked")
}

pub fn main() {
    println!("{}", start_job("job1".to_owned()));
}
