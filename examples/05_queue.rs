//! Two processes send their results home through a queue (tutorial 三.2 Queue): `cargo run --example 05_queue`.

use mp::{Process, Queue};

fn job(q: Queue<u64>) {
    let mut result = 0;
    for i in 0..1000 {
        result += i + i * i;
    }
    q.put(result).expect("the parent keeps the queue open");
}

fn main() -> mp::Result<()> {
    mp::init(); // if __name__ == '__main__':
    let q = Queue::new()?;
    let mut p1 = Process::new(job, q.clone());
    let mut p2 = Process::new(job, q.clone());
    p1.start()?;
    p2.start()?;
    p1.join()?; // fine for two small numbers; the note shows when joining first deadlocks
    p2.join()?;
    let result1 = q.get()?;
    println!("{result1}");
    let result2 = q.get()?;
    println!("{result2}");
    println!("All done!");

    assert_eq!([result1, result2], [333_333_000; 2]);
    Ok(())
}
