//! A slow thread and a quick one; `join` makes main wait for both before its last line
//! (tutorial 二.2 join). Run: `cargo run --example 02_join`
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

// New: each thread counts its steps where main can read them while it runs.
static T1_STEPS: AtomicUsize = AtomicUsize::new(0);
static T2_STEPS: AtomicUsize = AtomicUsize::new(0);

/// Takes `steps` short steps, counting each one as it goes.
fn job(steps: usize, taken: &AtomicUsize) {
    for _ in 0..steps {
        thread::sleep(Duration::from_millis(20));
        taken.fetch_add(1, Ordering::SeqCst);
    }
}

fn main() {
    let thread1 = thread::Builder::new()
        .name("T1".to_owned())
        .spawn(|| job(10, &T1_STEPS))
        .expect("the operating system could not start a thread");
    let thread2 = thread::Builder::new()
        .name("T2".to_owned())
        .spawn(|| job(1, &T2_STEPS))
        .expect("the operating system could not start a thread");

    // Without join, main would go on right here, whatever the threads have done so far.
    let t1_before = T1_STEPS.load(Ordering::SeqCst);
    let t2_before = T2_STEPS.load(Ordering::SeqCst);

    // thread_1.join(); thread_2.join(): main waits here until both have finished.
    thread1.join().expect("T1 panicked");
    thread2.join().expect("T2 panicked");
    let t1_after = T1_STEPS.load(Ordering::SeqCst);
    let t2_after = T2_STEPS.load(Ordering::SeqCst);

    println!("before join: T1 had taken {t1_before} of 10 steps, T2 {t2_before} of 1");
    println!("after join:  T1 had taken {t1_after} of 10 steps, T2 {t2_after} of 1");
    println!("all done");
    assert_eq!((t1_after, t2_after), (10, 1), "main went on too early");
}
