//! The thread half: a bounded buffer on a `Condvar`, a start line on std's `Barrier`, a stop
//! signal, and what a thread that panics does to each.

use std::collections::VecDeque;
use std::sync::{Barrier, Condvar, Mutex};
use std::thread;

use crossbeam::sync::WaitGroup;

/// A producer puts `items` numbers through a buffer that holds `capacity`; what the consumer took.
pub fn bounded_buffer(capacity: usize, items: u32) -> Vec<u32> {
    let (buffer, changed) = (Mutex::new(VecDeque::new()), Condvar::new()); // threading.Condition()
    let mut taken = Vec::new();
    thread::scope(|s| {
        s.spawn(|| {
            for item in 0..items {
                let full = |b: &mut VecDeque<u32>| b.len() == capacity;
                let mut b = changed.wait_while(buffer.lock().unwrap(), full).unwrap(); // wait_for
                b.push_back(item);
                changed.notify_all();
            }
        });
        for _ in 0..items {
            let mut b = changed
                .wait_while(buffer.lock().unwrap(), |b| b.is_empty())
                .unwrap();
            taken.push(b.pop_front().unwrap());
            changed.notify_all();
        }
    });
    taken
}

/// `runners` threads wait at a start line with main, then until main says stop; the number
/// of leaders among them all.
pub fn start_line_and_stop(runners: usize) -> usize {
    let line = Barrier::new(runners + 1); // the runners and main
    let stop = (Mutex::new(false), Condvar::new()); // threading.Event(): a flag and a Condvar
    let run = || {
        let leader = line.wait().is_leader(); // std names one leader; Python numbers them all
        drop(stop.1.wait_while(stop.0.lock().unwrap(), |set| !*set)); // stop.wait()
        leader
    };
    thread::scope(|s| {
        let runners: Vec<_> = (0..runners).map(|_| s.spawn(run)).collect();
        let main_leads = line.wait().is_leader();
        *stop.0.lock().unwrap() = true; // stop.set()
        stop.1.notify_all();
        let leaders = runners.into_iter().map(|r| r.join().unwrap());
        leaders.chain([main_leads]).filter(|&leader| leader).count()
    })
}

/// A thread panics holding the lock: the next `lock()` is told, as a `PoisonError`.
pub fn holder_panics() -> bool {
    let buffer = Mutex::new(VecDeque::from([1, 2]));
    let _ = thread::scope(|s| {
        s.spawn(|| {
            let mut b = buffer.lock().unwrap();
            b.pop_front();
            panic!("dies halfway through an update");
        })
        .join()
    });
    buffer.lock().is_err() // poisoned: the data may be half-updated
}

/// A thread panics before the start line. std's `Barrier` would wait for it forever;
/// crossbeam's `WaitGroup` counts live handles, and a panic drops the thread's handle.
pub fn party_panics_before_the_line() -> bool {
    let line = WaitGroup::new();
    let doomed = line.clone();
    let dead = thread::spawn(move || {
        let _handle = doomed; // dropped by the unwinding panic
        panic!("dies before the start line");
    });
    line.wait(); // returns: no live handle is left to wait for
    dead.join().is_err()
}
