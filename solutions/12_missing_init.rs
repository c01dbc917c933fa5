//! Solution of exercise 12_missing_init: `mp::init()` first in `main`. A spawned child runs
//! `main` from the top; `init` sends it to its job, as `if __name__ == '__main__':` keeps
//! Python's child away from the parent's code.
use mp::{Process, Queue, StartMethod};

/// Runs in each child: the tutorial's job for `n`.
fn job((n, q): (u64, Queue<u64>)) {
    let result = (0..n).map(|i| i + i * i).sum();
    q.put(result).expect("the parent keeps the queue open");
}

/// The job's result for each number, each from a spawned child; sorted.
pub fn spawned_results(ns: &[u64]) -> mp::Result<Vec<u64>> {
    let q = Queue::new()?;
    let mut children = Vec::new();
    for &n in ns {
        let mut p = Process::new(job, (n, q.clone())).start_method(StartMethod::Spawn);
        p.start()?;
        children.push(p);
    }
    let mut got: Vec<u64> = ns.iter().map(|_| q.get()).collect::<mp::Result<_>>()?;
    for p in &mut children {
        p.join()?;
    }
    got.sort();
    Ok(got)
}

pub fn main() -> mp::Result<()> {
    mp::init(); // New: Rust's `if __name__ == '__main__':`
    println!("{:?}", spawned_results(&[1000, 1000])?);
    Ok(())
}
