//! What the crate's machinery costs, each figure beside the raw system limit
//! measured in the same run: `cargo bench -p mp --bench overhead`.
//!
//! Every `raw_*` benchmark does the least the operating system allows for the
//! same job (a bare `fork` + `waitpid`, one byte bounced over two pipes, …);
//! compare each crate benchmark with its raw neighbour, as a ratio.

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::Command;

use divan::counter::ItemsCount;
use divan::{Bencher, black_box};
use mp::{AtomicValue, Pool, Process, Queue, StartMethod, Value};

/// Spawned children re-run this binary: `mp::init()` must come first, and
/// `--exit-at-once` is the "re-run the binary and do nothing" raw limit.
fn main() {
    mp::init();
    if std::env::args().any(|a| a == "--exit-at-once") {
        return;
    }
    divan::main();
}

fn noop(_: ()) {}

fn identity(x: u64) -> u64 {
    x
}

fn square(x: u64) -> u64 {
    x * x
}

// ---- starting a process -------------------------------------------------

/// The floor for a forked child: `fork`, `_exit` in the child, `waitpid`.
#[divan::bench(sample_size = 1, sample_count = 300)]
fn raw_fork_waitpid() {
    // SAFETY: the child only calls `_exit`, which is async-signal-safe.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: ends the child at once.
        unsafe { libc::_exit(0) };
    }
    assert!(pid > 0, "fork failed");
    let mut status = 0;
    // SAFETY: `status` is a valid place for the status word.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
}

#[divan::bench(sample_size = 1, sample_count = 300)]
fn process_fork_start_join() {
    let mut p = Process::new(noop, ()).start_method(StartMethod::Fork);
    p.start().unwrap();
    assert!(p.join().unwrap().success());
}

/// The floor for a spawned child: run this executable again, doing nothing.
#[divan::bench(sample_size = 1, sample_count = 40)]
fn raw_rerun_binary() {
    let status = Command::new("/proc/self/exe")
        .arg("--exit-at-once")
        .status()
        .unwrap();
    assert!(status.success());
}

#[divan::bench(sample_size = 1, sample_count = 40)]
fn process_spawn_start_join() {
    let mut p = Process::new(noop, ()).start_method(StartMethod::Spawn);
    p.start().unwrap();
    assert!(p.join().unwrap().success());
}

// ---- a round trip to another process --------------------------------------

/// A child that echoes every byte it reads: the floor for a round trip.
struct Echo {
    pid: libc::pid_t,
    to_child: std::fs::File,
    from_child: std::fs::File,
}

impl Echo {
    fn start() -> Echo {
        let (mut a, mut b) = ([0; 2], [0; 2]);
        // SAFETY: each array has room for the two descriptors pipe writes.
        unsafe {
            assert_eq!(libc::pipe(a.as_mut_ptr()), 0);
            assert_eq!(libc::pipe(b.as_mut_ptr()), 0);
        }
        // SAFETY: the child only reads, writes and exits; it touches no lock.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let mut byte = [0u8; 1];
            // SAFETY: read/write on our own pipe ends into a local buffer. The
            // child first closes the parent's ends: holding its own copy of the
            // write end `a[1]` would keep it from ever seeing end-of-file.
            unsafe {
                libc::close(a[1]);
                libc::close(b[0]);
                while libc::read(a[0], byte.as_mut_ptr().cast(), 1) == 1 {
                    libc::write(b[1], byte.as_ptr().cast(), 1);
                }
                libc::_exit(0);
            }
        }
        // SAFETY: the parent keeps a[1] and b[0], owned by nobody else, and
        // closes the child's ends.
        unsafe {
            libc::close(a[0]);
            libc::close(b[1]);
            Echo {
                pid,
                to_child: OwnedFd::from_raw_fd(a[1]).into(),
                from_child: OwnedFd::from_raw_fd(b[0]).into(),
            }
        }
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        // Closing our end makes the child's read return 0: it exits.
        drop(std::mem::replace(
            &mut self.to_child,
            std::fs::File::open("/dev/null").unwrap(),
        ));
        // SAFETY: reaping our own child; a null status pointer is allowed.
        unsafe { libc::waitpid(self.pid, std::ptr::null_mut(), 0) };
    }
}

#[divan::bench]
fn raw_pipe_ping_pong(bencher: Bencher) {
    let mut echo = Echo::start();
    bencher.bench_local(|| {
        let mut byte = [7u8];
        echo.to_child.write_all(&byte).unwrap();
        echo.from_child.read_exact(&mut byte).unwrap();
    });
}

#[divan::bench]
fn pool_apply_async_get(bencher: Bencher) {
    let pool = Pool::new(1).unwrap();
    bencher.bench_local(|| {
        pool.apply_async(identity, black_box(7))
            .unwrap()
            .get()
            .unwrap()
    });
}

// ---- bulk work --------------------------------------------------------------

const TASKS: u64 = 100_000;

#[divan::bench(sample_count = 20)]
fn pool_map_100k_tiny_tasks(bencher: Bencher) {
    let pool = Pool::new(2).unwrap();
    bencher
        .counter(ItemsCount::new(TASKS))
        .bench_local(|| pool.map(square, 0..TASKS).unwrap());
}

const MESSAGES: u64 = 200_000;

/// A child that writes `MESSAGES` eight-byte integers, one `write` each.
#[divan::bench(sample_count = 10)]
fn raw_pipe_messages(bencher: Bencher) {
    bencher.counter(ItemsCount::new(MESSAGES)).bench_local(|| {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: the child only writes to its pipe and exits.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            for i in 0..MESSAGES {
                // SAFETY: writes 8 bytes from a local integer.
                unsafe { libc::write(fds[1], (&raw const i).cast(), 8) };
            }
            // SAFETY: ends the child at once.
            unsafe { libc::_exit(0) };
        }
        // SAFETY: fds[1] is ours to close; fds[0] is ours to own.
        let mut reader = unsafe {
            libc::close(fds[1]);
            std::fs::File::from(OwnedFd::from_raw_fd(fds[0]))
        };
        let mut buf = [0u8; 8];
        for _ in 0..MESSAGES {
            reader.read_exact(&mut buf).unwrap();
        }
        // SAFETY: reaping our own child.
        unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
    });
}

fn produce((queue, count): (Queue<u64>, u64)) {
    for i in 0..count {
        queue.put(i).unwrap();
    }
}

#[divan::bench(sample_count = 10)]
fn queue_messages_from_one_process(bencher: Bencher) {
    let queue = Queue::new().unwrap();
    bencher.counter(ItemsCount::new(MESSAGES)).bench_local(|| {
        let mut producer = Process::new(produce, (queue.clone(), MESSAGES));
        producer.start().unwrap();
        for i in 0..MESSAGES {
            assert_eq!(queue.get().unwrap(), i);
        }
        producer.join().unwrap();
    });
}

// ---- shared memory ------------------------------------------------------------

const INCREMENTS: u64 = 1_000_000;

fn locked_increments((value, count): (Value<u64>, u64)) {
    for _ in 0..count {
        *value.lock().unwrap() += 1;
    }
}

fn atomic_increments((value, count): (AtomicValue<u64>, u64)) {
    for _ in 0..count {
        value.fetch_add(1);
    }
}

/// Runs `job` in two processes at once; the counter makes divan report the
/// time per increment across both.
fn two_processes<A: Clone + serde::Serialize + serde::de::DeserializeOwned + Send + 'static>(
    bencher: Bencher,
    job: fn((A, u64)),
    shared: A,
) {
    bencher
        .counter(ItemsCount::new(2 * INCREMENTS))
        .bench_local(|| {
            let mut workers: Vec<Process> = (0..2)
                .map(|_| Process::new(job, (shared.clone(), INCREMENTS)))
                .collect();
            workers.iter_mut().for_each(|p| p.start().unwrap());
            workers
                .iter_mut()
                .for_each(|p| assert!(p.join().unwrap().success()));
        });
}

#[divan::bench(sample_count = 10)]
fn value_locked_increment_2_processes(bencher: Bencher) {
    two_processes(bencher, locked_increments, Value::new(0u64).unwrap());
}

#[divan::bench(sample_count = 10)]
fn value_atomic_increment_2_processes(bencher: Bencher) {
    two_processes(bencher, atomic_increments, AtomicValue::new(0u64).unwrap());
}

/// Runs `increment` `INCREMENTS` times on each of two threads at once; the
/// counter makes divan report the time per increment across both.
fn two_threads(bencher: Bencher, increment: impl Fn() + Sync) {
    bencher
        .counter(ItemsCount::new(2 * INCREMENTS))
        .bench_local(|| {
            std::thread::scope(|s| {
                for _ in 0..2 {
                    s.spawn(|| (0..INCREMENTS).for_each(|_| increment()));
                }
            });
        });
}

/// The floor for a contended atomic: two threads of one process, one counter.
/// Processes cannot beat threads here: the cost is the cache line travelling
/// between the two cores, whoever owns the memory.
#[divan::bench(sample_count = 10)]
fn raw_atomic_increment_2_threads(bencher: Bencher) {
    let counter = std::sync::atomic::AtomicU64::new(0);
    two_threads(bencher, || {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    });
}

/// A contended lock between two threads, with `std::sync::Mutex`: it cannot
/// work between processes, and it does not survive a dead holder, but it
/// shows what a lock costs when it needs neither.
#[divan::bench(sample_count = 10)]
fn raw_std_mutex_increment_2_threads(bencher: Bencher) {
    let counter = std::sync::Mutex::new(0u64);
    two_threads(bencher, || *counter.lock().unwrap() += 1);
}
