//! Impostor of 06_sum_of_squares: the right sums, computed in this process, with no pool.
//! The check must reject it.
pub fn sum_of_squares(n: u64, _processes: usize) -> mp::Result<u64> {
    Ok((0..n).map(|x| x * x).sum())
}

pub fn main() -> mp::Result<()> {
    mp::init();
    println!("{}", sum_of_squares(10, 3)?);
    Ok(())
}
