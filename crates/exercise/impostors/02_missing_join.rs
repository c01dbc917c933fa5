//! Impostor of 02_missing_join: joins every thread, but a panicked job counts as 0, so the
//! caller never hears of it. The check must reject it.
use std::thread;

pub fn job(x: u64) -> u64 {
    assert!(x != 0, "job refuses {x}");
    x * x
}

pub fn run_jobs(numbers: &[u64]) -> Result<Vec<u64>, String> {
    let workers: Vec<_> = numbers
        .iter()
        .map(|&x| thread::spawn(move || job(x)))
        .collect();
    Ok(workers.into_iter().map(|w| w.join().unwrap_or(0)).collect())
}

pub fn main() {
    println!("{:?}", run_jobs(&[1, 2, 3]));
}
