//! A child's writes to a shared `Value` and `Array` are seen by the parent (tutorial 三.4 共享内存): `cargo run --example 07_shared_memory`.

use mp::{Array, Process, Value};

/// Runs in the child: squares every element and stores their sum.
fn job((value, array): (Value<i32>, Array<i32>)) -> mp::Result<()> {
    for (i, x) in array.to_vec()?.into_iter().enumerate() {
        array.set(i, x * x)?;
    }
    value.set(array.iter()?.sum())
}

/// Prints what this process sees in the shared memory.
fn show(when: &str, value: &Value<i32>, array: &Array<i32>) -> mp::Result<()> {
    let (v, a) = (value.get()?, array.to_vec()?);
    println!("{when} value = {v}, array = {a:?}");
    Ok(())
}

fn main() -> mp::Result<()> {
    mp::init();
    let value = Value::new(0)?; // value = mp.Value('i', 0)
    let array = Array::new(&[1, 2, 3])?; // array = mp.Array('i', [1, 2, 3])
    show("before:", &value, &array)?;

    let mut child = Process::new(job, (value.clone(), array.clone()));
    child.start()?;
    child.join()?;
    show("after: ", &value, &array)?;

    // Not copies: the parent reads the very memory the child wrote.
    assert_eq!((value.get()?, array.to_vec()?), (14, vec![1, 4, 9]));
    Ok(())
}
