//! One big array summed four ways: alone, by two threads that borrow it, by two processes sent
//! copies through a `Queue`, by two processes reading one `SharedSlice` (beyond 三.2 Queue and
//! 三.4 共享内存). Run: `cargo run --release --example 14_big_data -- [--n N]`
mod size; // the --n flag: how many numbers to sum

use std::{any::type_name_of_val, ops::Range, thread, time::Instant};

use mp::{Process, Queue, SharedSlice};

fn sum(numbers: &[f64]) -> f64 {
    numbers.iter().sum()
}

/// A worker that is sent its half: it gets a copy, sums it, and sends the sum home.
fn sum_sent_half((halves, sums): (Queue<Vec<f64>>, Queue<f64>)) {
    let half = halves.get().expect("the parent sends each worker a half");
    sums.put(sum(&half)).expect("the parent waits");
}

/// A worker that reads its half where it is, in memory both processes map.
fn sum_shared_half((data, half, sums): (SharedSlice<f64>, Range<usize>, Queue<f64>)) {
    sums.put(sum(&data[half])).expect("the parent waits");
}

fn big_data(n: usize) -> mp::Result<()> {
    let data: Vec<f64> = (0..n).map(|i| (i % 1000) as f64).collect();
    let r = n % 1000; // each full thousand adds 0 + 1 + ... + 999 = 499,500
    let expected = ((n / 1000) * 499_500 + r * r.saturating_sub(1) / 2) as f64;
    let (half, mb) = (n / 2, format!("{:.1} MB", (n * 8) as f64 / 1e6));
    let sent = format!("{mb}, serialized, through a pipe");
    let once = format!("{mb} once, into shared memory");
    println!("the sum of {n} numbers ({mb}), the same all four ways: {expected}");
    let report = |how: &str, start: Instant, total: f64, copied: &str| {
        assert_eq!(total, expected, "{how} found another sum");
        let ms = start.elapsed().as_secs_f64() * 1e3;
        println!("{how:>29}: {ms:.1} ms, copied {copied}");
    };

    let start = Instant::now();
    report("sequential", start, sum(&data), "nothing");

    let start = Instant::now();
    let (left, right) = data.split_at(half); // two borrows of the one array
    let total = thread::scope(|s| {
        let workers = [left, right].map(|half| s.spawn(move || sum(half)));
        let [left, right] = workers.map(|worker| worker.join().expect("a sum cannot panic"));
        left + right
    });
    report("2 threads, borrowing", start, total, "nothing");

    let start = Instant::now();
    let (halves, sums) = (Queue::new()?, Queue::new()?);
    let mut workers = [(); 2].map(|()| Process::new(sum_sent_half, (halves.clone(), sums.clone())));
    workers.iter_mut().try_for_each(Process::start)?;
    halves.put(data[..half].to_vec())?; // put takes what it sends: a copy of the half
    halves.put(data[half..].to_vec())?;
    let total = sums.get()? + sums.get()?;
    for worker in &mut workers {
        worker.join()?;
    }
    report("2 processes, Queue", start, total, &sent);

    let start = Instant::now();
    let (shared, sums) = (SharedSlice::new(&data)?, Queue::new()?); // written once, here
    let name = type_name_of_val(&shared).rsplit("::").next().unwrap(); // "SharedSlice<f64>"
    let args = [0..half, half..n].map(|range| (shared.clone(), range, sums.clone()));
    let mut workers = args.map(|a| Process::new(sum_shared_half, a));
    workers.iter_mut().try_for_each(Process::start)?; // nothing to send: the data is there
    let total = sums.get()? + sums.get()?;
    for worker in &mut workers {
        worker.join()?;
    }
    report(&format!("2 processes, {name}"), start, total, &once);
    Ok(())
}

fn main() -> mp::Result<()> {
    mp::init();
    big_data(size::from_command_line())
}
