//! Solution of exercise 09_split_the_job: scoped threads, one range each; `join` returns each
//! thread's sum, so no shared list is needed.
use std::ops::Range;
use std::thread;

/// The tutorial's job, on one range of numbers.
pub fn job(range: Range<u64>) -> u64 {
    range.map(|i| i + i * i).sum()
}

/// The job on 0..n, split into `workers` ranges, each summed on a thread of its own.
pub fn multithread(n: u64, workers: u64) -> u64 {
    let step = n / workers;
    thread::scope(|s| {
        let threads: Vec<_> = (0..workers)
            .map(|k| {
                let start = k * step;
                let stop = if k == workers - 1 { n } else { start + step };
                s.spawn(move || job(start..stop))
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).sum()
    })
}

pub fn main() {
    println!("{}", multithread(1_000_000, 2));
}
