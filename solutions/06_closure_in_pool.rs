//! Solution of exercise 06_closure_in_pool: a plain `fn` that takes the factor with each
//! item, as Python would pass `(x, factor)` to `starmap`.
use mp::Pool;

/// One task: a number and the factor, both sent to the worker.
fn scale((x, factor): (u64, u64)) -> u64 {
    x * factor
}

/// Every number of 0..n times `factor`, in order, computed by a pool of three processes.
pub fn scaled(factor: u64, n: u64) -> mp::Result<Vec<u64>> {
    let pool = Pool::new(3)?;
    pool.map(scale, (0..n).map(|x| (x, factor)))
}

pub fn main() -> mp::Result<()> {
    mp::init(); // if __name__ == '__main__':
    println!("{:?}", scaled(3, 10)?);
    Ok(())
}
