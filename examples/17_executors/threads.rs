//! The thread half: Python's `submit` then `result()`, `as_completed` and `map`, on threads.

use std::{sync::mpsc, thread};

use rayon::prelude::*;

use super::job;

/// `submit` on scoped threads; `as_completed` and `map` on the rayon pool `threads`.
pub fn on_threads(threads: &rayon::ThreadPool, tasks: u64) -> [Vec<u64>; 3] {
    let submitted = thread::scope(|s| {
        let futures: Vec<_> = (0..tasks).map(|x| s.spawn(move || job(x))).collect(); // submit
        futures.into_iter().map(|f| f.join().unwrap()).collect() // result(); job never panics
    });
    let (finished, results) = mpsc::channel(); // as_completed: each task sends when it is done
    for x in 0..tasks {
        let finished = finished.clone();
        threads.spawn(move || finished.send(job(x)).expect("main takes every result"));
    }
    drop(finished); // the channel ends once the last task has sent its result
    let completed = results.into_iter().collect();
    let mapped = threads.install(|| (0..tasks).into_par_iter().map(job).collect()); // map
    [submitted, completed, mapped]
}
