//! Exercise 12_missing_init: fix the bug.
//! Lesson: notes/12_start_methods.md. Check it: `cargo exercise 12_missing_init`
//!
//! `spawned_results` runs the tutorial's job for each number in a child started with the
//! spawn method, as Python does on macOS and Windows: the child is this program, started
//! afresh. It fails as shipped. Fix it; the children must still be spawned, not forked.
//! (Keep each `pub fn`'s name and signature: the check calls them with other inputs.)
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
    println!("{:?}", spawned_results(&[1000, 1000])?);
    Ok(())
}
