//! Starting the workers: one thread, or one process, per copy of the job, each sending its
//! `Run` back (processes through a queue, as in 05_queue).

use std::thread;

use mp::{Process, Queue, StartMethod};

use super::timeline::{Run, timed_job};

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
