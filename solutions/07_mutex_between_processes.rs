//! Solution of exercise 07_mutex_between_processes: an `mp::Value`, memory both processes map,
//! with its own process-shared lock; a child's `Arc` would be a copy, not a share.
use mp::{LockError, Process, Value};

/// Runs in each child: adds 1 to the shared counter, under its lock.
fn job(counter: Value<i32>) -> mp::Result<()> {
    // Nobody dies holding this lock here; if one did, go on with its guard.
    *counter.lock().or_else(LockError::recover)? += 1;
    Ok(())
}

/// Starts `children` processes that each add 1 to one counter; the counter at the end.
pub fn count_children(children: usize) -> mp::Result<i32> {
    let counter = Value::new(0)?; // mp.Value('i', 0)
    let mut started = Vec::new();
    for _ in 0..children {
        let mut p = Process::new(job, counter.clone());
        p.start()?;
        started.push(p);
    }
    for p in &mut started {
        p.join()?;
    }
    counter.get()
}

pub fn main() -> mp::Result<()> {
    mp::init(); // if __name__ == '__main__':
    println!("counter = {}", count_children(2)?);
    Ok(())
}
