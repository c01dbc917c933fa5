//! The tutorial's job timed sequentially, on threads, with rayon, in processes and under a
//! simulated GIL (tutorial 四 进程与线程与不加任何的对比):
//! `cargo run --release --example 09_comparison -- [--n N] [--workers W] [--sweep]`.

mod args;
#[path = "../10_gil/gil.rs"]
mod gil; // the simulated GIL is 10_gil's lesson: this comparison borrows it
mod measure;
pub(crate) mod method; // `pub(crate)`: the benchmark runs the methods too
mod report;
mod sweep;
mod timeline;
#[path = "../10_gil/under_gil.rs"]
mod under_gil;
mod workers;

use std::hint::black_box;
use std::ops::Range;
use std::process::ExitCode;

/// The tutorial's job: the sum of `i + i*i` for `i` in `numbers`.
#[inline(never)] // one copy of the loop, so that every method times the same machine code
fn job(numbers: Range<u64>) -> u128 {
    let mut result = 0;
    for i in numbers {
        // Without black_box, LLVM turns this loop into a formula or SIMD: see the note.
        let i = black_box(i);
        result += u128::from(i + i * i); // each term fits u64; their sum may not
    }
    result
}

/// The answer every method must find: `workers` times the job, whose closed form is
/// (n-1)·n·(n+1)/3 (the formula LLVM finds when black_box is left out).
pub(crate) fn expected(n: u64, workers: usize) -> u128 {
    workers as u128 * u128::from(n - 1) * u128::from(n) * u128::from(n + 1) / 3
}

fn main() -> ExitCode {
    mp::init(); // first: a spawned worker starts here, and goes straight to its job
    let args = args::from_command_line(); // --help, or a bad flag, ends the program here
    if cfg!(debug_assertions) {
        println!("note: a debug build; for timings that mean something, add --release");
    }
    let done = if args.sweep {
        sweep::sweep(args.n.unwrap_or(100_000_000), args.workers)
    } else {
        report::compare(args.n.unwrap_or(1_000_000), args.workers)
    };
    if let Err(err) = done {
        eprintln!("error: {err}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
