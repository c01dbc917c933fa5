//! The workers: what each records while it runs the job (a `Run`), and how they are started,
//! one thread or one process per copy of the job (processes send theirs through a queue, as
//! in 05_queue).

use std::ops::Range;
use std::thread;
use std::time::SystemTime;

use mp::{Process, Queue, StartMethod};
use serde::{Deserialize, Serialize};

use super::job;

/// What one worker sends back: its result, and when it was busy (wall-clock time,
/// because an `Instant` cannot cross to another process).
#[derive(Serialize, Deserialize)]
pub struct Run {
    /// The job's result.
    pub result: u128,
    /// When the worker was running the job.
    pub busy: Vec<Range<SystemTime>>,
}

/// A run from what `job_under_gil` returns: the result, and when the thread held the GIL.
impl From<(u128, Vec<Range<SystemTime>>)> for Run {
    fn from((result, busy): (u128, Vec<Range<SystemTime>>)) -> Run {
        Run { result, busy }
    }
}

/// `job(0..n)`, and when it ran.
pub fn timed_job(n: u64) -> Run {
    let start = SystemTime::now();
    let result = job(0..n);
    Run {
        result,
        busy: vec![start..SystemTime::now()],
    }
}

/// Runs `worker` on `workers` threads of its own, and collects what each returns.
pub fn on_threads(workers: usize, worker: impl Fn() -> Run + Sync) -> Vec<Run> {
    thread::scope(|s| {
        let threads: Vec<_> = (0..workers).map(|_| s.spawn(&worker)).collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    })
}

/// Runs the job in `workers` processes, started with `method`; each sends its run back
/// through one queue.
pub fn in_processes(n: u64, workers: usize, method: StartMethod) -> mp::Result<Vec<Run>> {
    let results = Queue::new()?;
    let mut processes: Vec<Process> = (0..workers)
        .map(|_| Process::new(process_worker, (n, results.clone())).start_method(method))
        .collect();
    for process in &mut processes {
        process.start()?;
    }
    let runs = (0..workers)
        .map(|_| results.get())
        .collect::<mp::Result<_>>()?;
    for process in &mut processes {
        process.join()?; // after `get`: a child blocked on a full pipe would never end
    }
    Ok(runs)
}

/// What each process runs: the job, and its run sent home.
fn process_worker((n, results): (u64, Queue<Run>)) {
    results
        .put(timed_job(n))
        .expect("send the result to the parent");
}
