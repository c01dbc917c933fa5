//! Two processes add to one shared number: unlocked they lose updates, locked or atomic they
//! lose none (beyond 三.5 进程锁). Run: `cargo run --example 11_race`
use mp::{AtomicValue, LockError, Process, Value};
use serde::{Serialize, de::DeserializeOwned};
use std::time::{Duration, Instant};

/// Each process adds 1 this many times: enough that their runs overlap.
const INCREMENTS: i32 = 100_000;
const PROCESSES: i32 = 2;

/// Python: `v.value += 1` with no lock. `get` and `set` each take the lock,
/// but another process can write between the two.
fn unlocked(v: Value<i32>) -> mp::Result<()> {
    for _ in 0..INCREMENTS {
        v.set(v.get()? + 1)?;
    }
    Ok(())
}

/// Python: `with v.get_lock(): v.value += 1`. The read and the write happen
/// under one lock.
fn locked(v: Value<i32>) -> mp::Result<()> {
    for _ in 0..INCREMENTS {
        // Nobody dies holding this lock here; if one did, go on with its guard.
        *v.lock().or_else(LockError::recover)? += 1;
    }
    Ok(())
}

/// One CPU instruction reads, adds and writes: nothing can come between.
fn atomic(v: AtomicValue<i32>) -> mp::Result<()> {
    for _ in 0..INCREMENTS {
        v.fetch_add(1);
    }
    Ok(())
}

/// Starts the processes on `job`, waits for them, and returns how long it took.
fn run<A: Clone + Send + Serialize + DeserializeOwned + 'static>(
    job: fn(A) -> mp::Result<()>,
    shared: &A,
) -> mp::Result<Duration> {
    let start = Instant::now();
    let mut processes: Vec<Process> = (0..PROCESSES)
        .map(|_| Process::new(job, shared.clone()))
        .collect();
    for p in &mut processes {
        p.start()?;
    }
    for p in &mut processes {
        assert!(p.join()?.success());
    }
    Ok(start.elapsed())
}

fn main() -> mp::Result<()> {
    mp::init();
    let counter = Value::new(0)?;
    let time = run(unlocked, &counter)?;
    let lost = report("unlocked", counter.get()?, time);
    assert!(lost >= 0, "an unlocked update can be lost, never invented");

    let counter = Value::new(0)?;
    let time = run(locked, &counter)?;
    assert_eq!(report("locked", counter.get()?, time), 0);

    let counter = AtomicValue::new(0)?;
    let time = run(atomic, &counter)?;
    assert_eq!(report("atomic", counter.load(), time), 0);
    println!("The unlocked loss changes from run to run, and can be 0: a race needs bad timing.");
    Ok(())
}

/// Prints one variant's result and time; returns how many updates it lost.
fn report(variant: &str, total: i32, time: Duration) -> i32 {
    let expected = PROCESSES * INCREMENTS;
    let ms = time.as_secs_f64() * 1e3;
    println!(
        "{variant:>8}: {total} of {expected} ({} lost) in {ms:.1} ms",
        expected - total
    );
    expected - total
}
