//! Two threads change one number under one `Mutex`, each holding it for its whole run
//! (tutorial 二.3 lock). Run: `cargo run --example 03_lock`
use std::sync::Mutex;
use std::thread;

// New: the number lives inside its lock, so no thread can reach it without locking.
static COUNTER: Mutex<i32> = Mutex::new(0);

/// Adds `step` to the counter ten times, holding the lock for all ten.
fn job(step: i32) {
    let name = thread::current().name().unwrap_or("<unnamed>").to_owned();
    let mut value = COUNTER.lock().expect("a thread panicked holding the lock"); // lock.acquire()
    for _ in 0..10 {
        *value += step;
        // The threads print this time: the order of their lines is the lesson.
        println!("{name}: value = {value}");
    }
} // `value`, the guard, is dropped here: lock.release()

fn main() {
    let thread1 = thread::Builder::new()
        .name("T1".to_owned())
        .spawn(|| job(1))
        .expect("the operating system could not start a thread");
    let thread2 = thread::Builder::new()
        .name("T2".to_owned())
        .spawn(|| job(10))
        .expect("the operating system could not start a thread");

    thread1.join().expect("T1 panicked");
    thread2.join().expect("T2 panicked");

    let total = *COUNTER.lock().expect("a thread panicked holding the lock");
    println!("final value = {total}, whichever thread took the lock first");
    assert_eq!(total, 110); // ten times 1, and ten times 10
}
