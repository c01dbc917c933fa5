//! Solution of exercise 13_failed_tasks: every task is submitted first; then each `get` is
//! `Ok(square)` or `Err` (the worker's panic), which `.ok()` turns into `None`.
use mp::Pool;

/// The job: the square. It refuses 3.
pub fn job(x: u64) -> u64 {
    if x == 3 {
        panic!("job refuses {x}");
    }
    x * x
}

/// Each x's square from a pool of two workers, or `None` where the task panicked.
pub fn squares_or_none(xs: &[u64]) -> mp::Result<Vec<Option<u64>>> {
    let pool = Pool::new(2)?; // with mp.Pool(processes=2) as pool:
    let handles: Vec<_> = xs
        .iter()
        .map(|&x| pool.apply_async(job, x))
        .collect::<mp::Result<_>>()?;
    Ok(handles
        .into_iter()
        .map(|handle| handle.get().ok())
        .collect())
}

pub fn main() -> mp::Result<()> {
    mp::init(); // if __name__ == '__main__':
    let xs: Vec<u64> = (0..6).collect();
    println!("{:?}", squares_or_none(&xs)?);
    Ok(())
}
