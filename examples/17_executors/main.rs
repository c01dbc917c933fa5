//! Python's `concurrent.futures` (`submit`, `as_completed`, `map`) on threads, with
//! `thread::scope` and rayon, and on processes, with `mp::Pool`; then a process worker killed
//! mid-task (beyond 三.3 进程池). Run: `cargo run --example 17_executors`
mod threads; // the thread half: thread::scope, an mpsc channel and rayon

use std::time::Instant;

use mp::{AsyncResult, ErrorKind, ExitStatus, Pool};
use threads::on_threads;

const TASKS: u64 = 1000; // each of the three calls, in the timed runs
const LONE_WORKERS: usize = 1; // the pool whose worker is killed

fn job(x: u64) -> u64 {
    x * x
}

/// Dies like `kill -9` does it, at a known moment: in the middle of its task.
fn killed_mid_task(_: u64) -> u64 {
    // SAFETY: kill has no memory-safety preconditions; SIGKILL ends this process here.
    unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
    unreachable!("SIGKILL cannot be caught")
}

/// Python's `submit` then `result()`, `as_completed` and `map`, on worker processes.
fn on_processes(pool: &Pool, tasks: u64) -> mp::Result<[Vec<u64>; 3]> {
    let submit = |x| pool.apply_async(job, x); // executor.submit(job, x)
    let futures: Vec<AsyncResult<u64>> = (0..tasks).map(submit).collect::<mp::Result<_>>()?;
    let results = futures.into_iter().map(AsyncResult::get); // result(), in submit order
    let submitted = results.collect::<mp::Result<_>>()?;
    let as_completed = pool.imap_unordered(job, 0..tasks)?; // yields results as they finish
    let completed = as_completed.collect::<mp::Result<_>>()?;
    Ok([submitted, completed, pool.map(job, 0..tasks)?])
}

fn report(who: &str, [submitted, completed, mapped]: [Vec<u64>; 3]) {
    let mut sorted = completed.clone();
    sorted.sort();
    assert!(submitted == [0, 1, 4, 9] && mapped == submitted && sorted == submitted);
    println!("{who}\n  submit, then result: {submitted:?}\n  as completed: {completed:?}");
    println!("  map: {mapped:?}");
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    mp::init();
    if std::env::args().len() > 1 {
        eprintln!("error: unexpected arguments\nusage: cargo run --example 17_executors");
        std::process::exit(2);
    }
    // Processes first: the pools fork their workers before this program has any other thread.
    let pool = Pool::new(2)?; // ProcessPoolExecutor(max_workers=2)
    let processes = on_processes(&pool, 4)?;
    let start = Instant::now();
    on_processes(&pool, TASKS)?;
    let by_process = start.elapsed() / (3 * TASKS as u32);

    let lone = Pool::new(LONE_WORKERS)?; // one worker: job(5) waits behind the task that kills it
    let doomed = lone.apply_async(killed_mid_task, 4)?;
    let after = lone.apply_async(job, 5)?;
    let killed = doomed.get().expect_err("its worker was killed");
    let (after, afterwards) = (after.get()?, lone.apply(job, 6)?);
    drop((pool, lone)); // Python's `with` block ends: the workers are stopped and reaped

    let threads = rayon::ThreadPoolBuilder::new().num_threads(2).build()?; // ThreadPoolExecutor(2)
    let threaded = on_threads(&threads, 4);
    let start = Instant::now();
    on_threads(&threads, TASKS);
    let by_thread = start.elapsed() / (3 * TASKS as u32);

    report("threads: thread::scope, rayon (2 threads)", threaded);
    report("processes: mp::Pool (2 workers)", processes);
    let sigkill = ExitStatus::Signal(libc::SIGKILL);
    assert!(matches!(killed.kind(), ErrorKind::WorkerDied { status, .. } if *status == sigkill));
    assert_eq!((after, afterwards), (25, 36));
    println!("processes: a worker killed mid-task, on a pool of {LONE_WORKERS}");
    println!("  killed_mid_task(4): {killed}");
    println!("  job(5), submitted after it: {after}\n  job(6), submitted afterwards: {afterwards}");
    println!("3 x {TASKS} tasks: {by_thread:.1?} each on threads, {by_process:.1?} on processes");
    Ok(())
}
