//! Event, Barrier, Semaphore, Condition and RLock: their meaning between
//! processes (fork and spawn) and threads, their timeouts, and what a party or
//! holder killed at a known point does to the others.
//!
//! Bad timing is made on purpose: a test that needs a waiter asleep waits
//! until the kernel reports it asleep (`/proc/<pid>/stat`), and a process to
//! be killed first signals that it has reached the point where it dies.

mod harness;

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mp::{Barrier, ErrorKind, Event, ExitStatus, Process, Queue, StartMethod};

const METHODS: [StartMethod; 2] = [StartMethod::Fork, StartMethod::Spawn];

/// Waits until thread `tid` of process `pid` is asleep (state `S`). The
/// tests call it right after the thread said it is about to wait, so the
/// sleep it reaches is that wait.
fn wait_until_asleep(pid: u32, tid: u32) {
    let path = format!("/proc/{pid}/task/{tid}/stat");
    loop {
        let stat = std::fs::read_to_string(&path).expect("the thread is alive");
        // The state follows the command name, which is in parentheses.
        let state = stat
            .rsplit_once(") ")
            .expect("a stat line")
            .1
            .chars()
            .next();
        if state == Some('S') {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn gettid() -> u32 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() as u32 }
}

/// Starts `target(args)` with `method`.
fn start<A>(target: fn(A), args: A, method: StartMethod) -> Process
where
    A: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
{
    let mut p = Process::new(target, args).start_method(method);
    p.start().unwrap();
    p
}

/// Says it got here, then waits on an event nobody sets, until it is killed
/// (its parent is alive, so the wait does not give up).
fn signal_then_block((here, never): (Event, Event)) {
    here.set();
    let _ = never.wait();
    std::process::exit(3); // only if the parent died
}

/// Kills `p` with SIGKILL and reaps it.
fn kill(p: &mut Process) {
    p.kill().unwrap();
    assert_eq!(p.join().unwrap(), ExitStatus::Signal(libc::SIGKILL));
}

// ---- Event ---------------------------------------------------------------

fn set_event(event: Event) {
    event.set();
}

fn event_set_in_a_child_wakes_the_parent() {
    for method in METHODS {
        let event = Event::new().unwrap();
        assert!(!event.is_set());
        let mut p = start(set_event, event.clone(), method);
        // Either order is legal: the child sets before or after we wait.
        event.wait().unwrap();
        assert!(event.is_set());
        assert!(p.join().unwrap().success(), "{method:?}");
    }
}

/// Reports (through `tid`) that it is about to wait, waits, and exits 0 if
/// the wait said the event was set.
fn wait_for_event((event, ids): (Event, Queue<(u32, u32)>)) {
    ids.put((std::process::id(), gettid())).unwrap();
    event.wait().unwrap();
    std::process::exit(if event.is_set() { 0 } else { 4 });
}

fn event_set_by_the_parent_wakes_sleeping_children() {
    for method in METHODS {
        let event = Event::new().unwrap();
        let ids = Queue::new().unwrap();
        let mut children: Vec<Process> = (0..2)
            .map(|_| start(wait_for_event, (event.clone(), ids.clone()), method))
            .collect();
        // Both children are asleep in `wait` before the event is set. (They
        // report in either order: each sends its own pid with its thread.)
        for _ in &children {
            let (pid, tid) = ids.get().unwrap();
            wait_until_asleep(pid, tid);
        }
        event.set();
        for p in &mut children {
            assert_eq!(p.join().unwrap(), ExitStatus::Code(0), "{method:?}");
        }
    }
}

/// Waits once, then reports whether the event was set when it woke.
fn wait_then_report((event, tid, report): (Event, Queue<u32>, Queue<bool>)) {
    tid.put(gettid()).unwrap();
    event.wait().unwrap();
    report.put(event.is_set()).unwrap();
}

fn a_set_then_clear_is_not_missed_by_a_sleeping_waiter() {
    for method in METHODS {
        let event = Event::new().unwrap();
        let tid = Queue::new().unwrap();
        let report = Queue::new().unwrap();
        let mut p = start(
            wait_then_report,
            (event.clone(), tid.clone(), report.clone()),
            method,
        );
        wait_until_asleep(p.pid().unwrap(), tid.get().unwrap());
        // A pulse: set and cleared before the child can look at the flag.
        event.set();
        event.clear();
        assert!(!event.is_set());
        // The child's wait returned (it was set while it slept); the flag
        // may be down by the time it looks.
        // (A generous limit, so that a missed pulse fails instead of hanging.)
        let _flag_when_it_looked: bool = report.get_timeout(Duration::from_secs(60)).unwrap();
        assert!(p.join().unwrap().success(), "{method:?}");
    }
}

fn event_wait_timeout_is_false_until_set_then_true() {
    let event = Event::new().unwrap();
    assert!(!event.wait_timeout(Duration::from_millis(20)).unwrap());
    assert!(!event.wait_timeout(Duration::ZERO).unwrap());
    event.set();
    assert!(event.wait_timeout(Duration::from_millis(20)).unwrap());
    assert!(event.wait_timeout(Duration::ZERO).unwrap());
    event.clear();
    assert!(!event.is_set());
    assert!(!event.wait_timeout(Duration::ZERO).unwrap());
}

fn event_between_threads() {
    let event = Event::new().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::scope(|s| {
        let waiter = s.spawn(|| {
            tx.send(gettid()).unwrap();
            event.wait()
        });
        wait_until_asleep(std::process::id(), rx.recv().unwrap());
        event.set();
        waiter.join().unwrap().unwrap();
    });
    assert!(event.is_set());
}

fn event_wait_gives_up_when_the_only_setter_is_killed() {
    for method in METHODS {
        let event = Event::new().unwrap();
        let here = Event::new().unwrap();
        let mut p = start(
            signal_then_block,
            (here.clone(), Event::new().unwrap()),
            method,
        );
        here.wait().unwrap();
        kill(&mut p);
        let err = event.wait().unwrap_err();
        assert!(
            matches!(
                err.kind(),
                ErrorKind::WaitAbandoned {
                    what: "Event::wait"
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("nobody is left"), "{err}");
        let err = event.wait_timeout(Duration::from_secs(3600)).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::WaitAbandoned { .. }),
            "{err}"
        );
    }
}

fn event_set_just_before_the_setter_ends_is_seen() {
    for method in METHODS {
        let event = Event::new().unwrap();
        let mut p = start(set_event, event.clone(), method);
        assert!(p.join().unwrap().success());
        // Nobody is left, but the flag is up: wait returns Ok, not an error.
        event.wait().unwrap();
    }
}

fn event_inside_a_queue_message_is_refused() {
    let q: Queue<Event> = Queue::new().unwrap();
    let err = q.put(Event::new().unwrap()).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::NotInStartArguments {
                what: "shared object" | "Event"
            }
        ),
        "{err}"
    );
}

// ---- Barrier -------------------------------------------------------------

fn wait_at_barrier_twice((barrier, indexes): (Barrier, Queue<(usize, usize)>)) {
    let first = barrier.wait().unwrap();
    let second = barrier.wait().unwrap();
    indexes.put((first, second)).unwrap();
}

fn barrier_gives_each_party_its_own_index_across_processes() {
    for method in METHODS {
        let barrier = Barrier::new(3).unwrap();
        assert_eq!(barrier.parties(), 3);
        let indexes = Queue::new().unwrap();
        let mut children: Vec<Process> = (0..2)
            .map(|_| {
                start(
                    wait_at_barrier_twice,
                    (barrier.clone(), indexes.clone()),
                    method,
                )
            })
            .collect();
        let mine = (barrier.wait().unwrap(), barrier.wait().unwrap());
        let (a, b) = (indexes.get().unwrap(), indexes.get().unwrap());
        for p in &mut children {
            assert!(p.join().unwrap().success(), "{method:?}");
        }
        // Each round hands out 0, 1 and 2, once each.
        let mut first = [mine.0, a.0, b.0];
        let mut second = [mine.1, a.1, b.1];
        first.sort();
        second.sort();
        assert_eq!(first, [0, 1, 2], "{method:?}");
        assert_eq!(second, [0, 1, 2], "{method:?}");
        assert_eq!(barrier.n_waiting(), 0);
        assert!(!barrier.is_broken());
    }
}

fn barrier_between_threads_holds_every_round() {
    const THREADS: usize = 4;
    const ROUNDS: usize = 50;
    let barrier = Barrier::new(THREADS).unwrap();
    let arrived = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                for round in 0..ROUNDS {
                    arrived.fetch_add(1, Ordering::SeqCst);
                    let index = barrier.wait().unwrap();
                    assert!(index < THREADS);
                    // Nobody passes round `round` before all have reached it.
                    assert!(arrived.load(Ordering::SeqCst) >= (round + 1) * THREADS);
                }
            });
        }
    });
    assert_eq!(arrived.into_inner(), THREADS * ROUNDS);
}

/// Waits at the barrier and exits 0 if it was broken, 5 if it was not.
fn wait_expecting_broken(barrier: Barrier) {
    let outcome = barrier.wait();
    let broken = matches!(outcome, Err(ref e) if matches!(e.kind(), ErrorKind::BrokenBarrier));
    std::process::exit(if broken { 0 } else { 5 });
}

fn barrier_timeout_breaks_it_for_everyone() {
    for method in METHODS {
        let barrier = Barrier::new(3).unwrap();
        let mut p = start(wait_expecting_broken, barrier.clone(), method);
        // The third party never comes: our wait times out and breaks it, for
        // the child too (whether it arrived before or after).
        let err = barrier.wait_timeout(Duration::from_millis(30)).unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::BrokenBarrier), "{err}");
        assert!(barrier.is_broken());
        assert_eq!(p.join().unwrap(), ExitStatus::Code(0), "{method:?}");
        // Broken stays broken.
        let err = barrier.wait().unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::BrokenBarrier), "{err}");
    }
}

fn wait_at_barrier_quietly(barrier: Barrier) {
    let _ = barrier.wait();
    std::process::exit(6); // only if not killed first
}

fn barrier_party_killed_while_waiting_breaks_it() {
    for method in METHODS {
        let barrier = Barrier::new(3).unwrap();
        let mut doomed = start(wait_at_barrier_quietly, barrier.clone(), method);
        while barrier.n_waiting() < 1 {
            std::thread::sleep(Duration::from_millis(1));
        }
        let mut survivor = start(wait_expecting_broken, barrier.clone(), method);
        while barrier.n_waiting() < 2 {
            std::thread::sleep(Duration::from_millis(1));
        }
        // Two parties wait; one dies. The third arrival must not complete
        // the round with a dead party: the barrier breaks instead.
        kill(&mut doomed);
        let err = barrier.wait().unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::BrokenBarrier), "{err}");
        assert_eq!(survivor.join().unwrap(), ExitStatus::Code(0), "{method:?}");
        assert!(barrier.is_broken());
    }
}

fn barrier_survivor_notices_a_dead_party_by_itself() {
    for method in METHODS {
        let barrier = Barrier::new(3).unwrap();
        let mut doomed = start(wait_at_barrier_quietly, barrier.clone(), method);
        let mut survivor = start(wait_expecting_broken, barrier.clone(), method);
        while barrier.n_waiting() < 2 {
            std::thread::sleep(Duration::from_millis(1));
        }
        kill(&mut doomed);
        // The parent never arrives: the survivor finds the dead party's lock
        // "owner died" on its own, breaks the barrier, and exits 0.
        assert_eq!(survivor.join().unwrap(), ExitStatus::Code(0), "{method:?}");
        assert!(barrier.is_broken());
    }
}

fn barrier_abort_wakes_a_waiting_thread() {
    let barrier = Barrier::new(2).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::scope(|s| {
        let waiter = s.spawn(|| {
            tx.send(gettid()).unwrap();
            barrier.wait()
        });
        wait_until_asleep(std::process::id(), rx.recv().unwrap());
        barrier.abort();
        let err = waiter.join().unwrap().unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::BrokenBarrier), "{err}");
    });
    assert!(barrier.is_broken());
    assert!(barrier.wait_timeout(Duration::from_secs(3600)).is_err());
}

fn barrier_gives_up_when_the_other_party_died_before_arriving() {
    for method in METHODS {
        let barrier = Barrier::new(2).unwrap();
        let here = Event::new().unwrap();
        let mut p = start(
            signal_then_block,
            (here.clone(), Event::new().unwrap()),
            method,
        );
        here.wait().unwrap();
        kill(&mut p);
        // Nobody is left who could arrive.
        let err = barrier.wait().unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::BrokenBarrier), "{err}");
        assert!(barrier.is_broken());
    }
}

fn barrier_of_one_and_of_zero() {
    let one = Barrier::new(1).unwrap();
    assert_eq!(one.wait().unwrap(), 0);
    assert_eq!(one.wait().unwrap(), 0);
    let err = Barrier::new(0).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidArgument(_)), "{err}");
    assert!(err.to_string().contains("at least one party"), "{err}");
}

fn main() -> ExitCode {
    harness::run(tests![
        event_set_in_a_child_wakes_the_parent,
        event_set_by_the_parent_wakes_sleeping_children,
        a_set_then_clear_is_not_missed_by_a_sleeping_waiter,
        event_wait_timeout_is_false_until_set_then_true,
        event_between_threads,
        event_wait_gives_up_when_the_only_setter_is_killed,
        event_set_just_before_the_setter_ends_is_seen,
        event_inside_a_queue_message_is_refused,
        barrier_gives_each_party_its_own_index_across_processes,
        barrier_between_threads_holds_every_round,
        barrier_timeout_breaks_it_for_everyone,
        barrier_party_killed_while_waiting_breaks_it,
        barrier_survivor_notices_a_dead_party_by_itself,
        barrier_abort_wakes_a_waiting_thread,
        barrier_gives_up_when_the_other_party_died_before_arriving,
        barrier_of_one_and_of_zero,
    ])
}
