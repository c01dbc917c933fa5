//! Exercise 08_take_the_lock: write it.
//! Lesson: notes/08_process_lock.md. Check it: `cargo exercise 08_take_the_lock`
//!
//! Port this Python program to Rust with `mp`. `run` must use the lock it is given: the check
//! holds that lock for a while in another process, and watches whether your workers wait.
//! (Keep each `pub fn`'s name and signature: the check calls them with other inputs.)
//!
//! ```python
//! import multiprocessing as mp
//!
//! def job(v, num, l):
//!     with l:                      # l.acquire() ... l.release()
//!         for _ in range(5):
//!             v.value += num
//!
//! def run(nums, l):
//!     v = mp.Value('i', 0)
//!     ps = [mp.Process(target=job, args=(v, num, l)) for num in nums]
//!     for p in ps:
//!         p.start()
//!     for p in ps:
//!         p.join()
//!     return v.value
//!
//! if __name__ == '__main__':
//!     print(run([1, 3], mp.Lock()))   # 20
//! ```
use mp::{Lock, Process, Value};

/// One worker process per number; each adds its number five times, holding `lock` throughout.
pub fn run(nums: &[i32], lock: &Lock) -> mp::Result<i32> {
    todo!("port `run` and its `job`")
}

pub fn main() -> mp::Result<()> {
    mp::init(); // if __name__ == '__main__':
    println!("{}", run(&[1, 3], &Lock::new()?)?);
    Ok(())
}
