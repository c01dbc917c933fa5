//! The crate's primitives mean what Python's mean (issue 21): each test here
//! is a case where `mp` once did something else than Python 3.11 does with
//! the same program. Where Python hangs or loses something, the crate keeps
//! its own way, and those tests live beside the primitive's other tests.
//!
//! A test that must see something *not* happen (a second waiter waking) waits
//! a while for it: a correct crate passes however long that is.

mod harness;
mod support;

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use mp::{
    Barrier, Condition, Connection, ErrorKind, Event, ExitStatus, Pool, Process, Queue, Semaphore,
    SemaphoreGuard, StartMethod, pipe,
};

const METHODS: [StartMethod; 2] = [StartMethod::Fork, StartMethod::Spawn];

/// Point 1: in a process with no other thread, no child and no parent,
/// every wait with a timeout runs to its timeout and says "not in time" the
/// way Python does (`False`, `queue.Empty`, a broken barrier), instead of
/// giving up after 50 ms. The waits without a timeout still give up.
fn timed_waits_run_to_their_timeout_and_report_it_the_python_way() {
    let timeout = Duration::from_millis(200);
    let at_least = |start: Instant, what: &str| {
        assert!(
            start.elapsed() >= timeout,
            "{what} returned after {:?}, before its timeout",
            start.elapsed()
        )
    };

    let event = Event::new().unwrap();
    let start = Instant::now();
    assert!(!event.wait_timeout(timeout).unwrap(), "Event::wait_timeout");
    at_least(start, "Event::wait_timeout");

    let sem = Semaphore::new(0).unwrap();
    let start = Instant::now();
    assert!(sem.acquire_timeout(timeout).unwrap().is_none());
    at_least(start, "Semaphore::acquire_timeout");

    let cond = Condition::new().unwrap();
    let start = Instant::now();
    let (guard, notified) = cond.wait_timeout(cond.lock().unwrap(), timeout).unwrap();
    assert!(!notified, "Condition::wait_timeout");
    at_least(start, "Condition::wait_timeout");
    drop(guard);

    let queue = Queue::<u32>::new().unwrap();
    let start = Instant::now();
    let err = queue.get_timeout(timeout).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::QueueEmpty), "{err}");
    at_least(start, "Queue::get_timeout");

    let (ours, _theirs) = pipe::<u32>(true).unwrap();
    let start = Instant::now();
    let err = ours.recv_timeout(timeout).unwrap_err();
    assert!(err.is_timeout(), "{err}");
    at_least(start, "Connection::recv_timeout");

    let barrier = Barrier::new(2).unwrap();
    let start = Instant::now();
    let err = barrier.wait_timeout(timeout).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::BrokenBarrier), "{err}");
    at_least(start, "Barrier::wait_timeout");

    // Without a timeout, where Python hangs, they still give up.
    let err = event.wait().unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::WaitAbandoned { .. }),
        "{err}"
    );
    let err = queue.get().unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::QueueAbandoned), "{err}");
}

/// Point 2: one `notify()` wakes one waiter of three, as Python's does.
fn notify_wakes_exactly_one_of_three_waiters() {
    let cond = Condition::new().unwrap();
    let waiting = Arc::new(AtomicUsize::new(0));
    let woken = Arc::new(AtomicUsize::new(0));
    // Joined with `JoinHandle::join` (pthread_join): the threads are gone
    // when the next test forks.
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let (cond, waiting, woken) = (cond.clone(), waiting.clone(), woken.clone());
            std::thread::spawn(move || {
                let guard = cond.lock().unwrap();
                waiting.fetch_add(1, Ordering::SeqCst);
                let _guard = cond.wait(guard).unwrap();
                woken.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    // Once all three have said so and let go of the lock, all three wait.
    while waiting.load(Ordering::SeqCst) < 3 {
        std::thread::yield_now();
    }
    drop(cond.lock().unwrap());
    cond.notify();
    while woken.load(Ordering::SeqCst) == 0 {
        std::thread::yield_now();
    }
    // The old crate woke the other two within its 50 ms slices.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(woken.load(Ordering::SeqCst), 1, "one notify() woke more");
    cond.notify_all();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(woken.load(Ordering::SeqCst), 3);
}

fn send_seven(conn: Connection<u32>) {
    conn.send(7).unwrap();
}

/// Point 3: the parent closes its copy of the child's end right after
/// `start()`, as Python programs do; the child can still send, and once it
/// has ended the parent's `recv` sees the end of the stream.
fn closing_the_parents_copy_of_the_childs_end_leaves_the_child_sending() {
    for method in METHODS {
        let (parent_end, child_end) = pipe::<u32>(true).unwrap();
        let mut p = Process::new(send_seven, child_end.clone()).start_method(method);
        p.start().unwrap();
        child_end.close();
        assert_eq!(parent_end.recv().unwrap(), 7, "{method:?}");
        assert_eq!(p.join().unwrap(), ExitStatus::Code(0), "{method:?}");
        let err = parent_end.recv().unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::ConnectionClosed),
            "{method:?}: {err}"
        );
    }
}

static EVENT: OnceLock<Event> = OnceLock::new();
static QUEUE: OnceLock<Queue<u32>> = OnceLock::new();

fn set_static_event_later((): ()) {
    std::thread::sleep(Duration::from_millis(300));
    EVENT.get().expect("inherited by fork").set();
}

fn put_on_static_queue_later((): ()) {
    std::thread::sleep(Duration::from_millis(300));
    QUEUE.get().expect("inherited by fork").put(42).unwrap();
}

/// Point 4: a fork pool's worker inherits the parent's statics, so it can
/// set an event or put on a queue kept in one: the parent's untimed wait
/// waits for it, as Python's does.
fn a_fork_pool_task_can_set_an_event_or_put_on_a_queue_kept_in_a_static() {
    let event = EVENT.get().expect("made in main");
    let queue = QUEUE.get().expect("made in main");
    let pool = Pool::new(2).unwrap();
    let set = pool.apply_async(set_static_event_later, ()).unwrap();
    let put = pool.apply_async(put_on_static_queue_later, ()).unwrap();
    event.wait().unwrap();
    assert_eq!(queue.get().unwrap(), 42);
    set.get().unwrap();
    put.get().unwrap();
    pool.join().unwrap();
}

fn hold_until_killed((sem, holding): (Semaphore, Event)) {
    let _permit = sem.acquire().unwrap();
    holding.set();
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Point 5: `value()` right after a holder died counts its permit.
fn semaphore_value_counts_a_dead_holders_permit_at_once() {
    for method in METHODS {
        let sem = Semaphore::new(2).unwrap();
        let holding = Event::new().unwrap();
        let mut p =
            Process::new(hold_until_killed, (sem.clone(), holding.clone())).start_method(method);
        p.start().unwrap();
        holding.wait().unwrap();
        assert_eq!(sem.value(), 1);
        p.kill().unwrap();
        p.join().unwrap();
        assert_eq!(sem.value(), 2, "{method:?}");
    }
}

/// Point 6: once closed, `empty()` is an error, used or not.
fn empty_on_a_closed_queue_is_an_error() {
    let unused = Queue::<u32>::new().unwrap();
    unused.close();
    let err = unused.empty().unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::QueueClosed), "{err}");
    let used = Queue::<u32>::new().unwrap();
    used.put(1).unwrap();
    used.close();
    let err = used.empty().unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::QueueClosed), "{err}");
}

fn panic_here((): ()) {
    panic!("boom at a known place");
}

/// Point 7: a child's panic line keeps where it happened, as Python's
/// traceback names the file.
fn a_childs_panic_line_names_its_file_and_line() {
    for method in METHODS {
        let mut name = String::new();
        let stderr = support::capture_stderr(|| {
            let mut p = Process::new(panic_here, ()).start_method(method);
            p.start().unwrap();
            name = p.name().to_owned();
            assert_eq!(p.join().unwrap(), ExitStatus::Code(1));
        });
        let line = stderr.lines().next().unwrap_or_default();
        assert!(
            line.starts_with(&format!("process '{name}' (pid ")),
            "{line}"
        );
        assert!(
            line.contains(&format!("panicked at {}:", file!())),
            "{method:?}: {line}"
        );
        assert!(line.ends_with(": boom at a known place"), "{line}");
    }
}

fn sleep_a_little((): ()) {
    std::thread::sleep(Duration::from_millis(500));
}

/// Point 8: `get_timeout` that runs out is `QueueEmpty`, Python's
/// `queue.Empty`, also while a child that could put is alive.
fn queue_get_timeout_that_runs_out_is_queue_empty() {
    let queue = Queue::<u32>::new().unwrap();
    let mut p = Process::new(sleep_a_little, ());
    p.start().unwrap();
    let err = queue.get_timeout(Duration::from_millis(20)).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::QueueEmpty), "{err}");
    p.join().unwrap();
}

fn my_name((): ()) -> String {
    mp::current_process_name().to_owned()
}

/// Point 9: pool workers take their numbers from the one counter that
/// numbers every process this one starts, as in Python: after `Process-N`,
/// a pool of two has `ForkPoolWorker-(N+1)` and `ForkPoolWorker-(N+2)`,
/// and the next pool goes on from there.
fn pool_workers_are_numbered_from_the_global_process_counter() {
    let before = Process::new(sleep_a_little, ());
    let n: usize = before
        .name()
        .strip_prefix("Process-")
        .unwrap()
        .parse()
        .unwrap();
    drop(before);
    let pool = Pool::new(2).unwrap();
    let mut names: Vec<String> = mp::active_children()
        .iter()
        .map(|child| child.name().to_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            format!("ForkPoolWorker-{}", n + 1),
            format!("ForkPoolWorker-{}", n + 2)
        ]
    );
    let seen = pool.map(my_name, vec![(); 4]).unwrap();
    assert!(seen.iter().all(|name| names.contains(name)), "{seen:?}");
    pool.join().unwrap();
    let after = Process::new(sleep_a_little, ());
    assert_eq!(after.name(), format!("Process-{}", n + 3));
}

/// Point 10: `try_acquire` says what it means: a permit, or none.
fn semaphore_try_acquire_is_an_option() {
    let sem = Semaphore::new(1).unwrap();
    let first: Option<SemaphoreGuard<'_>> = sem.try_acquire();
    assert!(first.is_some());
    assert!(sem.try_acquire().is_none());
}

fn main() -> ExitCode {
    mp::init();
    // Made before the harness counts descriptors: they live as long as the
    // program, as a Python module's globals do.
    EVENT.set(Event::new().unwrap()).unwrap();
    QUEUE.set(Queue::new().unwrap()).unwrap();
    harness::run(tests![
        timed_waits_run_to_their_timeout_and_report_it_the_python_way,
        notify_wakes_exactly_one_of_three_waiters,
        closing_the_parents_copy_of_the_childs_end_leaves_the_child_sending,
        a_fork_pool_task_can_set_an_event_or_put_on_a_queue_kept_in_a_static,
        semaphore_value_counts_a_dead_holders_permit_at_once,
        empty_on_a_closed_queue_is_an_error,
        a_childs_panic_line_names_its_file_and_line,
        queue_get_timeout_that_runs_out_is_queue_empty,
        pool_workers_are_numbered_from_the_global_process_counter,
        semaphore_try_acquire_is_an_option,
    ])
}
