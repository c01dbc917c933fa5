//! Locks and shared memory under odd but safe callers: a guard leaked with
//! `mem::forget`, and a lock holder killed at any instant.

mod harness;

use std::process::ExitCode;

use mp::{Array, Condition, ExitStatus, Lock, Process, Queue, RLock, StartMethod, Value};

/// Leaks a guard of a lock that was taken, drops every handle of that lock,
/// then takes another lock. glibc keeps each held robust mutex on a list of
/// the thread's held locks and, when the next one is taken, writes into the
/// one at the front of the list: the leaked one. If dropping the last handle
/// had unmapped its memory, that write would hit unmapped memory (SIGSEGV).
fn leak_a_lock_guard(_: ()) {
    let other = Lock::new().unwrap();
    let leaked = Lock::new().unwrap();
    std::mem::forget(leaked.lock().unwrap());
    drop(leaked);
    take_twice(&other);
}

/// Takes `other` and lets it go, twice: each time glibc writes into the list
/// of this thread's held locks, whose front is the leaked one.
fn take_twice(other: &Lock) {
    drop(other.lock().unwrap());
    drop(other.lock().unwrap());
}

fn leak_a_value_guard(_: ()) {
    let other = Value::new(1_u64).unwrap();
    let leaked = Value::new(2_u64).unwrap();
    std::mem::forget(leaked.lock().unwrap());
    drop(leaked);
    other.set(other.get().unwrap() + 1).unwrap();
    assert_eq!(other.get().unwrap(), 2);
}

fn leak_an_array_guard(_: ()) {
    let other = Array::new(&[1_i32, 2]).unwrap();
    let leaked = Array::new(&[3_i32]).unwrap();
    std::mem::forget(leaked.lock().unwrap());
    drop(leaked);
    other.set(0, 10).unwrap();
    assert_eq!(other.to_vec().unwrap(), [10, 2]);
}

fn leak_a_condition_guard(_: ()) {
    let other = Lock::new().unwrap();
    let leaked = Condition::new().unwrap();
    std::mem::forget(leaked.lock().unwrap());
    drop(leaked);
    take_twice(&other);
}

fn leak_an_rlock_guard(_: ()) {
    let other = Lock::new().unwrap();
    let leaked = RLock::new().unwrap();
    std::mem::forget(leaked.lock().unwrap());
    drop(leaked);
    take_twice(&other);
}

/// Run in a child: a leaked guard leaks its mapping, which the harness would
/// rightly count as a leak in this process.
fn a_leaked_guard_keeps_its_memory_mapped() {
    let cases = [
        ("LockGuard", leak_a_lock_guard as fn(())),
        ("ValueGuard", leak_a_value_guard),
        ("ArrayGuard", leak_an_array_guard),
        ("ConditionGuard", leak_a_condition_guard),
        ("RLockGuard", leak_an_rlock_guard),
    ];
    for method in [StartMethod::Fork, StartMethod::Spawn] {
        for (guard, target) in cases {
            let mut p = Process::new(target, ()).start_method(method);
            p.start().unwrap();
            assert_eq!(
                p.join().unwrap(),
                ExitStatus::Code(0),
                "{method:?}: leaking a {guard}, then locking another object"
            );
        }
    }
}

/// Takes and releases `lock` as fast as it can, for ever, once it has said
/// it started.
fn lock_and_unlock_for_ever((lock, started): (Lock, Queue<()>)) {
    drop(lock.lock().unwrap());
    started.put(()).unwrap();
    loop {
        drop(lock.lock().or_else(mp::LockError::recover).unwrap());
    }
}

/// A holder killed at any instant of a tight lock/unlock loop: when the next
/// locker is told that the holder died, the report names the killed process
/// or says plainly that it is unknown (it died in the instant of taking or
/// releasing the lock), never another pid such as 0. Where the kill lands is
/// up to the scheduler, so this repeats a fixed number of times and checks
/// every report.
fn owner_died_names_the_dead_process_or_says_it_is_unknown() {
    const KILLS: usize = 200;
    let (mut named, mut unknown) = (0, 0);
    for round in 0..KILLS {
        let lock = Lock::new().unwrap();
        let started = Queue::new().unwrap();
        let mut p = Process::new(lock_and_unlock_for_ever, (lock.clone(), started.clone()));
        p.start().unwrap();
        let pid = p.pid().unwrap();
        started.get().unwrap();
        p.kill().unwrap();
        assert_eq!(p.join().unwrap(), ExitStatus::Signal(libc::SIGKILL));
        let Err(died) = lock.lock() else {
            continue; // killed between two holds: nothing to report
        };
        let text = died.to_string();
        if text.contains(&format!("process {pid} died")) {
            named += 1;
        } else {
            assert!(
                text.contains("which one is unknown"),
                "round {round}: the killed process was {pid}, but the report says: {text}"
            );
            unknown += 1;
        }
    }
    eprintln!("{KILLS} kills: {named} reports named the process, {unknown} said unknown");
}

fn main() -> ExitCode {
    harness::run(tests![
        a_leaked_guard_keeps_its_memory_mapped,
        owner_died_names_the_dead_process_or_says_it_is_unknown,
    ])
}
