//! Exercise 11_locked_counter: write it.
//! Lesson: notes/11_race.md. Check it: `cargo exercise 11_locked_counter`
//!
//! Port this Python program to Rust with `mp`. The check also runs your `add` in processes of
//! its own, many times over, and counts what was lost.
//! (Keep each `pub fn`'s name and signature: the check calls them with other inputs.)
//!
//! ```python
//! import multiprocessing as mp
//!
//! def add(v, times):
//!     for _ in range(times):
//!         with v.get_lock():
//!             v.value += 1
//!
//! def count(processes, times):
//!     v = mp.Value('i', 0)
//!     ps = [mp.Process(target=add, args=(v, times)) for _ in range(processes)]
//!     for p in ps:
//!         p.start()
//!     for p in ps:
//!         p.join()
//!     return v.value
//!
//! if __name__ == '__main__':
//!     print(count(2, 10_000))   # 20000, every time
//! ```
use mp::{Process, Value};

/// Runs in each process: adds 1 to the counter `times` times, losing none.
pub fn add((v, times): (Value<i32>, i32)) -> mp::Result<()> {
    todo!("port `add`")
}

/// `processes` processes each run `add`, on one counter; the counter at the end.
pub fn count(processes: usize, times: i32) -> mp::Result<i32> {
    todo!("port `count`")
}

pub fn main() -> mp::Result<()> {
    mp::init(); // if __name__ == '__main__':
    println!("{}", count(2, 10_000)?);
    Ok(())
}
