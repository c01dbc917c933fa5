//! Solution of exercise 11_locked_counter: one guard for the read and the write, as Python's
//! `with v.get_lock():` does.
use mp::{LockError, Process, Value};

/// Runs in each process: adds 1 to the counter `times` times, losing none.
pub fn add((v, times): (Value<i32>, i32)) -> mp::Result<()> {
    for _ in 0..times {
        // Nobody dies holding this lock here; if one did, go on with its guard.
        *v.lock().or_else(LockError::recover)? += 1;
    }
    Ok(())
}

/// `processes` processes each run `add`, on one counter; the counter at the end.
pub fn count(processes: usize, times: i32) -> mp::Result<i32> {
    let v = Value::new(0)?; // v = mp.Value('i', 0)
    let mut ps: Vec<Process> = (0..processes)
        .map(|_| Process::new(add, (v.clone(), times)))
        .collect();
    for p in &mut ps {
        p.start()?;
    }
    for p in &mut ps {
        p.join()?;
    }
    v.get()
}

pub fn main() -> mp::Result<()> {
    mp::init(); // if __name__ == '__main__':
    println!("{}", count(2, 10_000)?);
    Ok(())
}
