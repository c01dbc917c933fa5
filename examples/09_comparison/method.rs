//! The six ways to run the job side by side, and their names in the reports.

use mp::StartMethod;
use rayon::prelude::*;

use super::gil::Gil;
use super::job;
use super::under_gil::job_under_gil;
use super::workers::{Run, in_processes, on_threads, timed_job};

/// One way to run `workers` copies of the job.
#[derive(Clone, Copy, PartialEq)]
pub enum Method {
    Sequential, // one after the other, on the main thread: the tutorial's "normal"
    Fork,       // one process each, forked: Python's default start method on Linux
    Spawn,      // one process each, the program started afresh
    Threads,    // one std::thread each
    Rayon,      // one task each, on rayon's pool of threads
    Gil,        // one thread each, all under one simulated GIL (10_gil)
}

impl Method {
    /// Every method, forking first: a fork is only safe before any thread has started.
    pub const ALL: [Method; 6] = {
        use Method::*;
        [Sequential, Fork, Spawn, Threads, Rayon, Gil]
    };

    /// Runs the job `workers` times this way; returns each worker's run.
    pub fn run(self, n: u64, workers: usize) -> mp::Result<Vec<Run>> {
        Ok(match self {
            Method::Sequential => (0..workers).map(|_| timed_job(n)).collect(),
            Method::Fork => in_processes(n, workers, StartMethod::Fork)?,
            Method::Spawn => in_processes(n, workers, StartMethod::Spawn)?,
            Method::Threads => on_threads(workers, || timed_job(n)),
            Method::Rayon => (0..workers).into_par_iter().map(|_| timed_job(n)).collect(),
            Method::Gil => {
                let gil = Gil::default(); // one lock, shared by every thread
                on_threads(workers, || job_under_gil(&gil, n, job).into())
            }
        })
    }

    /// The method's name in the report: `2 processes (fork)`.
    pub fn label(self, workers: usize) -> String {
        match self {
            Method::Sequential => "sequential".into(),
            Method::Fork => format!("{workers} processes (fork)"),
            Method::Spawn => format!("{workers} processes (spawn)"),
            Method::Threads => format!("{workers} threads"),
            Method::Rayon => format!("rayon, {workers} tasks"),
            Method::Gil => format!("{workers} threads + GIL"),
        }
    }

    /// The method's name as a column heading of the sweep.
    pub fn short(self) -> &'static str {
        match self {
            Method::Sequential => "sequential",
            Method::Fork => "fork",
            Method::Spawn => "spawn",
            Method::Threads => "threads",
            Method::Rayon => "rayon",
            Method::Gil => "GIL",
        }
    }
}
