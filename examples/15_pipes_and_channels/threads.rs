//! The thread half: the ping-pong on std's `mpsc`, then what crossbeam's channels add.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam::channel::{self, select};

pub const CAPACITY: usize = 4; // how many jobs the bounded channel holds
pub const CONSUMERS: usize = 3;
pub const JOBS: u64 = 20;

/// The same game between two threads: a channel goes one way, so a pipe is two channels.
pub fn mpsc_between_threads(rounds: u64) -> f64 {
    let (ping, pings) = mpsc::channel();
    let (pong, pongs) = mpsc::channel();
    let player = thread::spawn(move || pings.iter().for_each(|n: u64| pong.send(n + 1).unwrap()));
    let (mut n, start) = (0, Instant::now());
    for _ in 0..rounds {
        ping.send(n).unwrap();
        n = pongs.recv().unwrap();
    }
    let each = start.elapsed().as_secs_f64() * 1e6 / rounds as f64;
    drop(ping); // the player's loop ends when its channel is closed
    player.join().unwrap();
    assert_eq!(n, rounds);
    each
}

/// `CONSUMERS` threads take jobs from one bounded channel: crossbeam's receivers can be cloned.
pub fn shared_consumers() -> Vec<u64> {
    let (jobs, queue) = channel::bounded(CAPACITY); // send waits while it holds CAPACITY jobs
    let (done, results) = channel::unbounded();
    thread::scope(|s| {
        for _ in 0..CONSUMERS {
            let (queue, done) = (queue.clone(), done.clone()); // New: a second consumer
            s.spawn(move || queue.iter().for_each(|n: u64| done.send(n * n).unwrap()));
        }
        (0..JOBS).for_each(|n| jobs.send(n).unwrap());
        drop(jobs); // the consumers stop once the channel is closed and empty
    });
    drop(done);
    let mut squares: Vec<u64> = results.iter().collect();
    squares.sort();
    squares
}

/// Waits on two channels at once, takes whichever is ready, and stops after `quiet` of silence.
pub fn select_two(quiet: Duration) -> Vec<String> {
    let (numbers_tx, numbers) = channel::unbounded();
    let (words_tx, words) = channel::unbounded();
    thread::scope(|s| {
        s.spawn(|| numbers_tx.send(7).unwrap());
        s.spawn(|| words_tx.send("seven").unwrap());
    });
    let mut got = Vec::new();
    loop {
        select! {
            recv(numbers) -> n => got.push(format!("number {}", n.unwrap())),
            recv(words) -> w => got.push(format!("word {}", w.unwrap())),
            default(quiet) => return got, // both senders still live, but nothing comes
        }
    }
}
