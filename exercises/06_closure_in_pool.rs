//! Exercise 06_closure_in_pool: the compiler teaches.
//! Lesson: notes/06_pool.md. Check it: `cargo exercise 06_closure_in_pool`
//!
//! `scaled(factor, n)` has a pool of three worker processes multiply every number of 0..n by
//! `factor`. It does not compile: read what the compiler says about the closure. Make it
//! compile, with the multiplying still done by the pool's workers.
//! (Keep each `pub fn`'s name and signature: the check calls them with other inputs.)
use mp::Pool;

/// Every number of 0..n times `factor`, in order, computed by a pool of three processes.
pub fn scaled(factor: u64, n: u64) -> mp::Result<Vec<u64>> {
    let pool = Pool::new(3)?;
    pool.map(|x| x * factor, 0..n)
}

pub fn main() -> mp::Result<()> {
    mp::init(); // if __name__ == '__main__':
    println!("{:?}", scaled(3, 10)?);
    Ok(())
}
