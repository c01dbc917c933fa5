//! A Python `multiprocessing` program ports to `mp` line by line (issue 22):
//! the shapes Python programs use every day, written the way a Python
//! programmer would port them.

mod harness;
mod support;

use std::process::ExitCode;
use std::time::Duration;

use mp::{Connection, ErrorKind, Event, ExitStatus, Process, Queue, StartMethod};

const METHODS: [StartMethod; 2] = [StartMethod::Fork, StartMethod::Spawn];
/// Longer than any test should take: a wait that reaches it failed.
const HANG: Duration = Duration::from_secs(10);

/// Says it started, then waits for the parent's go; puts whether it came.
fn wait_for_go((started, go, done): (Queue<u32>, Event, Queue<bool>)) {
    started.put(std::process::id()).unwrap();
    done.put(go.wait_timeout(HANG).unwrap()).unwrap();
}

/// Waits until every dropped child has ended and been reaped
/// (`active_children` reaps the ended ones, as Python's does).
fn wait_until_no_children() {
    while !mp::active_children().is_empty() {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Python: `for i in range(3): mp.Process(target=f, args=(...)).start()`.
/// The handles are dropped at once; the children run side by side (each
/// waits for a go that comes only once all three have started).
fn processes_started_in_a_loop_without_keeping_their_handles() {
    for method in METHODS {
        let (started, go, done) = (
            Queue::new().unwrap(),
            Event::new().unwrap(),
            Queue::new().unwrap(),
        );
        for _ in 0..3 {
            Process::new(wait_for_go, (started.clone(), go.clone(), done.clone()))
                .start_method(method)
                .start()
                .unwrap();
        }
        for _ in 0..3 {
            started.get().unwrap();
        }
        go.set();
        for _ in 0..3 {
            assert!(
                done.get().unwrap(),
                "{method:?}: a child did not get the go in time"
            );
        }
        wait_until_no_children();
    }
}

fn put_after_a_while(results: Queue<u32>) {
    std::thread::sleep(Duration::from_millis(200));
    results.put(1).unwrap();
}

fn send_forever(conn: Connection<u32>) {
    loop {
        if conn.send(1).is_err() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A program (here a child playing `main`) that starts two children and a
/// daemon without keeping the handles, then ends: the two are waited for,
/// the daemon is killed, all reaped.
fn a_program_that_keeps_no_handles((results, daemon_end): (Queue<u32>, Connection<u32>)) {
    for _ in 0..2 {
        Process::new(put_after_a_while, results.clone())
            .start()
            .unwrap();
    }
    Process::new(send_forever, daemon_end)
        .daemon(true)
        .start()
        .unwrap();
}

/// Python joins non-daemon children at exit and terminates daemons.
fn at_the_end_children_are_joined_and_daemons_killed() {
    for method in METHODS {
        let results = Queue::new().unwrap();
        let (ours, theirs) = mp::pipe::<u32>(true).unwrap();
        let mut program = Process::new(a_program_that_keeps_no_handles, (results.clone(), theirs))
            .start_method(method);
        program.start().unwrap();
        assert_eq!(program.join().unwrap(), ExitStatus::Code(0));
        // Both children had finished when the program ended: they were waited for.
        assert_eq!(results.try_get().unwrap(), 1, "{method:?}");
        assert_eq!(results.try_get().unwrap(), 1, "{method:?}");
        // The daemon was killed, not left behind: its end of the pipe closed.
        loop {
            match ours.recv_timeout(HANG) {
                Ok(_) => continue,
                Err(e) if matches!(e.kind(), ErrorKind::ConnectionClosed) => break,
                Err(e) => panic!("{method:?}: the daemon lives on: {e}"),
            }
        }
    }
}

fn wait_for_an_event_nobody_sets(never: Event) {
    let _ = never.wait();
}

/// A program that panics with a child waiting for it: the child is killed
/// and reaped, not waited for (it would wait for ever).
fn a_program_that_panics(never: Event) {
    Process::new(wait_for_an_event_nobody_sets, never)
        .start()
        .unwrap();
    panic!("the program fails");
}

fn a_panicking_program_leaves_no_child_behind() {
    for method in METHODS {
        let never = Event::new().unwrap();
        let mut program = Process::new(a_program_that_panics, never).start_method(method);
        program.start().unwrap();
        match program.join_timeout(HANG).unwrap() {
            Some(status) => assert_eq!(status, ExitStatus::Code(1), "{method:?}"),
            None => {
                program.kill().unwrap();
                program.join().unwrap();
                panic!("{method:?}: the panicking program waited for its child");
            }
        }
    }
}

/// The error of a lock taken again by its own thread: which call asked,
/// which holds it.
fn already_held<G>(taken: Result<G, mp::LockError<G>>) -> (&'static str, &'static str) {
    match taken {
        Err(mp::LockError::AlreadyHeld(err)) => match *err.kind() {
            ErrorKind::AlreadyHeld { what, held_by } => (what, held_by),
            _ => panic!("AlreadyHeld carries another kind of error: {err}"),
        },
        Err(mp::LockError::OwnerDied(died)) => panic!("nobody died here: {died}"),
        Ok(_) => panic!("the lock was taken twice by one thread"),
    }
}

/// The kind of a crate error, as (what, held_by) when it is `AlreadyHeld`.
fn held_kind(err: &mp::Error) -> (&'static str, &'static str) {
    match *err.kind() {
        ErrorKind::AlreadyHeld { what, held_by } => (what, held_by),
        _ => panic!("not AlreadyHeld: {err}"),
    }
}

/// Point 2: a thread that asks again for a lock it holds is told so, with
/// the call that holds it, instead of waiting for ever: an error from every
/// call, `lock()` included ([`mp::LockError::AlreadyHeld`]); nothing is
/// taken, and the lock is free once the first guard is gone.
fn a_lock_taken_again_by_its_holder_says_which_call_holds_it() {
    let a = mp::Array::new(&[1_i32, 2, 3]).unwrap();
    let guard = a.lock().unwrap();
    let err = a.get(0).unwrap_err();
    assert_eq!(held_kind(&err), ("Array::get", "Array::lock"), "{err}");
    let err = a.set(0, 5).unwrap_err();
    assert_eq!(held_kind(&err), ("Array::set", "Array::lock"), "{err}");
    let err = a.to_vec().unwrap_err();
    assert_eq!(held_kind(&err), ("Array::to_vec", "Array::lock"), "{err}");
    assert_eq!(already_held(a.lock()), ("Array::lock", "Array::lock"));
    assert!(
        a.try_lock().is_none(),
        "try_lock: busy, as Python's acquire(False)"
    );
    drop(guard);
    assert_eq!(a.get(0).unwrap(), 1, "free again once the guard is gone");

    let v = mp::Value::new(0_u64).unwrap();
    let guard = v.lock().unwrap();
    let err = v.get().unwrap_err();
    assert_eq!(held_kind(&err), ("Value::get", "Value::lock"), "{err}");
    assert!(
        err.to_string()
            .contains("this thread already holds the lock"),
        "{err}"
    );
    let err = v.set(1).unwrap_err();
    assert_eq!(held_kind(&err), ("Value::set", "Value::lock"), "{err}");
    assert_eq!(already_held(v.lock()), ("Value::lock", "Value::lock"));
    drop(guard);
    v.set(2).unwrap();
    assert_eq!(v.get().unwrap(), 2);

    let lock = mp::Lock::new().unwrap();
    let guard = lock.lock().unwrap();
    assert_eq!(already_held(lock.lock()), ("Lock::lock", "Lock::lock"));
    drop(guard);
    let guard = lock.try_lock().expect("free").unwrap();
    assert_eq!(already_held(lock.lock()), ("Lock::lock", "Lock::try_lock"));
    drop(guard);
    drop(lock.lock().unwrap());

    let cond = mp::Condition::new().unwrap();
    let guard = cond.lock().unwrap();
    assert_eq!(
        already_held(cond.lock()),
        ("Condition::lock", "Condition::lock")
    );
    drop(guard);
    drop(cond.lock().unwrap());

    // With `?`, the error is the crate's `Error`, and says the same.
    let again = || -> mp::Result<()> {
        let _guard = lock.lock()?;
        let _twice = lock.lock()?;
        Ok(())
    };
    let err = again().unwrap_err();
    assert_eq!(held_kind(&err), ("Lock::lock", "Lock::lock"), "{err}");
}

/// Python: `for item in iter(q.get, 'STOP'): out.put(item * item)`.
fn square_until_stop((tasks, results): (Queue<String>, Queue<u64>)) {
    loop {
        let item = tasks.get().unwrap();
        if item == "STOP" {
            return;
        }
        results.put(item.parse::<u64>().unwrap().pow(2)).unwrap();
    }
}

/// Point 6: workers fed through a queue until a "STOP" sentinel, started
/// in a loop without keeping their handles, as the Python documentation's
/// worker example does.
fn workers_fed_through_a_queue_until_stop() {
    for method in METHODS {
        let (tasks, results) = (Queue::new().unwrap(), Queue::new().unwrap());
        for _ in 0..2 {
            Process::new(square_until_stop, (tasks.clone(), results.clone()))
                .start_method(method)
                .start()
                .unwrap();
        }
        for n in 0..10_u64 {
            tasks.put(n.to_string()).unwrap();
        }
        for _ in 0..2 {
            tasks.put("STOP".to_owned()).unwrap();
        }
        let mut squares: Vec<u64> = (0..10).map(|_| results.get().unwrap()).collect();
        squares.sort();
        assert_eq!(
            squares,
            (0..10_u64).map(|n| n * n).collect::<Vec<_>>(),
            "{method:?}"
        );
        wait_until_no_children();
    }
}

/// Python: `l.acquire(); try: print('hello world', i) finally: l.release()`.
fn print_under_the_lock((lock, lines, i): (mp::Lock, Queue<String>, u32)) {
    let _guard = lock.lock().unwrap();
    lines.put(format!("hello world {i}")).unwrap();
}

/// Point 6: one lock handed to ten processes, each started in a loop.
fn one_lock_handed_to_ten_printing_processes() {
    let lock = mp::Lock::new().unwrap();
    let lines = Queue::new().unwrap();
    for i in 0..10 {
        Process::new(print_under_the_lock, (lock.clone(), lines.clone(), i))
            .start()
            .unwrap();
    }
    let mut got: Vec<String> = (0..10).map(|_| lines.get().unwrap()).collect();
    got.sort();
    let mut expected: Vec<String> = (0..10).map(|i| format!("hello world {i}")).collect();
    expected.sort();
    assert_eq!(got, expected);
    wait_until_no_children();
}

/// Sleeps `micros` microseconds, then ends.
fn end_after(micros: u64) {
    std::thread::sleep(Duration::from_micros(micros));
}

/// Python's `active_children()` reaps the children that ended, and so does
/// this: a dropped child it leaves out is reaped, never a zombie, whenever
/// the child ends. Thirty children end 0.5 ms apart while this looks again
/// and again; every look checks every child it left out. (It once decided
/// twice, reaping first and asking "ended?" after: a child that ended in
/// between was left out and left a zombie.)
fn a_child_left_out_of_active_children_is_reaped() {
    let pids: Vec<libc::pid_t> = (0..30_u64)
        .map(|i| {
            let mut p = Process::new(end_after, i * 500);
            p.start().unwrap();
            p.pid().unwrap() as libc::pid_t
        })
        .collect();
    loop {
        let listed: Vec<libc::pid_t> = mp::active_children()
            .iter()
            .map(|child| child.pid() as libc::pid_t)
            .collect();
        for &pid in pids.iter().filter(|pid| !listed.contains(pid)) {
            let mut status = 0;
            // SAFETY: `status` is a valid place to write; WNOHANG returns at once.
            let ret = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
            assert_eq!(
                ret, -1,
                "child {pid} is not listed as active, yet it is not reaped"
            );
        }
        if listed.is_empty() {
            return;
        }
    }
}

/// Python: `with counter.get_lock(): counter.value += 1`, a hundred times.
fn add_under_its_own_lock(counter: mp::Value<i64>) {
    for _ in 0..100 {
        *counter.lock().unwrap() += 1;
    }
}

/// Point 6: a value incremented under its own lock by four processes loses
/// nothing.
fn a_value_incremented_under_its_own_lock() {
    let counter = mp::Value::new(0_i64).unwrap();
    let mut processes: Vec<Process> = (0..4)
        .map(|_| Process::new(add_under_its_own_lock, counter.clone()))
        .collect();
    for p in &mut processes {
        p.start().unwrap();
    }
    for p in &mut processes {
        assert!(p.join().unwrap().success());
    }
    assert_eq!(counter.get().unwrap(), 400);
}

fn send_greeting(conn: Connection<String>) {
    conn.send("hello".to_owned()).unwrap();
}

/// Point 6: the parent closes its copy of the child's end, then reads until
/// the end of the stream (Python's `EOFError`).
fn a_parent_that_closes_its_copy_of_the_childs_end() {
    for method in METHODS {
        let (parent_conn, child_conn) = mp::pipe(true).unwrap();
        let mut p = Process::new(send_greeting, child_conn.clone()).start_method(method);
        p.start().unwrap();
        child_conn.close();
        let mut got = Vec::new();
        loop {
            match parent_conn.recv() {
                Ok(message) => got.push(message),
                Err(e) if matches!(e.kind(), ErrorKind::ConnectionClosed) => break,
                Err(e) => panic!("{method:?}: {e}"),
            }
        }
        assert_eq!(got, ["hello"], "{method:?}");
        assert!(p.join().unwrap().success());
    }
}

fn no_arguments() {
    print!("");
}

fn two_arguments(results: Queue<String>, name: String) {
    results.put(format!("hello {name}")).unwrap();
}

fn three_arguments(results: Queue<String>, name: String, times: u32) {
    results.put(name.repeat(times as usize)).unwrap();
}

fn four_arguments(results: Queue<String>, a: u8, b: u16, c: u64) {
    results
        .put(format!("{}", u64::from(a) + u64::from(b) + c))
        .unwrap();
}

/// Point 3: Python's `Process(target=f, args=(a, b))` is
/// `Process::new(f, (a, b))` with `fn f(a: A, b: B)`, for zero to four
/// arguments, with fork and spawn.
fn targets_of_zero_to_four_arguments_take_pythons_args_tuple() {
    for method in METHODS {
        let results = Queue::new().unwrap();
        let mut ps = [
            Process::new(no_arguments, ()).start_method(method),
            Process::new(two_arguments, (results.clone(), "bob".to_owned())).start_method(method),
            Process::new(three_arguments, (results.clone(), "ab".to_owned(), 3))
                .start_method(method),
            Process::new(four_arguments, (results.clone(), 1, 2, 3)).start_method(method),
        ];
        for p in &mut ps {
            p.start().unwrap();
            assert_eq!(p.join().unwrap(), ExitStatus::Code(0), "{method:?}");
        }
        let mut got: Vec<String> = (0..3).map(|_| results.get().unwrap()).collect();
        got.sort();
        assert_eq!(got, ["6", "ababab", "hello bob"], "{method:?}");
    }
}

fn parse_or_fail(text: String) -> Result<(), std::num::ParseIntError> {
    let n: u32 = text.parse()?;
    assert!(n > 0);
    Ok(())
}

/// Point 3: a target may return `Result<(), E>` and use `?`: an `Err` ends
/// the child with exit code 1 and its message, like an uncaught exception.
fn a_target_that_returns_an_error_exits_non_zero_with_its_message() {
    for method in METHODS {
        let mut ok = Process::new(parse_or_fail, "7".to_owned()).start_method(method);
        ok.start().unwrap();
        assert_eq!(ok.join().unwrap(), ExitStatus::Code(0), "{method:?}");
        let mut name = String::new();
        let stderr = support::capture_stderr(|| {
            let mut failing = Process::new(parse_or_fail, "seven".to_owned()).start_method(method);
            failing.start().unwrap();
            name = failing.name().to_owned();
            assert_eq!(failing.join().unwrap(), ExitStatus::Code(1), "{method:?}");
        });
        assert!(
            stderr.starts_with(&format!("process '{name}' (pid ")),
            "{stderr}"
        );
        assert!(
            stderr.ends_with(") failed: invalid digit found in string\n"),
            "{method:?}: {stderr}"
        );
    }
}

fn add3(a: u64, b: u64, c: u64) -> u64 {
    a + b + c
}

fn forty_two() -> u64 {
    42
}

/// Point 3: the pool takes the same targets: `apply` and `apply_async` with
/// Python's args tuple, `starmap` with tuples of up to four.
fn pool_targets_take_pythons_args_tuple() {
    let pool = mp::Pool::new(2).unwrap();
    assert_eq!(pool.apply(forty_two, ()).unwrap(), 42);
    assert_eq!(pool.apply(add3, (1, 2, 3)).unwrap(), 6);
    assert_eq!(
        pool.apply_async(add3, (4, 5, 6)).unwrap().get().unwrap(),
        15
    );
    assert_eq!(pool.starmap(add3, [(1, 1, 1), (2, 2, 2)]).unwrap(), [3, 6]);
    let offset = 1_u64;
    let err = pool.apply(move |x: u64| x + offset, 1).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidArgument(_)), "{err}");
    assert_eq!(
        pool.apply(|x: u64| x * 2, 21).unwrap(),
        42,
        "a closure that captures nothing"
    );
    pool.join().unwrap();
}

static WORKER_LOCK: std::sync::OnceLock<(mp::Lock, Queue<u32>)> = std::sync::OnceLock::new();

/// Python: `def init(l, q): global lock, out; lock, out = l, q`.
fn init_worker(lock_and_out: (mp::Lock, Queue<u32>)) {
    assert!(WORKER_LOCK.set(lock_and_out).is_ok(), "once per worker");
}

fn report_under_the_lock(i: u32) -> u32 {
    let (lock, out) = WORKER_LOCK.get().expect("set by the initializer");
    let _guard = lock.lock().unwrap();
    out.put(i).unwrap();
    i
}

/// Point 6 (and 4): a pool whose workers get a lock (and a queue) through
/// `initargs`, as Python's documentation does it, with fork and spawn.
fn a_pool_whose_workers_get_a_lock_through_initargs() {
    for method in METHODS {
        let lock = mp::Lock::new().unwrap();
        let out = Queue::new().unwrap();
        let pool = mp::Pool::builder()
            .processes(2)
            .start_method(method)
            .initializer(init_worker, (lock.clone(), out.clone()))
            .build()
            .unwrap();
        let held = lock.lock().unwrap();
        // While the parent holds the lock, no task can report.
        let pending = pool.map_async(report_under_the_lock, 0..6).unwrap();
        let done = pending.wait_timeout(Duration::from_millis(100)).unwrap();
        assert!(!done, "{method:?}");
        assert_eq!(out.qsize(), 0, "{method:?}");
        drop(held);
        assert_eq!(pending.get().unwrap(), [0, 1, 2, 3, 4, 5], "{method:?}");
        let mut got: Vec<u32> = (0..6).map(|_| out.get().unwrap()).collect();
        got.sort();
        assert_eq!(got, [0, 1, 2, 3, 4, 5], "{method:?}");
        pool.join().unwrap();
    }
}

/// Point 5: Python's `sem.acquire(); ...; sem.release()`, ported word for
/// word, drops the guard at once (its permit goes back), then releases
/// again. That second release is refused, and the semaphore stays at 1.
#[allow(unused_must_use)] // the Python shape, on purpose: the guard is dropped at once
fn the_python_style_semaphore_release_is_an_error() {
    let sem = mp::Semaphore::new(1).unwrap();
    sem.acquire().unwrap(); // Python: sem.acquire()
    let err = sem.release().unwrap_err(); // Python: sem.release()
    assert!(matches!(err.kind(), ErrorKind::ReleasedByItsGuard), "{err}");
    assert!(
        err.to_string().contains("let permit = sem.acquire()?"),
        "{err}"
    );
    assert_eq!(sem.value(), 1, "one permit, not two");
    // The Rust way: keep the guard.
    let permit = sem.acquire().unwrap();
    assert_eq!(sem.value(), 0);
    drop(permit);
    assert_eq!(sem.value(), 1);
    // Python's way, on purpose: forget the guard, then release by hand.
    sem.acquire().unwrap().forget();
    assert_eq!(sem.value(), 0);
    sem.release().unwrap();
    assert_eq!(sem.value(), 1);
    // A bare release that stands for no guard of this thread is Python's too.
    let signal = mp::Semaphore::new(0).unwrap();
    signal.release().unwrap();
    assert_eq!(signal.value(), 1);
}

fn main() -> ExitCode {
    harness::run(tests![
        the_python_style_semaphore_release_is_an_error,
        a_pool_whose_workers_get_a_lock_through_initargs,
        targets_of_zero_to_four_arguments_take_pythons_args_tuple,
        a_target_that_returns_an_error_exits_non_zero_with_its_message,
        pool_targets_take_pythons_args_tuple,
        workers_fed_through_a_queue_until_stop,
        one_lock_handed_to_ten_printing_processes,
        a_child_left_out_of_active_children_is_reaped,
        a_value_incremented_under_its_own_lock,
        a_parent_that_closes_its_copy_of_the_childs_end,
        a_lock_taken_again_by_its_holder_says_which_call_holds_it,
        processes_started_in_a_loop_without_keeping_their_handles,
        at_the_end_children_are_joined_and_daemons_killed,
        a_panicking_program_leaves_no_child_behind,
    ])
}
