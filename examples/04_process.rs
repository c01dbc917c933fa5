//! Start two processes and join them (tutorial 三.1 创建进程): `cargo run --example 04_process`.

use mp::{Process, Queue};

/// Runs in each child: it reports who it is and who started it. Only the
/// parent prints; the queue (next lesson) just carries the report home.
fn job(reports: Queue<(String, u32, u32)>) {
    let name = mp::current_process_name().to_owned();
    let parent = std::os::unix::process::parent_id();
    reports
        .put((name, std::process::id(), parent))
        .expect("the parent keeps the queue open");
}

fn main() -> mp::Result<()> {
    mp::init(); // Rust's `if __name__ == '__main__':` (see the note)
    let reports = Queue::new()?;
    let mut p1 = Process::new(job, reports.clone()); // p1 = mp.Process(target=job, args=(q,))
    let mut p2 = Process::new(job, reports.clone());
    p1.start()?;
    p2.start()?;
    let status1 = p1.join()?;
    let status2 = p2.join()?;

    let me = std::process::id();
    println!("{}: pid {me}", mp::current_process_name());
    // The reports arrive in whichever order the children put them: sort by name.
    let mut arrived = vec![reports.get()?, reports.get()?];
    arrived.sort();
    for (name, pid, parent) in &arrived {
        println!("{name}: pid {pid}, parent pid {parent}");
    }
    println!("{} {status1}", p1.name());
    println!("{} {status2}", p2.name());

    // Each child is the process `start` made, and this process is its parent.
    let started = |p: &Process| (p.name().to_owned(), p.pid().unwrap_or(0), me);
    assert_eq!(arrived, [started(&p1), started(&p2)]);
    assert!(status1.success() && status2.success());
    Ok(())
}
