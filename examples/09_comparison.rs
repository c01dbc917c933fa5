//! The tutorial's job timed sequentially, on threads, with rayon, in processes and under a
//! simulated GIL (tutorial 四 进程与线程与不加任何的对比):
//! `cargo run --release --example 09_comparison -- [--n N] [--workers W] [--sweep]`.

use std::hint::black_box;
use std::ops::{Range, RangeInclusive};
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use mp::{Process, Queue, StartMethod};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

// The simulated GIL is the lesson of 10_gil; this comparison borrows it.
#[path = "10_gil.rs"]
#[allow(dead_code)]
mod gil;

/// The tutorial's job: the sum of `i + i*i` for `i` in `numbers`.
#[inline(never)] // one copy of the loop, so that every method times the same machine code
pub fn job(numbers: Range<u64>) -> u128 {
    let mut result = 0;
    for i in numbers {
        // Without black_box, LLVM turns this loop into a formula or SIMD: see the note.
        let i = black_box(i);
        result += u128::from(i + i * i); // each term fits u64; their sum may not
    }
    result
}

/// What one worker sends back: its result, and when it was busy (wall-clock time,
/// because an `Instant` cannot cross to another process).
#[derive(Serialize, Deserialize)]
pub struct Run {
    /// The job's result.
    pub result: u128,
    /// When the worker was running the job.
    pub busy: Vec<Range<SystemTime>>,
}

fn timed_job(n: u64) -> Run {
    let start = SystemTime::now();
    let result = job(0..n);
    Run {
        result,
        busy: vec![start..SystemTime::now()],
    }
}

fn process_worker((n, results): (u64, Queue<Run>)) {
    results
        .put(timed_job(n))
        .expect("send the result to the parent");
}

fn in_processes(n: u64, workers: usize, method: StartMethod) -> mp::Result<Vec<Run>> {
    let results = Queue::new()?;
    let mut processes: Vec<Process> = (0..workers)
        .map(|_| Process::new(process_worker, (n, results.clone())).start_method(method))
        .collect();
    for process in &mut processes {
        process.start()?;
    }
    let runs = (0..workers)
        .map(|_| results.get())
        .collect::<mp::Result<_>>()?;
    for process in &mut processes {
        process.join()?;
    }
    Ok(runs)
}

/// One way to run `workers` copies of the job.
#[derive(Clone, Copy, PartialEq)]
pub enum Method {
    /// One after the other, on the main thread.
    Sequential,
    /// One forked process each (Python's default start method on Linux).
    Fork,
    /// One spawned process each: the program started afresh.
    Spawn,
    /// One `std::thread` each.
    Threads,
    /// One rayon task each, on rayon's pool.
    Rayon,
    /// One thread each, all under one simulated GIL (10_gil).
    Gil,
}

impl Method {
    /// Every method, forking first: a fork is only safe before any thread has started.
    pub const ALL: [Method; 6] = {
        use Method::*;
        [Sequential, Fork, Spawn, Threads, Rayon, Gil]
    };

    fn label(self, workers: usize) -> String {
        match self {
            Method::Sequential => "sequential".into(),
            Method::Fork => format!("{workers} processes (fork)"),
            Method::Spawn => format!("{workers} processes (spawn)"),
            Method::Threads => format!("{workers} threads"),
            Method::Rayon => format!("rayon, {workers} tasks"),
            Method::Gil => format!("{workers} threads + GIL"),
        }
    }

    fn short(self) -> &'static str {
        match self {
            Method::Sequential => "sequential",
            Method::Fork => "fork",
            Method::Spawn => "spawn",
            Method::Threads => "threads",
            Method::Rayon => "rayon",
            Method::Gil => "GIL",
        }
    }

    /// Runs the job `workers` times this way; returns each worker's run.
    pub fn run(self, n: u64, workers: usize) -> mp::Result<Vec<Run>> {
        Ok(match self {
            Method::Sequential => (0..workers).map(|_| timed_job(n)).collect(),
            Method::Fork => in_processes(n, workers, StartMethod::Fork)?,
            Method::Spawn => in_processes(n, workers, StartMethod::Spawn)?,
            Method::Threads => thread::scope(|s| {
                let threads: Vec<_> = (0..workers).map(|_| s.spawn(|| timed_job(n))).collect();
                threads.into_iter().map(|t| t.join().unwrap()).collect()
            }),
            Method::Rayon => (0..workers).into_par_iter().map(|_| timed_job(n)).collect(),
            Method::Gil => {
                let gil = gil::Gil::default();
                thread::scope(|s| {
                    let threads: Vec<_> = (0..workers)
                        .map(|_| s.spawn(|| gil::job_under_gil(&gil, n, job)))
                        .collect();
                    let runs = threads.into_iter().map(|t| t.join().unwrap());
                    runs.map(|(result, busy)| Run { result, busy }).collect()
                })
            }
        })
    }
}

/// The answer every method must find: `workers` times the job, whose closed form is
/// (n-1)·n·(n+1)/3 (the formula LLVM finds when black_box is left out).
pub fn expected(n: u64, workers: usize) -> u128 {
    workers as u128 * u128::from(n - 1) * u128::from(n) * u128::from(n + 1) / 3
}

/// Each method runs at least this many times, and for at least `MIN_TIME`: enough runs for
/// a median that one disturbed run cannot move, even when a run takes microseconds.
const REPEATS: usize = 5;
const MIN_TIME: Duration = Duration::from_millis(50);

/// One measurement: the median time of the repeats, when that run started, and its workers.
struct Timing {
    time: Duration,
    start: SystemTime,
    runs: Vec<Run>,
}

fn measure(method: Method, n: u64, workers: usize) -> mp::Result<Timing> {
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

fn compare(n: u64, workers: usize) -> mp::Result<()> {
    let timings = Method::ALL.map(|method| measure(method, n, workers));
    let timings = timings.into_iter().collect::<mp::Result<Vec<_>>>()?;
    println!(
        "{workers} jobs, each the sum of i + i*i for i below {}:",
        thousands(n)
    );
    println!("  {}, found by every method", expected(n, workers));
    let sequential = timings[0].time;
    for (method, timing) in Method::ALL.iter().zip(&timings) {
        let label = method.label(workers);
        print!("{label:>22}: {:>9}", show(timing.time));
        if *method == Method::Sequential {
            println!();
        } else {
            println!(" -> {:.2}x", speedup(sequential, timing.time));
        }
    }
    if workers <= 8 {
        timeline(&timings, workers);
    } else {
        println!("(the timeline is drawn for up to 8 workers)");
    }
    println!("Every parallel method pays to start its workers; see where that pays off: --sweep");
    Ok(())
}

/// Draws when each worker of each method was busy, on one time axis.
fn timeline(timings: &[Timing], workers: usize) {
    let axis = timings.iter().map(|timing| timing.time).max().unwrap();
    println!(
        "when each worker was busy (#), on one axis from 0 to {}:",
        show(axis)
    );
    for (method, timing) in Method::ALL.iter().zip(timings) {
        for (worker, run) in timing.runs.iter().enumerate() {
            let label = if worker == 0 {
                method.label(workers)
            } else {
                String::new()
            };
            println!(
                "{label:>22} {} |{}|",
                worker + 1,
                bar(&run.busy, timing.start, axis)
            );
        }
    }
}

fn sweep(largest: u64, workers: usize) -> mp::Result<()> {
    let mut sizes: Vec<u64> = (3..=8)
        .map(|e| 10u64.pow(e))
        .filter(|&n| n <= largest)
        .collect();
    if sizes.is_empty() {
        sizes.push(largest);
    }
    // Method by method, so that every fork comes before the first thread.
    let mut times = Vec::new();
    for method in Method::ALL {
        let row = sizes.iter().map(|&n| Ok(measure(method, n, workers)?.time));
        times.push(row.collect::<mp::Result<Vec<_>>>()?);
    }
    println!("{workers} jobs; speedup against sequential (more than 1 is faster), medians:");
    print!("{:>12} {:>11}", "n", "sequential");
    for method in &Method::ALL[1..] {
        print!(" {:>7}", method.short());
    }
    println!();
    for (i, &n) in sizes.iter().enumerate() {
        print!("{:>12} {:>11}", thousands(n), show(times[0][i]));
        for row in &times[1..] {
            print!(" {:>6.2}x", speedup(times[0][i], row[i]));
        }
        println!();
    }
    for (method, row) in Method::ALL.iter().zip(&times).skip(1) {
        let faster = |i: usize| row[i] < times[0][i];
        // The smallest n from which this method stays faster.
        let from = (0..sizes.len()).rev().take_while(|&i| faster(i)).last();
        let label = method.label(workers);
        match from {
            Some(i) => println!("{label:>22}: faster from n = {} on", thousands(sizes[i])),
            None => println!("{label:>22}: never faster up to n = {}", thousands(largest)),
        }
    }
    Ok(())
}

/// One row of the timeline: a column per 1/60 of `axis`, `#` where the worker was busy
/// for at least half of that column.
fn bar(busy: &[Range<SystemTime>], start: SystemTime, axis: Duration) -> String {
    let offset = |t: SystemTime| t.duration_since(start).unwrap_or_default().as_secs_f64();
    let width = axis.as_secs_f64() / 60.0;
    let column = |c: usize| {
        let (from, to) = (c as f64 * width, (c + 1) as f64 * width);
        let overlaps = busy
            .iter()
            .map(|span| offset(span.end).min(to) - offset(span.start).max(from));
        if overlaps.map(|o| o.max(0.0)).sum::<f64>() >= width / 2.0 {
            '#'
        } else {
            '.'
        }
    };
    (0..60).map(column).collect()
}

/// How many times faster than `sequential` a method that took `time` was.
fn speedup(sequential: Duration, time: Duration) -> f64 {
    sequential.as_secs_f64() / time.as_secs_f64()
}

/// A duration in the unit that suits it.
fn show(time: Duration) -> String {
    match time.as_secs_f64() {
        s if s < 1e-3 => format!("{:.1} µs", s * 1e6),
        s if s < 1.0 => format!("{:.1} ms", s * 1e3),
        s => format!("{s:.2} s"),
    }
}

/// 1000000 as 1,000,000.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let groups: Vec<&str> = digits
        .as_bytes()
        .rchunks(3)
        .rev()
        .map(|g| std::str::from_utf8(g).unwrap())
        .collect();
    groups.join(",")
}

/// The flags, with the tutorial's values as defaults.
struct Args {
    n: Option<u64>,
    workers: usize,
    sweep: bool,
}

const USAGE: &str =
    "usage: cargo run --release --example 09_comparison -- [--n N] [--workers W] [--sweep]
  --n N        how far each job counts (default 1,000,000, the tutorial's; at most 1,000,000,000)
  --workers W  how many jobs, and workers to run them (default 2; at most 64)
  --sweep      time n = 1,000 ... 100,000,000 (or up to --n) and show where parallel wins";

fn parse_args(mut words: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args {
        n: None,
        workers: 2,
        sweep: false,
    };
    while let Some(word) = words.next() {
        match word.as_str() {
            "--n" => args.n = Some(number(&word, words.next(), 1..=1_000_000_000)?),
            "--workers" => args.workers = number(&word, words.next(), 1..=64)? as usize,
            "--sweep" => args.sweep = true,
            _ => return Err(format!("unknown argument `{word}`")),
        }
    }
    Ok(args)
}

fn number(flag: &str, value: Option<String>, allowed: RangeInclusive<u64>) -> Result<u64, String> {
    let value = value.ok_or_else(|| format!("`{flag}` needs a value"))?;
    match value.replace('_', "").parse() {
        Ok(number) if allowed.contains(&number) => Ok(number),
        _ => Err(format!(
            "`{flag} {value}`: expected a whole number from {} to {}",
            thousands(*allowed.start()),
            thousands(*allowed.end())
        )),
    }
}

fn main() -> ExitCode {
    mp::init(); // first: a spawned worker starts here, and goes straight to its job
    let args = std::env::args().skip(1);
    if args.len() == 1 && matches!(std::env::args().nth(1).as_deref(), Some("--help" | "-h")) {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let args = match parse_args(args) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("error: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if cfg!(debug_assertions) {
        println!("note: a debug build; for timings that mean something, add --release");
    }
    let done = if args.sweep {
        sweep(args.n.unwrap_or(100_000_000), args.workers)
    } else {
        compare(args.n.unwrap_or(1_000_000), args.workers)
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
