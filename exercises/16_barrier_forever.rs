//! Exercise 16_barrier_forever: fix the bug.
//! Lesson: notes/16_events_and_barriers.md. Check it: `cargo exercise 16_barrier_forever`
//!
//! `start_line(runners)` has `runners` threads wait at a start line with main; main waits there
//! too, and once everyone has arrived, each runner records its number. It hangs. Fix it, with
//! main still waiting at the line with the runners.
//! (Keep each `pub fn`'s name and signature: the check calls them with other inputs.)
use std::sync::{Barrier, Mutex};
use std::thread;

/// The runners' numbers, sorted, once all have started; and how many leaders the line named.
pub fn start_line(runners: usize) -> (Vec<usize>, usize) {
    let line = Barrier::new(runners);
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
