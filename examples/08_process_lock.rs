//! Two processes take turns on a shared value under one lock (tutorial 三.5 进程锁): `cargo run --example 08_process_lock`.

use std::thread::sleep;
use std::time::Duration;

use mp::{Lock, Process, Value};

fn job((v, num, l): (Value<i32>, i32, Lock)) -> mp::Result<()> {
    let _guard = l.lock()?; // l.acquire()
    for _ in 0..10 {
        sleep(Duration::from_millis(100));
        v.set(v.get()? + num)?;
        println!("value : {}", v.get()?);
    }
    Ok(())
} // `_guard` is dropped here: l.release()

fn multi_core() -> mp::Result<()> {
    let lock = Lock::new()?; // lock = mp.Lock()
    let value = Value::new(0)?; // value = mp.Value('i', 0)
    let mut p1 = Process::new(job, (value.clone(), 1, lock.clone()));
    let mut p2 = Process::new(job, (value.clone(), 3, lock.clone()));
    p1.start()?;
    p2.start()?;
    p1.join()?;
    p2.join()?;
    println!("final value : {}", value.get()?);
    println!("All done!");

    assert_eq!(value.get()?, 40); // ten times 1, and ten times 3
    Ok(())
}

fn main() -> mp::Result<()> {
    mp::init();
    multi_core()
}
