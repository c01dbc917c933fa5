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

use mp::{
    AtomicValue, Barrier, BoundedSemaphore, Condition, ErrorKind, Event, ExitStatus, Process,
    Queue, RLock, Semaphore, StartMethod,
};

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

/// Joins scoped threads one by one. An explicit join waits until each thread
/// has really ended; the end of a scope only waits until their closures
/// returned, and a later test's fork must not see them still alive.
fn join_all<T>(threads: Vec<std::thread::ScopedJoinHandle<'_, T>>) {
    for thread in threads {
        thread.join().unwrap();
    }
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
        // A wait with a timeout does not give up: it runs to its timeout
        // and says "not set", as Python's does.
        assert!(!event.wait_timeout(Duration::from_millis(100)).unwrap());
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
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                s.spawn(|| {
                    for round in 0..ROUNDS {
                        arrived.fetch_add(1, Ordering::SeqCst);
                        let index = barrier.wait().unwrap();
                        assert!(index < THREADS);
                        // Nobody passes round `round` before all have reached it.
                        assert!(arrived.load(Ordering::SeqCst) >= (round + 1) * THREADS);
                    }
                })
            })
            .collect();
        join_all(threads);
    });
    assert_eq!(arrived.into_inner(), THREADS * ROUNDS);
}

/// Waits at the barrier and exits 0 if it was broken, 5 if it was not.
fn wait_expecting_broken(barrier: Barrier) {
    let outcome = barrier.wait();
    let broken = matches!(outcome, Err(ref e) if matches!(e.kind(), ErrorKind::BrokenBarrier));
    std::process::exit(if broken { 0 } else { 5 });
}

fn more_threads_than_parties_share_a_barrier() {
    // Four threads, two parties: rounds complete in pairs, in any pairing,
    // and a new round may start while the last one's parties are still
    // waking up (holding their slots). The threads share out 400 arrivals
    // between them, an even number, so that none is left waiting alone.
    let barrier = Barrier::new(2).unwrap();
    let arrivals = AtomicUsize::new(400);
    std::thread::scope(|s| {
        let threads: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    while arrivals
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok()
                    {
                        assert!(barrier.wait().unwrap() < 2);
                    }
                })
            })
            .collect();
        join_all(threads);
    });
    assert!(!barrier.is_broken());
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

// ---- Semaphore and BoundedSemaphore --------------------------------------

/// Takes a permit, says so, and keeps it until `release` is set.
fn hold_permit((sem, holding, release): (Semaphore, Event, Event)) {
    let _permit = sem.acquire().unwrap();
    holding.set();
    release.wait().unwrap();
}

fn semaphore_admits_its_value_and_no_more_across_processes() {
    for method in METHODS {
        let sem = Semaphore::new(2).unwrap();
        let release = Event::new().unwrap();
        let holding: Vec<Event> = (0..2).map(|_| Event::new().unwrap()).collect();
        let mut holders: Vec<Process> = holding
            .iter()
            .map(|h| {
                start(
                    hold_permit,
                    (sem.clone(), h.clone(), release.clone()),
                    method,
                )
            })
            .collect();
        for h in &holding {
            h.wait().unwrap();
        }
        // Both permits are out.
        assert_eq!(sem.value(), 0);
        assert!(sem.try_acquire().is_none());
        assert!(
            sem.acquire_timeout(Duration::from_millis(20))
                .unwrap()
                .is_none()
        );
        release.set();
        // A holder gives its permit back on the way out.
        let permit = sem.acquire().unwrap();
        for p in &mut holders {
            assert!(p.join().unwrap().success(), "{method:?}");
        }
        assert_eq!(sem.value(), 1);
        drop(permit);
        assert_eq!(sem.value(), 2);
    }
}

fn semaphore_between_threads_never_admits_more_than_its_value() {
    const PERMITS: usize = 3;
    let sem = Semaphore::new(PERMITS).unwrap();
    let inside = AtomicUsize::new(0);
    let most = AtomicUsize::new(0);
    std::thread::scope(|s| {
        let threads: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    for _ in 0..200 {
                        let _permit = sem.acquire().unwrap();
                        let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::yield_now();
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        join_all(threads);
    });
    assert!(most.into_inner() <= PERMITS);
    assert_eq!(sem.value(), PERMITS);
}

fn semaphore_gets_back_the_permit_of_a_killed_holder() {
    for method in METHODS {
        // Python's semaphore would have lost this permit for ever.
        holder_killed_gives_back(&Semaphore::new(1).unwrap(), hold_permit, method);
    }
}

/// Starts `holder` with `sem`'s one permit to take, kills it once it says it
/// holds it, and checks that the permit comes back.
fn holder_killed_gives_back(
    sem: &Semaphore,
    holder: fn((Semaphore, Event, Event)),
    method: StartMethod,
) {
    let holding = Event::new().unwrap();
    let never = Event::new().unwrap();
    let mut p = start(holder, (sem.clone(), holding.clone(), never), method);
    holding.wait().unwrap();
    assert!(sem.try_acquire().is_none(), "the child holds it");
    kill(&mut p);
    let permit = sem.try_acquire().expect("the dead holder's permit");
    drop(permit);
    assert_eq!(sem.value(), 1, "{method:?}");
}

fn a_waiting_acquire_gets_the_permit_of_a_holder_killed_meanwhile() {
    for method in METHODS {
        let sem = BoundedSemaphore::new(1).unwrap();
        let holding = Event::new().unwrap();
        let never = Event::new().unwrap();
        let mut p = start(
            hold_bounded_permit,
            (sem.clone(), holding.clone(), never),
            method,
        );
        holding.wait().unwrap();
        // Kill the holder from a thread once this thread is asleep in acquire.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::scope(|s| {
            let killer = s.spawn(move || {
                wait_until_asleep(std::process::id(), rx.recv().unwrap());
                kill(&mut p);
            });
            tx.send(gettid()).unwrap();
            let permit = sem.acquire().unwrap();
            drop(permit);
            killer.join().unwrap();
        });
        assert_eq!(sem.value(), 1);
    }
}

/// A thread keeps a holder slot after its first permit (see
/// `semaphore/kept.rs`), and a forked child gets a copy of that thread's
/// list of kept slots. The child must take a slot of its own: counted in
/// the parent's, whose lock the parent's thread holds, a permit of a child
/// that dies would never come back.
fn a_child_forked_after_its_parent_used_a_semaphore_is_tracked_on_its_own() {
    let sem = Semaphore::new(1).unwrap();
    drop(sem.acquire().unwrap()); // this thread keeps a slot of `sem` now
    holder_killed_gives_back(&sem, hold_permit, StartMethod::Fork);
}

/// Many threads of one process use a semaphore whose table has 16 slots:
/// forty that come and go, then twenty that stay alive holding nothing.
/// Then the main thread takes the permit and the process is killed. Its
/// permit must come back: threads that hold nothing must not have used up
/// the table.
fn a_holder_is_tracked_after_many_threads_used_the_semaphore() {
    for method in METHODS {
        let sem = Semaphore::new(1).unwrap();
        holder_killed_gives_back(&sem, hold_after_many_threads, method);
    }
}

fn hold_after_many_threads((sem, holding, never): (Semaphore, Event, Event)) {
    for _ in 0..40 {
        let sem = sem.clone();
        std::thread::spawn(move || drop(sem.acquire().unwrap()))
            .join()
            .unwrap();
    }
    let (used, all_used) = std::sync::mpsc::channel();
    for _ in 0..20 {
        let (sem, used, never) = (sem.clone(), used.clone(), never.clone());
        std::thread::spawn(move || {
            drop(sem.acquire().unwrap());
            used.send(()).unwrap();
            let _ = never.wait(); // alive, holding nothing, until the process dies
        });
    }
    for _ in 0..20 {
        all_used.recv().unwrap();
    }
    let _permit = sem.acquire().unwrap();
    holding.set();
    let _ = never.wait();
}

fn hold_bounded_permit((sem, holding, release): (BoundedSemaphore, Event, Event)) {
    let _permit = sem.acquire().unwrap();
    holding.set();
    release.wait().unwrap();
}

/// Run in a child: a leaked guard leaks its mapping and its memfd, which the
/// harness would rightly count as a leak in this process.
fn in_a_child(body: fn(())) {
    for method in METHODS {
        let mut p = start(body, (), method);
        assert_eq!(p.join().unwrap(), ExitStatus::Code(0), "{method:?}");
    }
}

fn a_leaked_permit_comes_back_when_its_thread_ends() {
    in_a_child(leak_a_permit_in_a_thread);
}

fn leak_a_permit_in_a_thread(_: ()) {
    let sem = Semaphore::new(1).unwrap();
    // Joined for real (pthread_join), so the thread has ended, and the kernel
    // has marked its robust locks, by the time `join` returns.
    let leaker = sem.clone();
    std::thread::spawn(move || std::mem::forget(leaker.acquire().unwrap()))
        .join()
        .unwrap();
    // The thread ended holding it: its permit is returned, and counted at once.
    assert_eq!(sem.value(), 1);
    let permit = sem.try_acquire().expect("the ended thread's permit");
    drop(permit);
    assert_eq!(sem.value(), 1);
}

fn bare_release(sem: Semaphore) {
    sem.release().unwrap();
}

fn semaphore_release_signals_another_process_and_forget_hands_over_a_permit() {
    for method in METHODS {
        // Zero permits: the child's release is a signal.
        let signal = Semaphore::new(0).unwrap();
        let mut p = start(bare_release, signal.clone(), method);
        signal.acquire().unwrap().forget();
        assert!(p.join().unwrap().success());
        assert_eq!(signal.value(), 0);
        // A permit taken here, forgotten, then released by the child.
        let sem = Semaphore::new(1).unwrap();
        sem.acquire().unwrap().forget();
        assert_eq!(sem.value(), 0);
        let mut p = start(bare_release, sem.clone(), method);
        assert!(p.join().unwrap().success());
        assert_eq!(sem.value(), 1);
    }
}

fn bounded_semaphore_refuses_a_release_past_its_bound() {
    let sem = BoundedSemaphore::new(2).unwrap();
    let err = sem.release().unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::ReleasedTooOften { bound: 2 }),
        "{err}"
    );
    assert!(err.to_string().contains("released more times"), "{err}");
    assert_eq!(sem.value(), 2);
    let permit = sem.acquire().unwrap();
    assert_eq!(sem.value(), 1);
    sem.release().unwrap(); // allowed: a permit is out
    assert_eq!(sem.value(), 2);
    drop(permit); // its permit was already released: not added past the bound
    assert_eq!(sem.value(), 2);
    // A plain Semaphore takes extra releases.
    let plain = Semaphore::new(1).unwrap();
    plain.release().unwrap();
    assert_eq!(plain.value(), 2);
}

fn semaphore_acquire_gives_up_when_nobody_can_release() {
    let sem = Semaphore::new(0).unwrap();
    let err = sem.acquire().unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::WaitAbandoned {
                what: "Semaphore::acquire"
            }
        ),
        "{err}"
    );
    assert!(Semaphore::new(usize::MAX).is_err());
}

// ---- Condition -----------------------------------------------------------

fn set_and_notify((cond, ready): (Condition, AtomicValue<u32>)) {
    let _guard = cond.lock().unwrap();
    ready.store(1);
    cond.notify_all();
}

fn condition_wait_while_sees_a_change_made_in_a_child() {
    for method in METHODS {
        let cond = Condition::new().unwrap();
        let ready = AtomicValue::new(0).unwrap();
        let guard = cond.lock().unwrap();
        let mut p = start(set_and_notify, (cond.clone(), ready.clone()), method);
        // The child cannot change `ready` before we wait: we hold the lock.
        assert_eq!(ready.load(), 0);
        let guard = cond.wait_while(guard, || ready.load() == 0).unwrap();
        assert_eq!(ready.load(), 1);
        drop(guard);
        assert!(p.join().unwrap().success(), "{method:?}");
    }
}

/// Waits for `ready`, then reports which pid it is, for the parent to count.
fn wait_for_ready((cond, ready, woken): (Condition, AtomicValue<u32>, Queue<u32>)) {
    let guard = cond.lock().unwrap();
    let _guard = cond.wait_while(guard, || ready.load() == 0).unwrap();
    woken.put(std::process::id()).unwrap();
}

fn condition_notify_all_wakes_every_waiting_process() {
    for method in METHODS {
        let cond = Condition::new().unwrap();
        let ready = AtomicValue::new(0).unwrap();
        let woken = Queue::new().unwrap();
        let mut waiters: Vec<Process> = (0..3)
            .map(|_| {
                start(
                    wait_for_ready,
                    (cond.clone(), ready.clone(), woken.clone()),
                    method,
                )
            })
            .collect();
        {
            let _guard = cond.lock().unwrap();
            ready.store(1);
            cond.notify_all();
        }
        let mut pids: Vec<u32> = (0..3).map(|_| woken.get().unwrap()).collect();
        let mut expected: Vec<u32> = waiters.iter().map(|p| p.pid().unwrap()).collect();
        pids.sort();
        expected.sort();
        assert_eq!(pids, expected, "{method:?}");
        for p in &mut waiters {
            assert!(p.join().unwrap().success());
        }
    }
}

fn condition_between_threads_hands_over_items_one_by_one() {
    let cond = Condition::new().unwrap();
    let slot = std::sync::atomic::AtomicU32::new(0); // 0: empty
    let mut received = Vec::new();
    std::thread::scope(|s| {
        let producer = s.spawn(|| {
            for item in 1..=100 {
                let guard = cond.lock().unwrap();
                let _guard = cond
                    .wait_while(guard, || slot.load(Ordering::SeqCst) != 0)
                    .unwrap();
                slot.store(item, Ordering::SeqCst);
                cond.notify_all();
            }
        });
        while received.len() < 100 {
            let guard = cond.lock().unwrap();
            let _guard = cond
                .wait_while(guard, || slot.load(Ordering::SeqCst) == 0)
                .unwrap();
            received.push(slot.swap(0, Ordering::SeqCst));
            cond.notify_all();
        }
        producer.join().unwrap();
    });
    assert_eq!(received, (1..=100).collect::<Vec<u32>>());
}

fn condition_wait_timeout_and_the_wrong_guard() {
    let cond = Condition::new().unwrap();
    let guard = cond.lock().unwrap();
    let (guard, notified) = cond.wait_timeout(guard, Duration::from_millis(20)).unwrap();
    assert!(!notified);
    // The lock is held again: nobody else can take it.
    assert!(cond.try_lock().is_none());
    let other = Condition::new().unwrap();
    let err = other.wait(guard).unwrap_err();
    assert!(
        matches!(err.error().kind(), ErrorKind::InvalidArgument(_)),
        "{err}"
    );
    let guard = err.into_guard(); // still the first condition's lock
    assert!(cond.try_lock().is_none());
    drop(guard);
    assert!(cond.try_lock().is_some());
}

/// In a spawned child that received one condition twice (two copies, each
/// mapping the same memory at its own address): a guard taken through one
/// copy is the right guard for the other. Exits 0 if the wait took it.
fn wait_with_the_other_copys_guard((one, other): (Condition, Condition)) {
    let guard = one.lock().unwrap();
    let took_it = other.wait_timeout(guard, Duration::from_millis(1)).is_ok();
    // (The guard, in the result, is dropped above: the lock is free again.)
    std::process::exit(if took_it { 0 } else { 7 });
}

fn two_copies_of_one_condition_accept_each_others_guards() {
    let cond = Condition::new().unwrap();
    for method in METHODS {
        let mut p = start(
            wait_with_the_other_copys_guard,
            (cond.clone(), cond.clone()),
            method,
        );
        assert_eq!(p.join().unwrap(), ExitStatus::Code(0), "{method:?}");
    }
}

fn condition_wait_gives_up_with_the_lock_held_when_nobody_can_notify() {
    let cond = Condition::new().unwrap();
    let guard = cond.lock().unwrap();
    let err = cond.wait(guard).unwrap_err();
    assert!(
        matches!(
            err.error().kind(),
            ErrorKind::WaitAbandoned {
                what: "Condition::wait"
            }
        ),
        "{err}"
    );
    let _guard = err.into_guard();
    assert!(cond.try_lock().is_none());
}

fn lock_condition_and_die(cond: Condition) {
    let _guard = cond.lock().unwrap();
    std::process::abort();
}

fn condition_holder_death_is_reported_to_the_next() {
    for method in METHODS {
        let cond = Condition::new().unwrap();
        let mut p = start(lock_condition_and_die, cond.clone(), method);
        let pid = p.pid().unwrap();
        assert_eq!(p.join().unwrap(), ExitStatus::Signal(libc::SIGABRT));
        let Err(mp::LockError::OwnerDied(died)) = cond.lock() else {
            panic!("the holder died");
        };
        assert_eq!(died.pid(), Some(pid));
        drop(died.into_guard());
        drop(cond.lock().expect("consistent again"));
    }
}

/// Waits on the condition after telling the parent its ids; killed while asleep.
fn wait_on_condition((cond, ids): (Condition, Queue<(u32, u32)>)) {
    let guard = cond.lock().unwrap();
    ids.put((std::process::id(), gettid())).unwrap();
    let _ = cond.wait(guard);
    std::process::exit(3);
}

fn a_waiter_killed_while_asleep_leaves_the_condition_working() {
    for method in METHODS {
        let cond = Condition::new().unwrap();
        let ids = Queue::new().unwrap();
        let mut p = start(wait_on_condition, (cond.clone(), ids.clone()), method);
        let (pid, tid) = ids.get().unwrap();
        wait_until_asleep(pid, tid);
        kill(&mut p);
        // A pthread condvar could be left with a waiter count nobody fixes;
        // this one keeps no list of waiters.
        cond.notify_all();
        let ready = AtomicValue::new(0).unwrap();
        let woken = Queue::new().unwrap();
        let mut q = start(
            wait_for_ready,
            (cond.clone(), ready.clone(), woken.clone()),
            method,
        );
        {
            let _guard = cond
                .lock()
                .expect("the killed waiter did not hold the lock");
            ready.store(1);
            cond.notify();
        }
        assert_eq!(woken.get().unwrap(), q.pid().unwrap());
        assert!(q.join().unwrap().success());
    }
}

// ---- RLock ---------------------------------------------------------------

fn rlock_reenters_in_its_thread_and_excludes_other_threads() {
    let rlock = RLock::new().unwrap();
    let outer = rlock.lock().unwrap();
    let inner = rlock.lock().unwrap();
    let third = rlock.try_lock().expect("its own thread").unwrap();
    std::thread::scope(|s| {
        assert!(s.spawn(|| rlock.try_lock().is_none()).join().unwrap());
    });
    drop(third);
    drop(outer); // guards may drop in any order
    std::thread::scope(|s| {
        assert!(s.spawn(|| rlock.try_lock().is_none()).join().unwrap());
    });
    drop(inner);
    std::thread::scope(|s| {
        assert!(s.spawn(|| rlock.try_lock().is_some()).join().unwrap());
    });
}

/// Exits 0 if the lock is busy, 7 if this process could take it.
fn try_rlock(rlock: RLock) {
    std::process::exit(if rlock.try_lock().is_none() { 0 } else { 7 });
}

fn rlock_held_by_the_parent_is_busy_for_a_child_even_a_forked_copy() {
    for method in METHODS {
        let rlock = RLock::new().unwrap();
        let guard = rlock.lock().unwrap();
        // A forked child has a copy of our guard and of our thread's
        // numbers, but it is another process: it does not hold the lock.
        let mut p = start(try_rlock, rlock.clone(), method);
        assert_eq!(p.join().unwrap(), ExitStatus::Code(0), "{method:?}");
        drop(guard);
        let mut p = start(try_rlock, rlock.clone(), method);
        assert_eq!(p.join().unwrap(), ExitStatus::Code(7), "{method:?}");
    }
}

fn lock_rlock_twice_and_die(rlock: RLock) {
    let _outer = rlock.lock().unwrap();
    let _inner = rlock.lock().unwrap();
    std::process::abort();
}

fn rlock_holder_death_is_reported_and_the_count_starts_again() {
    for method in METHODS {
        let rlock = RLock::new().unwrap();
        let mut p = start(lock_rlock_twice_and_die, rlock.clone(), method);
        let pid = p.pid().unwrap();
        assert_eq!(p.join().unwrap(), ExitStatus::Signal(libc::SIGABRT));
        let Err(mp::LockError::OwnerDied(died)) = rlock.lock() else {
            panic!("the holder died");
        };
        assert_eq!(died.pid(), Some(pid));
        let guard = died.into_guard();
        // Held once by us now, not three times: one drop frees it.
        drop(guard);
        std::thread::scope(|s| {
            assert!(s.spawn(|| rlock.try_lock().is_some()).join().unwrap());
        });
    }
}

fn an_rlock_leaked_by_an_ended_thread_is_reported_not_reentered() {
    in_a_child(leak_an_rlock_in_a_thread);
}

fn leak_an_rlock_in_a_thread(_: ()) {
    let rlock = RLock::new().unwrap();
    let leaker = rlock.clone();
    std::thread::spawn(move || std::mem::forget(leaker.lock().unwrap()))
        .join()
        .unwrap();
    // The thread ended holding it; a new thread may get the same numbers,
    // but the robust mutex tells it apart: owner died, not re-entry.
    let Err(mp::LockError::OwnerDied(died)) = rlock.lock() else {
        panic!("its holder ended");
    };
    assert_eq!(died.pid(), Some(std::process::id()));
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
        more_threads_than_parties_share_a_barrier,
        barrier_timeout_breaks_it_for_everyone,
        barrier_party_killed_while_waiting_breaks_it,
        barrier_survivor_notices_a_dead_party_by_itself,
        barrier_abort_wakes_a_waiting_thread,
        barrier_gives_up_when_the_other_party_died_before_arriving,
        barrier_of_one_and_of_zero,
        semaphore_admits_its_value_and_no_more_across_processes,
        semaphore_between_threads_never_admits_more_than_its_value,
        semaphore_gets_back_the_permit_of_a_killed_holder,
        a_waiting_acquire_gets_the_permit_of_a_holder_killed_meanwhile,
        a_leaked_permit_comes_back_when_its_thread_ends,
        a_child_forked_after_its_parent_used_a_semaphore_is_tracked_on_its_own,
        a_holder_is_tracked_after_many_threads_used_the_semaphore,
        semaphore_release_signals_another_process_and_forget_hands_over_a_permit,
        bounded_semaphore_refuses_a_release_past_its_bound,
        semaphore_acquire_gives_up_when_nobody_can_release,
        condition_wait_while_sees_a_change_made_in_a_child,
        condition_notify_all_wakes_every_waiting_process,
        condition_between_threads_hands_over_items_one_by_one,
        condition_wait_timeout_and_the_wrong_guard,
        two_copies_of_one_condition_accept_each_others_guards,
        condition_wait_gives_up_with_the_lock_held_when_nobody_can_notify,
        condition_holder_death_is_reported_to_the_next,
        a_waiter_killed_while_asleep_leaves_the_condition_working,
        rlock_reenters_in_its_thread_and_excludes_other_threads,
        rlock_held_by_the_parent_is_busy_for_a_child_even_a_forked_copy,
        rlock_holder_death_is_reported_and_the_count_starts_again,
        an_rlock_leaked_by_an_ended_thread_is_reported_not_reentered,
    ])
}
