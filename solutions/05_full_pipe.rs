//! Solution of exercise 05_full_pipe: get first, then join. The child's `put` waits until the
//! parent reads; a parent that joins first waits for the child, and neither moves.
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
    let squares = q.get()?; // New: drain the queue before joining
    p.join()?;
    Ok(squares)
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
