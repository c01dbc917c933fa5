//! A pool task that panics, a pool worker killed mid-task, and a process killed while holding
//! a lock: each is reported, and the program goes on (beyond 三.3 进程池 and 三.5 进程锁).
//! Run: `cargo run --example 13_crash`
use mp::{AsyncResult, ErrorKind, ExitStatus, Lock, LockError, Pool, Process};

/// The tutorial's job, except that it refuses 3.
fn job(x: i32) -> i32 {
    if x == 3 {
        panic!("job refuses {x}");
    }
    x * x
}

/// Dies the way the OOM killer or `kill -9` ends a process: SIGKILL, which no
/// process can catch. Done from inside, so that it happens at a known moment.
fn die_by_sigkill() -> ! {
    // SAFETY: kill has no memory-safety preconditions; SIGKILL ends this process here.
    unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
    unreachable!("SIGKILL cannot be caught")
}

/// A task whose worker is killed while it runs.
fn killed_mid_task(_: i32) -> i32 {
    die_by_sigkill()
}

/// Takes the lock and is killed holding it: the guard is never dropped.
fn hold_and_die(lock: Lock) {
    let _guard = lock.lock();
    die_by_sigkill()
}

fn main() -> mp::Result<()> {
    mp::init();
    let start = std::time::Instant::now();
    let pool = Pool::new(2)?;
    let calls = ["job(2)", "job(3)", "killed_mid_task(4)", "job(5)"];
    let tasks = [
        pool.apply_async(job, 2)?,
        pool.apply_async(job, 3)?,
        pool.apply_async(killed_mid_task, 4)?,
        pool.apply_async(job, 5)?,
    ];
    let results = tasks.map(AsyncResult::get);
    for (call, result) in calls.iter().zip(&results) {
        match result {
            Ok(value) => println!("{call}: {value}"),
            Err(error) => println!("{call} failed: {error}"),
        }
    }
    let kinds = results
        .each_ref()
        .map(|r| r.as_ref().map_err(mp::Error::kind));
    assert!(matches!(kinds, [
        Ok(&4),
        Err(ErrorKind::TaskPanicked { message, .. }),
        Err(ErrorKind::WorkerDied { status: ExitStatus::Signal(libc::SIGKILL), .. }),
        Ok(&25),
    ] if message.contains("job refuses 3")));
    // The pool replaced its dead worker and still has two: it goes on.
    let squares = pool.map(job, [0, 1, 2, 4])?;
    assert_eq!(squares, [0, 1, 4, 16]);
    println!("the pool goes on: {squares:?}");

    let lock = Lock::new()?;
    let mut holder = Process::new(hold_and_die, lock.clone());
    holder.start()?;
    assert_eq!(holder.join()?, ExitStatus::Signal(libc::SIGKILL));
    let Err(LockError::OwnerDied(died)) = lock.lock() else {
        panic!("the holder died holding it: lock() must say so");
    };
    assert_eq!(died.pid(), holder.pid());
    println!("lock: {died}");
    drop(died.into_guard()); // the lock is ours: check the data it guards, then release it
    assert!(lock.lock().is_ok(), "the next holder finds the lock clean");
    println!("lock: taken again, no deadlock");
    let ms = start.elapsed().as_secs_f64() * 1e3;
    println!("three crashes, each reported, nothing hung: {ms:.1} ms in all");
    Ok(())
}
