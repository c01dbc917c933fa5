//! The comparison's methods, benchmarked at several n:
//! `cargo bench --bench comparison` (and `-- fork` to run only the names matching "fork").
//!
//! The methods are 09_comparison's own, so the benchmark measures exactly what the
//! example prints. Benchmarks run in name order, and `fork` comes first on purpose:
//! forking is only safe while the program has no other thread (rayon's pool lives on).

// The whole example as a module: its `mod args;` and the others resolve beside its main.rs.
// Its report, flags and `main` go unused here.
#[path = "../examples/09_comparison/main.rs"]
#[allow(dead_code)]
mod comparison;

use comparison::method::Method;

fn main() {
    mp::init(); // a spawned worker re-runs this benchmark binary: send it to its job
    divan::main();
}

/// Tiny, the tutorial's size, and large enough for the workers to pay off.
const SIZES: [u64; 3] = [1_000, 1_000_000, 10_000_000];

/// Two workers, as in the tutorial.
const WORKERS: usize = 2;

fn run(method: Method, n: u64) -> u128 {
    let runs = method.run(n, WORKERS).expect("the method runs");
    let total = runs.iter().map(|run| run.result).sum();
    assert_eq!(total, comparison::expected(n, WORKERS));
    total
}

#[divan::bench(args = SIZES, max_time = 2)]
fn fork_processes(n: u64) -> u128 {
    run(Method::Fork, n)
}

#[divan::bench(args = SIZES, max_time = 2)]
fn gil_threads(n: u64) -> u128 {
    run(Method::Gil, n)
}

#[divan::bench(args = SIZES, max_time = 2)]
fn rayon_tasks(n: u64) -> u128 {
    run(Method::Rayon, n)
}

#[divan::bench(args = SIZES, max_time = 2)]
fn sequential(n: u64) -> u128 {
    run(Method::Sequential, n)
}

#[divan::bench(args = SIZES, max_time = 2)]
fn spawn_processes(n: u64) -> u128 {
    run(Method::Spawn, n)
}

#[divan::bench(args = SIZES, max_time = 2)]
fn threads(n: u64) -> u128 {
    run(Method::Threads, n)
}
