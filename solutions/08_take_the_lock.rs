//! Solution of exercise 08_take_the_lock.
use mp::{Lock, Process, Value};

fn job((v, num, l): (Value<i32>, i32, Lock)) -> mp::Result<()> {
    let _guard = l.lock()?; // with l:
    for _ in 0..5 {
        v.set(v.get()? + num)?; // v.value += num
    }
    Ok(())
} // `_guard` is dropped here: l.release()

/// One worker process per number; each adds its number five times, holding `lock` throughout.
pub fn run(nums: &[i32], lock: &Lock) -> mp::Result<i32> {
    let v = Value::new(0)?; // v = mp.Value('i', 0)
    let mut ps: Vec<Process> = nums
        .iter()
        .map(|&num| Process::new(job, (v.clone(), num, lock.clone())))
        .collect();
    for p in &mut ps {
        p.start()?;
    }
    for p in &mut ps {
        p.join()?;
    }
    v.get() // v.value
}

pub fn main() -> mp::Result<()> {
    mp::init(); // if __name__ == '__main__':
    println!("{}", run(&[1, 3], &Lock::new()?)?);
    Ok(())
}
