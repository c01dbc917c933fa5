//! Solution of exercise 17_as_completed: `imap_unordered` yields each result as its task
//! completes, like `as_completed`; each is a `Result`, because a task can fail.
use mp::Pool;

fn job(x: u64) -> u64 {
    x * x
}

/// The squares of `xs` from a pool of two workers, taken as they complete; then sorted.
pub fn squares_as_completed(xs: &[u64]) -> mp::Result<Vec<u64>> {
    let executor = Pool::new(2)?; // ProcessPoolExecutor(max_workers=2)
    let as_completed = executor.imap_unordered(job, xs.to_vec())?;
    let mut done: Vec<u64> = as_completed.collect::<mp::Result<_>>()?;
    done.sort();
    Ok(done)
}

pub fn main() -> mp::Result<()> {
    mp::init(); // if __name__ == '__main__':
    let xs: Vec<u64> = (0..10).collect();
    println!("{:?}", squares_as_completed(&xs)?);
    Ok(())
}
