//! Solution of exercise 16_barrier_forever: the barrier counts every party that waits at it,
//! main included: `runners + 1`. With one too few, it opens for the first `runners` to arrive,
//! and the last one waits for a round that nobody else will join.
use std::sync::{Barrier, Mutex};
use std::thread;

/// The runners' numbers, sorted, once all have started; and how many leaders the line named.
pub fn start_line(runners: usize) -> (Vec<usize>, usize) {
    let line = Barrier::new(runners + 1); // New: the runners and main
    let started = Mutex::new(Vec::new());
    let leaders = thread::scope(|s| {
        let threads: Vec<_> = (0..runners)
            .map(|r| {
                let (line, started) = (&line, &started);
                s.spawn(move || {
                    let leader = line.wait().is_leader();
                    started.lock().unwrap().push(r);
                    leader
                })
            })
            .collect();
        let main_leads = line.wait().is_leader(); // main waits at the line too
        let leaders = threads.into_iter().map(|t| t.join().unwrap());
        leaders.chain([main_leads]).filter(|&leader| leader).count()
    });
    let mut started = started.into_inner().unwrap();
    started.sort();
    (started, leaders)
}

pub fn main() {
    println!("{:?}", start_line(3));
}
