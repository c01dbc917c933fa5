//! Pool's Python vocabulary: `apply`, `starmap`, `starmap_async`, `map_async`,
//! `AsyncResult::{ready, wait, wait_timeout, successful}`, the builder with an
//! `initializer` and `max_tasks_per_child`; across fork and spawn, with tasks
//! held at a known point by a pipe, and workers killed there.

mod harness;

use std::collections::BTreeSet;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use mp::{ErrorKind, ExitStatus, Pool, StartMethod};

const METHODS: [StartMethod; 2] = [StartMethod::Fork, StartMethod::Spawn];

fn assert_kind<T: std::fmt::Debug>(result: mp::Result<T>, expected: fn(&ErrorKind) -> bool) {
    match result {
        Err(err) if expected(err.kind()) => {}
        other => panic!("unexpected outcome: {other:?}"),
    }
}

fn square(x: u64) -> u64 {
    x * x
}

fn power(base: u64, exponent: u32) -> u64 {
    base.pow(exponent)
}

fn power_fails_on_zero(base: u64, exponent: u32) -> u64 {
    assert!(exponent > 0, "exponent 0 for base {base}");
    base.pow(exponent)
}

fn fails_on_three(x: u64) -> u64 {
    assert_ne!(x, 3, "item {x} is bad");
    x
}

fn own_pid((): ()) -> u32 {
    std::process::id()
}

fn own_pid_of(_item: u64) -> u32 {
    std::process::id()
}

fn kill_own_process_on(x: u64) -> u64 {
    if x == 5 {
        // SAFETY: kill has no memory-safety preconditions; this worker ends here.
        unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
    }
    x
}

/// A pipe whose ends both survive `exec`, so that forked and spawned pool
/// workers alike inherit them: a task told the read end's number waits there
/// until the test writes a byte. That is how a task is held at a known point.
struct Gate {
    read: OwnedFd,
    write: OwnedFd,
}

impl Gate {
    fn new() -> Gate {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors pipe() writes.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: pipe() just made these descriptors, owned by nobody else.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        Gate { read, write }
    }

    fn fd(&self) -> i32 {
        self.read.as_raw_fd()
    }

    /// Lets `n` waiting tasks through.
    fn open(&self, n: usize) {
        let bytes = vec![7u8; n];
        // SAFETY: `bytes` is valid for `n` bytes; the pipe has room for them.
        let wrote = unsafe { libc::write(self.write.as_raw_fd(), bytes.as_ptr().cast(), n) };
        assert_eq!(wrote, n as isize);
    }
}

/// Waits at the gate whose read end is `fd`, then returns what it read.
fn wait_at_gate(fd: i32) -> u64 {
    let mut byte = 0u8;
    // SAFETY: `byte` is a valid place for one byte.
    let got = unsafe { libc::read(fd, (&raw mut byte).cast(), 1) };
    assert_eq!(got, 1, "the gate closed");
    u64::from(byte)
}

fn apply_blocks_and_returns_the_result() {
    for method in METHODS {
        let pool = Pool::with_start_method(2, method).unwrap();
        assert_eq!(pool.apply(square, 7).unwrap(), 49, "{method:?}");
        assert_kind(
            pool.apply(fails_on_three, 3),
            |k| matches!(k, ErrorKind::TaskPanicked { message, .. } if message.contains("item 3 is bad")),
        );
        // The worker goes on.
        assert_eq!(pool.apply(square, 8).unwrap(), 64);
        pool.join().unwrap();
    }
}

fn starmap_calls_with_two_arguments_in_order() {
    for method in METHODS {
        let pool = Pool::with_start_method(3, method).unwrap();
        assert_eq!(
            pool.starmap(power, [(2, 3), (10, 2), (7, 0)]).unwrap(),
            [8, 100, 1],
            "{method:?}"
        );
        // Enough pairs for several chunks: still in order.
        let pairs: Vec<(u64, u32)> = (0..100).map(|i| (i, 2)).collect();
        let expected: Vec<u64> = (0..100).map(|i| i * i).collect();
        assert_eq!(pool.starmap(power, pairs).unwrap(), expected);
        assert!(pool.starmap(power, Vec::new()).unwrap().is_empty());
        pool.join().unwrap();
    }
}

fn starmap_reports_the_first_failing_pair() {
    let pool = Pool::new(2).unwrap();
    let pairs = [(1, 1), (2, 0), (3, 0), (4, 1)];
    assert_kind(
        pool.starmap(power_fails_on_zero, pairs),
        |k| matches!(k, ErrorKind::TaskPanicked { message, .. } if message.contains("base 2")),
    );
    // The same through starmap_async, whose result says it failed.
    let result = pool.starmap_async(power_fails_on_zero, pairs).unwrap();
    result.wait().unwrap();
    assert_eq!(result.successful(), Some(false));
    assert_kind(result.get(), |k| {
        matches!(k, ErrorKind::TaskPanicked { .. })
    });
    pool.join().unwrap();
}

fn map_async_and_starmap_async_return_at_once() {
    for method in METHODS {
        let gate = Gate::new();
        let pool = Pool::with_start_method(2, method).unwrap();
        // Three items, each held at the gate: nothing can finish yet.
        let held = pool.map_async(wait_at_gate, vec![gate.fd(); 3]).unwrap();
        let squares = pool.starmap_async(power, [(3, 2), (4, 2)]).unwrap();
        assert!(!held.ready(), "{method:?}");
        assert_eq!(held.successful(), None);
        assert!(!held.wait_timeout(Duration::from_millis(20)).unwrap());
        assert_kind(held.get_timeout(Duration::from_millis(1)), |k| {
            matches!(k, ErrorKind::Timeout { .. })
        });
        // Two of three through: still not ready.
        gate.open(2);
        assert!(!held.wait_timeout(Duration::from_millis(20)).unwrap());
        gate.open(1);
        assert_eq!(held.get().unwrap(), [7, 7, 7], "{method:?}");
        assert_eq!(squares.get().unwrap(), [9, 16]);
        assert!(
            pool.map_async(square, Vec::new())
                .unwrap()
                .get()
                .unwrap()
                .is_empty()
        );
        pool.join().unwrap();
    }
}

fn ready_wait_and_successful_follow_one_task() {
    for method in METHODS {
        let gate = Gate::new();
        let pool = Pool::with_start_method(1, method).unwrap();
        let result = pool.apply_async(wait_at_gate, gate.fd()).unwrap();
        assert!(!result.ready(), "{method:?}");
        assert_eq!(result.successful(), None);
        assert!(!result.wait_timeout(Duration::from_millis(10)).unwrap());
        gate.open(1);
        result.wait().unwrap();
        assert!(result.ready());
        assert_eq!(result.successful(), Some(true));
        // Waiting again, or for no time at all, is fine once it is in.
        assert!(result.wait_timeout(Duration::ZERO).unwrap());
        assert!(result.wait_timeout(Duration::MAX).unwrap());
        assert_eq!(result.get().unwrap(), 7);

        let failed = pool.apply_async(fails_on_three, 3).unwrap();
        failed.wait().unwrap();
        assert_eq!(failed.successful(), Some(false));
        assert_kind(failed.get(), |k| {
            matches!(k, ErrorKind::TaskPanicked { .. })
        });
        pool.join().unwrap();
    }
}

fn ready_alone_sees_a_result_arrive() {
    let gate = Gate::new();
    let pool = Pool::new(1).unwrap();
    let result = pool.apply_async(wait_at_gate, gate.fd()).unwrap();
    gate.open(1);
    // Nobody else waits on the pool: `ready` itself collects the result. The
    // worker answers after the byte, so asking until it says yes ends.
    let mut asked = 0u64;
    while !result.ready() {
        asked += 1;
        assert!(asked < 60_000, "ready() never saw the result come in");
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(result.get().unwrap(), 7, "after {asked} asks");
}

fn a_worker_killed_in_map_async_fails_that_map_and_the_pool_goes_on() {
    for method in METHODS {
        let pool = Pool::with_start_method(2, method).unwrap();
        let result = pool.map_async(kill_own_process_on, 0..8).unwrap();
        result.wait().unwrap();
        assert_eq!(result.successful(), Some(false), "{method:?}");
        assert_kind(
            result.get(),
            |k| matches!(k, ErrorKind::WorkerDied { status, .. } if *status == ExitStatus::Signal(libc::SIGKILL)),
        );
        assert_eq!(pool.map(square, 0..4).unwrap(), [0, 1, 4, 9]);
        pool.join().unwrap();
    }
}

fn apply_from_two_threads_at_once() {
    let pool = Pool::new(2).unwrap();
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| (0..20).map(|i| pool.apply(square, i).unwrap()).sum::<u64>());
        let b = s.spawn(|| pool.starmap(power, (0..20).map(|i| (i, 3))).unwrap());
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(a, (0..20).map(|i| i * i).sum::<u64>());
    assert_eq!(b, (0..20).map(|i| i * i * i).collect::<Vec<u64>>());
    pool.join().unwrap();
}

/// How many times the initializer ran in this process, and with what.
static INIT_CALLS: AtomicU32 = AtomicU32::new(0);
static INIT_VALUE: AtomicU64 = AtomicU64::new(0);

fn initialize(value: u64) {
    INIT_CALLS.fetch_add(1, Ordering::Relaxed);
    INIT_VALUE.store(value, Ordering::Relaxed);
}

/// What a task sees of its worker: pid, initializer calls, initializer value.
fn worker_state(_item: u64) -> (u32, u32, u64) {
    (
        std::process::id(),
        INIT_CALLS.load(Ordering::Relaxed),
        INIT_VALUE.load(Ordering::Relaxed),
    )
}

fn the_initializer_runs_once_in_every_worker() {
    for method in METHODS {
        let pool = Pool::builder()
            .processes(2)
            .start_method(method)
            .initializer(initialize, 42)
            .build()
            .unwrap();
        let states = pool.map_chunked(worker_state, 0..40, 1).unwrap();
        assert!(
            states
                .iter()
                .all(|&(_, calls, value)| (calls, value) == (1, 42)),
            "{method:?}: {states:?}"
        );
        pool.join().unwrap();
        // This process never ran it.
        assert_eq!(INIT_CALLS.load(Ordering::Relaxed), 0);
    }
}

/// One worker at a time, replaced after every two tasks.
fn one_worker_two_tasks_each(method: StartMethod) -> Pool {
    Pool::builder()
        .processes(1)
        .start_method(method)
        .max_tasks_per_child(2)
        .build()
        .unwrap()
}

/// Six pids of tasks run in that order: each worker did two, then a new one came.
fn assert_two_tasks_per_worker(pids: &[u32], method: StartMethod) {
    assert_eq!(pids[0], pids[1], "{method:?}: {pids:?}");
    assert_eq!(pids[2], pids[3], "{pids:?}");
    assert_eq!(pids[4], pids[5], "{pids:?}");
    let distinct: BTreeSet<u32> = pids.iter().copied().collect();
    assert_eq!(distinct.len(), 3, "{pids:?}");
}

fn max_tasks_per_child_replaces_a_worker_after_that_many_tasks() {
    for method in METHODS {
        let pool = one_worker_two_tasks_each(method);
        let pids: Vec<u32> = (0..6).map(|_| pool.apply(own_pid, ()).unwrap()).collect();
        assert_two_tasks_per_worker(&pids, method);
        // A chunk of map is one task.
        let pids = pool.map_chunked(own_pid_of, 0..4, 2).unwrap();
        assert_eq!(pids[0], pids[1]);
        assert_eq!(pids[2], pids[3]);
        pool.join().unwrap();
        assert!(mp::active_children().is_empty(), "{method:?}");
    }
}

/// The same with the tasks given all at once: a worker is handed its next
/// task before it ends the current one, but never one past its quota.
fn max_tasks_per_child_holds_for_tasks_given_at_once() {
    for method in METHODS {
        let pool = one_worker_two_tasks_each(method);
        let handles: Vec<_> = (0..6)
            .map(|_| pool.apply_async(own_pid, ()).unwrap())
            .collect();
        let pids: Vec<u32> = handles.into_iter().map(|h| h.get().unwrap()).collect();
        assert_two_tasks_per_worker(&pids, method);
        pool.join().unwrap();
    }
}

fn replacement_workers_run_the_initializer_too() {
    for method in METHODS {
        let pool = Pool::builder()
            .processes(2)
            .start_method(method)
            .initializer(initialize, 7)
            .max_tasks_per_child(1)
            .build()
            .unwrap();
        let states: Vec<(u32, u32, u64)> = (0..6)
            .map(|i| pool.apply(worker_state, i).unwrap())
            .collect();
        let pids: BTreeSet<u32> = states.iter().map(|s| s.0).collect();
        assert_eq!(pids.len(), 6, "{method:?}: a new worker for every task");
        assert!(
            states
                .iter()
                .all(|&(_, calls, value)| (calls, value) == (1, 7)),
            "{states:?}"
        );
        pool.join().unwrap();
    }
}

fn a_killed_worker_is_replaced_with_an_initialized_one() {
    for method in METHODS {
        let pool = Pool::builder()
            .processes(1)
            .start_method(method)
            .initializer(initialize, 9)
            .build()
            .unwrap();
        let (before, _, _) = pool.apply(worker_state, 0).unwrap();
        let err = pool.apply(kill_own_process_on, 5).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::WorkerDied { pid, .. } if *pid == before),
            "{err}"
        );
        let (after, calls, value) = pool.apply(worker_state, 0).unwrap();
        assert_ne!(after, before, "{method:?}");
        assert_eq!((calls, value), (1, 9));
        pool.join().unwrap();
    }
}

fn initializer_panics(message: String) {
    panic!("{message}");
}

fn a_failing_initializer_fails_every_task_with_its_message() {
    for method in METHODS {
        let pool = Pool::builder()
            .processes(2)
            .start_method(method)
            .initializer(initializer_panics, "no database here".to_owned())
            .build()
            .unwrap();
        for _ in 0..3 {
            assert_kind(
                pool.apply(square, 2),
                |k| matches!(k, ErrorKind::InitializerFailed { message, .. } if message == "no database here"),
            );
        }
        let text = pool.apply(square, 2).unwrap_err().to_string();
        assert!(
            text.contains("initializer") && text.contains("no database here"),
            "{text}"
        );
        // The same two workers all along: no start-again loop.
        let workers: Vec<u32> = mp::active_children().iter().map(|c| c.pid()).collect();
        assert_eq!(workers.len(), 2);
        pool.join().unwrap();
    }
}

fn settings_that_cannot_work_are_refused_in_words() {
    assert_kind(
        Pool::builder().processes(0).build(),
        |k| matches!(k, ErrorKind::InvalidArgument(text) if text.contains("at least one worker")),
    );
    assert_kind(
        Pool::builder().processes(1).max_tasks_per_child(0).build(),
        |k| matches!(k, ErrorKind::InvalidArgument(text) if text.contains("max_tasks_per_child")),
    );
    // (An initializer's argument may hold a Queue now, as Python's initargs
    // may: see port_shapes.rs.)
    // Nothing was started by the refusals.
    assert!(mp::active_children().is_empty());
}

fn the_default_size_is_cpu_count() {
    let pool = Pool::builder().build().unwrap();
    assert_eq!(pool.processes(), mp::cpu_count());
    assert_eq!(mp::active_children().len(), mp::cpu_count());
    pool.join().unwrap();
}

fn main() -> ExitCode {
    harness::run(tests![
        apply_blocks_and_returns_the_result,
        starmap_calls_with_two_arguments_in_order,
        starmap_reports_the_first_failing_pair,
        map_async_and_starmap_async_return_at_once,
        ready_wait_and_successful_follow_one_task,
        ready_alone_sees_a_result_arrive,
        a_worker_killed_in_map_async_fails_that_map_and_the_pool_goes_on,
        apply_from_two_threads_at_once,
        the_initializer_runs_once_in_every_worker,
        max_tasks_per_child_replaces_a_worker_after_that_many_tasks,
        max_tasks_per_child_holds_for_tasks_given_at_once,
        replacement_workers_run_the_initializer_too,
        a_killed_worker_is_replaced_with_an_initialized_one,
        a_failing_initializer_fails_every_task_with_its_message,
        settings_that_cannot_work_are_refused_in_words,
        the_default_size_is_cpu_count,
    ])
}
