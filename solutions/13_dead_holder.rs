//! Solution of exercise 13_dead_holder: `lock()` gives the lock even when its holder died,
//! inside an `Err` that says so; the new holder repairs the data, then goes on.
use mp::{Array, Lock, LockError, Process};

/// What the two accounts hold together.
pub const TOTAL: i64 = 100;

/// A clerk: takes the lock, takes `amount` out of account 0, and dies as `kill -9` ends a
/// process, before it pays the money into account 1.
pub fn clerk_killed_halfway((accounts, lock, amount): (Array<i64>, Lock, i64)) {
    let _guard = lock.lock().expect("the lock is free");
    let from = accounts.get(0).expect("account 0");
    accounts.set(0, from - amount).expect("account 0");
    // SAFETY: kill has no memory-safety preconditions; SIGKILL ends this process here.
    unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
}

/// Moves `amount` from account 0 to account 1, under `lock`.
pub fn transfer(accounts: &Array<i64>, lock: &Lock, amount: i64) -> mp::Result<()> {
    let _guard = match lock.lock() {
        Ok(guard) => guard,
        Err(LockError::OwnerDied(died)) => {
            // New: the holder died halfway; the money it took out is in no account.
            let guard = died.into_guard();
            accounts.set(1, TOTAL - accounts.get(0)?)?;
            guard
        }
        Err(other) => return Err(other.into()),
    };
    let (from, to) = (accounts.get(0)?, accounts.get(1)?);
    accounts.set(0, from - amount)?;
    accounts.set(1, to + amount)?;
    Ok(())
}

pub fn main() -> mp::Result<()> {
    mp::init(); // if __name__ == '__main__':
    let (accounts, lock) = (Array::new(&[TOTAL, 0])?, Lock::new()?);
    transfer(&accounts, &lock, 10)?;
    let mut clerk = Process::new(clerk_killed_halfway, (accounts.clone(), lock.clone(), 30));
    clerk.start()?;
    println!("the clerk: {}", clerk.join()?);
    transfer(&accounts, &lock, 20)?;
    println!("accounts: {:?}", accounts.to_vec()?);
    Ok(())
}
