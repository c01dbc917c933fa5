//! A pool of three worker processes returns what the job returns (tutorial 三.3 进程池): `cargo run --example 06_pool`.

use mp::Pool;

fn job(x: u64) -> u64 {
    x * x
}

fn multi_core() -> mp::Result<()> {
    let pool = Pool::new(3)?; // pool = mp.Pool(processes=3)
    let result = pool.map(job, 0..10)?;
    println!("{result:?}");
    let result2 = pool.apply_async(job, 2)?; // no `(2,)` tuple: one argument is just the value
    println!("{}", result2.get()?);
    let multi_result: Vec<_> = (0..10)
        .map(|i| pool.apply_async(job, i))
        .collect::<mp::Result<_>>()?;
    let multi_values: Vec<u64> = multi_result
        .into_iter()
        .map(|single| single.get())
        .collect::<mp::Result<_>>()?;
    println!("{multi_values:?}");

    assert_eq!(result, [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]);
    assert_eq!(multi_values, result);
    Ok(())
}

fn main() -> mp::Result<()> {
    mp::init(); // if __name__ == '__main__':
    multi_core()
}
