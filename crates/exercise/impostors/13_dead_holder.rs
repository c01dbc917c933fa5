//! Impostor of 13_dead_holder: goes on after the holder died, but repairs nothing, so the
//! money the clerk took out is lost. The check must reject it.
use mp::{Array, Lock, LockError};

pub const TOTAL: i64 = 100;

pub fn clerk_killed_halfway((accounts, lock, amount): (Array<i64>, Lock, i64)) {
    let _guard = lock.lock().expect("the lock is free");
    let from = accounts.get(0).expect("account 0");
    accounts.set(0, from - amount).expect("account 0");
    // SAFETY: kill has no memory-safety preconditions; SIGKILL ends this process here.
    unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
}

pub fn transfer(accounts: &Array<i64>, lock: &Lock, amount: i64) -> mp::Result<()> {
    let _guard = lock.lock().or_else(LockError::recover)?;
    let (from, to) = (accounts.get(0)?, accounts.get(1)?);
    accounts.set(0, from - amount)?;
    accounts.set(1, to + amount)?;
    Ok(())
}

pub fn main() -> mp::Result<()> {
    mp::init();
    Ok(())
}
