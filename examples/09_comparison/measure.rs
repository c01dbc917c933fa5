//! Timing one method: a warm-up run, then repeats until the median is steady, each run's
//! result checked before its time counts.

use std::time::{Duration, Instant, SystemTime};

use super::expected;
use super::method::Method;
use super::workers::Run;

/// Each method runs at least this many times, and for at least `MIN_TIME`: enough runs for
/// a median that one disturbed run cannot move, even when a run takes microseconds.
const REPEATS: usize = 5;
const MIN_TIME: Duration = Duration::from_millis(50);

/// One measurement: the median time of the repeats, when that run started, and its workers.
pub struct Timing {
    pub time: Duration,
    pub start: SystemTime,
    pub runs: Vec<Run>,
}

/// Runs `method` until its median time is known; panics if it ever finds a wrong result.
pub fn measure(method: Method, n: u64, workers: usize) -> mp::Result<Timing> {
    let mut timings = Vec::new();
    method.run(n, workers)?; // a warm-up run, not timed: caches, page faults, clock speed
    let began = Instant::now();
    while timings.len() < REPEATS || began.elapsed() < MIN_TIME {
        let (start, clock) = (SystemTime::now(), Instant::now());
        let runs = method.run(n, workers)?;
        let time = clock.elapsed();
        let total: u128 = runs.iter().map(|run| run.result).sum();
        let label = method.label(workers);
        assert_eq!(total, expected(n, workers), "{label} got it wrong");
        timings.push(Timing { time, start, runs });
    }
    timings.sort_by_key(|timing| timing.time);
    let middle = timings.len() / 2;
    Ok(timings.swap_remove(middle))
}
