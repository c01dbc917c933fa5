//! Exercise 07_mutex_between_processes: the compiler teaches.
//! Lesson: notes/07_shared_memory.md. Check it: `cargo exercise 07_mutex_between_processes`
//!
//! `count_children(n)` starts n child processes; each adds 1 to one shared counter, and the
//! parent reads it at the end: `count_children(2)` must be 2. Between threads, an
//! `Arc<Mutex<i32>>` would do. Between processes it does not compile: read why, and give the
//! children a counter they really share.
//! (Keep each `pub fn`'s name and signature: the check calls them with other inputs.)
use std::sync::{Arc, Mutex};

use mp::Process;

/// Runs in each child: adds 1 to the shared counter.
fn job(counter: Arc<Mutex<i32>>) {
    *counter.lock().unwrap() += 1;
}

/// Starts `children` processes that each add 1 to one counter; the counter at the end.
pub fn count_children(children: usize) -> mp::Result<i32> {
    let counter = Arc::new(Mutex::new(0));
    let mut started = Vec::new();
    for _ in 0..children {
        let mut p = Process::new(job, Arc::clone(&counter));
        p.start()?;
        started.push(p);
    }
    for p in &mut started {
        p.join()?;
    }
    let total = *counter.lock().unwrap();
    Ok(total)
}

pub fn main() -> mp::Result<()> {
    mp::init(); // if __name__ == '__main__':
    println!("counter = {}", count_children(2)?);
    Ok(())
}
