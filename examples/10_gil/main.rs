//! Two threads under one global lock, handed over every 5 ms as CPython's GIL is: no speedup
//! (beyond the tutorial; why 四 对比's threads lose): `cargo run --release --example 10_gil`.

mod gil;
mod timeline;
mod under_gil;

use std::hint::black_box;
use std::ops::Range;
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use gil::Gil;
use timeline::timeline;
use under_gil::job_under_gil;

/// The tutorial's job: the sum of `i + i*i` for `i` in `numbers` (see 09_comparison).
#[inline(never)]
fn job(numbers: Range<u64>) -> u128 {
    let mut result = 0;
    for i in numbers {
        let i = black_box(i);
        result += u128::from(i + i * i);
    }
    result
}

/// How far each job counts: far enough for a few dozen switch intervals, in either build.
const N: u64 = if cfg!(debug_assertions) {
    10_000_000
} else {
    50_000_000
};

fn main() -> ExitCode {
    if std::env::args().len() > 1 {
        eprintln!("error: 10_gil takes no arguments (change N or SWITCH_INTERVAL in the source)");
        return ExitCode::from(2);
    }
    let expected = 2 * u128::from(N - 1) * u128::from(N) * u128::from(N + 1) / 3;

    let clock = Instant::now();
    let sequential = job(0..N) + job(0..N);
    let sequential_time = clock.elapsed();

    let clock = Instant::now();
    let free = thread::scope(|s| {
        let threads = [s.spawn(|| job(0..N)), s.spawn(|| job(0..N))];
        threads.map(|t| t.join().unwrap()).iter().sum::<u128>()
    });
    let free_time = clock.elapsed();

    let gil = Gil::default();
    let one_job = || job_under_gil(&gil, N, job);
    let (start, clock) = (SystemTime::now(), Instant::now());
    let [(a, held_1), (b, held_2)] =
        thread::scope(|s| [s.spawn(one_job), s.spawn(one_job)].map(|t| t.join().unwrap()));
    let gil_time = clock.elapsed();

    assert_eq!([sequential, free, a + b], [expected; 3]);
    println!("two jobs, each the sum of i + i*i for i below {N}: {expected}, from all three");
    let ms = |time: Duration| time.as_secs_f64() * 1e3;
    println!("        sequential: {:7.1} ms", ms(sequential_time));
    for (label, time) in [("2 threads", free_time), ("2 threads with GIL", gil_time)] {
        let speedup = ms(sequential_time) / ms(time);
        println!("{label:>18}: {:7.1} ms -> {speedup:.2}x", ms(time));
    }
    timeline([held_1, held_2], start, gil_time);
    let taken = gil.times_taken();
    println!("the GIL was taken {taken} times, and never held by both threads at once");
    ExitCode::SUCCESS
}
