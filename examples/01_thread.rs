//! Start one thread, named T1, that runs `job1`, and wait for it (tutorial 二.1 创建线程).
//! Run: `cargo run --example 01_thread`
use std::thread;

/// The thread's work: say where it runs, and hand that name back to main.
fn job1() -> String {
    let name = thread::current().name().unwrap_or("<unnamed>").to_owned();
    println!("job1 start, on thread {name}");
    println!("job1 end, on thread {name}");
    name
}

fn main() {
    // threading.Thread(target=job1, name='T1'): pass the function, do not call it.
    let thread1 = thread::Builder::new()
        .name("T1".to_owned())
        .spawn(job1) // thread1.start()
        .expect("the operating system could not start a thread");

    // Python waits for this thread before it exits; Rust's main does not, so join it.
    let name = thread1.join().expect("job1 panicked");
    println!("main: T1 has finished");
    assert_eq!(name, "T1");
}
