//! Solution of exercise 06_sum_of_squares.
use mp::Pool;

fn job(x: u64) -> u64 {
    x * x
}

/// The sum of x * x for x in 0..n, the squares computed by a pool of `processes` workers.
pub fn sum_of_squares(n: u64, processes: usize) -> mp::Result<u64> {
    let pool = Pool::new(processes)?; // with mp.Pool(processes=processes) as pool:
    Ok(pool.map(job, 0..n)?.iter().sum())
} // the pool is dropped here: its workers are stopped and reaped, as `with` does

pub fn main() -> mp::Result<()> {
    mp::init(); // if __name__ == '__main__':
    println!("{}", sum_of_squares(10, 3)?);
    Ok(())
}
