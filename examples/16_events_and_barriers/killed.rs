//! Processes killed at a known moment, each while it takes part in one of `mp`'s primitives.

use mp::{Barrier, Condition, LockError, Process, Semaphore};

/// Dies as `kill -9` would end it: at once, running no destructor, releasing nothing.
fn die_by_sigkill() -> ! {
    // SAFETY: kill has no memory-safety preconditions; SIGKILL ends this process here.
    unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
    unreachable!("SIGKILL cannot be caught")
}

/// Waits at a start line where nobody else will come.
fn waits_at_the_line(line: Barrier) {
    let _ = line.wait();
}

/// A party is killed while it waits at the line: the barrier breaks for the others.
pub fn party_at_the_line() -> mp::Result<mp::Error> {
    let line = Barrier::new(3)?;
    let mut party = Process::new(waits_at_the_line, line.clone());
    party.start()?;
    while line.n_waiting() == 0 && party.is_alive() {
        std::thread::sleep(std::time::Duration::from_millis(1)); // until it is at the line
    }
    party.kill()?;
    party.join()?;
    Ok(line.wait().expect_err("a party died at the line"))
}

/// Takes the condition's lock and dies holding it.
fn holds_the_lock_and_dies(cond: Condition) {
    let _guard = cond.lock();
    die_by_sigkill()
}

/// A process dies holding a condition's lock: the next `lock()` says who. Both pids, and what
/// `lock()` said.
pub fn lock_holder() -> mp::Result<(Option<u32>, Option<u32>, String)> {
    let cond = Condition::new()?;
    let mut holder = Process::new(holds_the_lock_and_dies, cond.clone());
    holder.start()?;
    holder.join()?;
    let Err(LockError::OwnerDied(died)) = cond.lock() else {
        panic!("the holder died: lock() says so");
    };
    Ok((died.pid(), holder.pid(), died.to_string()))
}

/// Takes the semaphore's only permit and dies holding it.
fn takes_the_permit_and_dies(slots: Semaphore) {
    let _permit = slots.acquire();
    die_by_sigkill()
}

/// A process dies holding the only permit: the next `acquire` finds it given back.
pub fn permit_holder() -> mp::Result<()> {
    let slots = Semaphore::new(1)?;
    let mut holder = Process::new(takes_the_permit_and_dies, slots.clone());
    holder.start()?;
    holder.join()?;
    drop(slots.acquire()?); // Python's acquire() would wait forever here
    Ok(())
}
