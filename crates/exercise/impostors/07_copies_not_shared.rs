//! Impostor of 07_copies_not_shared: the parent squares the numbers itself, and no child
//! ever runs. The check must reject it.
pub fn square_in_child(numbers: &[i32]) -> mp::Result<Vec<i32>> {
    Ok(numbers.iter().map(|x| x * x).collect())
}

pub fn main() -> mp::Result<()> {
    mp::init();
    println!("{:?}", square_in_child(&[1, 2, 3])?);
    Ok(())
}
