//! Exercise 03_lock_twice: fix the bug.
//! Lesson: notes/03_lock.md. Check it: `cargo exercise 03_lock_twice`
//!
//! Two threads, T1 and T2, each add their step to the counter ten times, holding the lock for
//! their whole run as in lesson 03, and record each new value with `report`. It hangs: T1
//! never gets past its first step. Fix it, so that each thread still holds the lock for its
//! whole run and its ten reports come one after the other.
//! (Keep each `pub fn`'s name and signature: the check calls them with other inputs.)
use std::sync::Mutex;
use std::thread;

static COUNTER: Mutex<i32> = Mutex::new(0);
/// Every step's report: the thread's name and the counter's new value.
static REPORTS: Mutex<Vec<(String, i32)>> = Mutex::new(Vec::new());

/// Records the counter's value, and the thread that made it.
fn report() {
    let name = thread::current().name().unwrap_or("<unnamed>").to_owned();
    let value = *COUNTER.lock().unwrap();
    REPORTS.lock().unwrap().push((name, value));
}

/// Adds `step` to the counter ten times, holding the lock for all ten.
fn job(step: i32) {
    let mut value = COUNTER.lock().unwrap();
    for _ in 0..10 {
        *value += step;
        report();
    }
}

/// Runs T1 with `step1` and T2 with `step2` from 0; the final value and the reports.
pub fn run(step1: i32, step2: i32) -> (i32, Vec<(String, i32)>) {
    *COUNTER.lock().unwrap() = 0;
    REPORTS.lock().unwrap().clear();
    let start = |name: &str, step: i32| {
        let builder = thread::Builder::new().name(name.to_owned());
        builder.spawn(move || job(step)).expect("a new thread")
    };
    let (t1, t2) = (start("T1", step1), start("T2", step2));
    t1.join().expect("T1 panicked");
    t2.join().expect("T2 panicked");
    let total = *COUNTER.lock().unwrap();
    (total, std::mem::take(&mut *REPORTS.lock().unwrap()))
}

pub fn main() {
    let (total, reports) = run(1, 10);
    for (name, value) in reports {
        println!("{name}: value = {value}");
    }
    println!("final value = {total}");
}
