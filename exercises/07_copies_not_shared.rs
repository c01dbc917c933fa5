//! Exercise 07_copies_not_shared: fix the bug.
//! Lesson: notes/07_shared_memory.md. Check it: `cargo exercise 07_copies_not_shared`
//!
//! `square_in_child` has a child process square every number, and returns the numbers as the
//! parent sees them afterwards: `[1, 2, 3]` must become `[1, 4, 9]`. It compiles and runs, and
//! the parent sees nothing change: the child's work is lost. Fix it: the squaring stays in the
//! child.
//! (Keep each `pub fn`'s name and signature: the check calls them with other inputs.)
use mp::Process;

/// Runs in the child: squares every number it was given.
fn job(mut numbers: Vec<i32>) {
    for x in numbers.iter_mut() {
        *x *= *x;
    }
}

/// Has a child process square the numbers; what the parent sees afterwards.
pub fn square_in_child(numbers: &[i32]) -> mp::Result<Vec<i32>> {
    let numbers = numbers.to_vec();
    let mut child = Process::new(job, numbers.clone());
    child.start()?;
    child.join()?;
    Ok(numbers)
}

pub fn main() -> mp::Result<()> {
    mp::init(); // if __name__ == '__main__':
    println!("{:?}", square_in_child(&[1, 2, 3])?);
    Ok(())
}
