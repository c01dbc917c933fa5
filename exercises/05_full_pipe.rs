//! Exercise 05_full_pipe: fix the bug.
//! Lesson: notes/05_queue.md. Check it: `cargo exercise 05_full_pipe`
//!
//! `squares(n)` has a child process compute the squares of 0..n and send them home on a
//! queue. It works for n = 10, and hangs for n = 1,000,000. Fix it, so that it works for any n.
//! (Keep each `pub fn`'s name and signature: the check calls them with other inputs.)
use mp::{Process, Queue};

fn job((n, q): (u64, Queue<Vec<u64>>)) {
    let squares: Vec<u64> = (0..n).map(|i| i * i).collect();
    q.put(squares).expect("the parent keeps the queue open");
}

/// The squares of 0..n, computed in a child process.
pub fn squares(n: u64) -> mp::Result<Vec<u64>> {
    let q = Queue::new()?;
    let mut p = Process::new(job, (n, q.clone()));
    p.start()?;
    p.join()?;
    q.get()
}

pub fn main() -> mp::Result<()> {
    mp::init();
    println!("{:?}", squares(10)?);
    println!(
        "the 1,000,000 squares end with {:?}",
        squares(1_000_000)?.last()
    );
    Ok(())
}
