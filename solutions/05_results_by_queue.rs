//! Solution of exercise 05_results_by_queue: every child puts (n, result); the parent gets one
//! result per child, then joins, then puts them in the numbers' order.
use std::collections::HashMap;

use mp::{Process, Queue};

/// Runs in each child: the tutorial's job for `n`.
fn job((q, n): (Queue<(u64, u64)>, u64)) {
    let mut result = 0;
    for i in 0..n {
        result += i + i * i;
    }
    q.put((n, result)).expect("the parent keeps the queue open");
}

/// The tutorial's job for each number, each in a process of its own, in the numbers' order.
pub fn results(ns: &[u64]) -> mp::Result<Vec<u64>> {
    let q = Queue::new()?;
    let mut ps: Vec<Process> = ns
        .iter()
        .map(|&n| Process::new(job, (q.clone(), n)))
        .collect();
    for p in &mut ps {
        p.start()?;
    }
    let found: HashMap<u64, u64> = ps.iter().map(|_| q.get()).collect::<mp::Result<_>>()?;
    for p in &mut ps {
        p.join()?;
    }
    Ok(ns.iter().map(|n| found[n]).collect())
}

pub fn main() -> mp::Result<()> {
    mp::init(); // if __name__ == '__main__':
    println!("{:?}", results(&[1000, 1000])?);
    println!("{:?}", results(&[10, 100])?);
    Ok(())
}
