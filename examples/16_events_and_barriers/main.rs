//! A bounded buffer, a start line and a stop signal between threads and between processes, and
//! what a party that dies does to each (beyond 三.5 进程锁).
//! Run: `cargo run --example 16_events_and_barriers`
mod killed; // processes killed while they wait or hold
mod processes; // mp's Semaphore, Barrier and Event
mod threads; // std's Condvar and Barrier, crossbeam's WaitGroup

use mp::ErrorKind;

const CAPACITY: usize = 2;
const ITEMS: u32 = 10;

fn main() -> mp::Result<()> {
    mp::init();
    if std::env::args().len() > 1 {
        eprintln!("error: unexpected arguments\nusage: cargo run --example 16_events_and_barriers");
        std::process::exit(2);
    }
    // The processes first: forking while other threads run (or are still ending) is the trap
    // of lesson 12_start_methods, so no thread is started before the last fork.
    let taken_by_processes = processes::bounded_buffer(CAPACITY, ITEMS)?;
    let places = processes::start_line_and_stop()?;
    let broken = killed::party_at_the_line()?;
    let (dead, holder, said) = killed::lock_holder()?;
    killed::permit_holder()?;

    let in_order: Vec<u32> = (0..ITEMS).collect();
    let taken = threads::bounded_buffer(CAPACITY, ITEMS);
    assert_eq!(taken, in_order);
    println!("threads, Condvar, capacity {CAPACITY}:     took {taken:?}");
    assert_eq!(taken_by_processes, in_order);
    println!("processes, Semaphore, capacity {CAPACITY}: took {taken_by_processes:?}");

    assert_eq!(threads::start_line_and_stop(2), 1);
    println!("threads, Barrier(3) and a flag: one leader of 3, all stopped");
    assert_eq!(places, [0, 1, 2]);
    println!("processes, Barrier(3) and an Event: places [0, 1, 2], all stopped");

    println!("Parties that die:");
    assert!(threads::holder_panics());
    println!("- a thread panics holding a Mutex: the next lock() gets a PoisonError");
    assert!(threads::party_panics_before_the_line());
    println!("- a thread panics before the line: crossbeam's WaitGroup goes on without it");
    assert!(matches!(broken.kind(), ErrorKind::BrokenBarrier));
    println!("- a process is killed at the line: {broken}");
    assert_eq!(dead, holder);
    println!("- a process is killed holding a Condition's lock: {said}");
    println!("- a process is killed holding a Semaphore's only permit: acquire() gets it back");
    Ok(())
}
