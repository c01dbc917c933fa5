//! Solution of exercise 07_copies_not_shared: the numbers live in an `mp::Array`, memory the
//! parent and the child both map, so the parent reads what the child wrote.
use mp::{Array, Process};

/// Runs in the child: squares every number, in the shared array.
fn job(numbers: Array<i32>) -> mp::Result<()> {
    for (i, x) in numbers.to_vec()?.into_iter().enumerate() {
        numbers.set(i, x * x)?;
    }
    Ok(())
}

/// Has a child process square the numbers; what the parent sees afterwards.
pub fn square_in_child(numbers: &[i32]) -> mp::Result<Vec<i32>> {
    let shared = Array::new(numbers)?; // mp.Array('i', numbers)
    let mut child = Process::new(job, shared.clone());
    child.start()?;
    child.join()?;
    shared.to_vec()
}

pub fn main() -> mp::Result<()> {
    mp::init(); // if __name__ == '__main__':
    println!("{:?}", square_in_child(&[1, 2, 3])?);
    Ok(())
}
