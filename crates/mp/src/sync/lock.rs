//! `Lock`: Python's `multiprocessing.Lock`, the plain lock between
//! processes, and its guard. The mutex underneath is `raw_lock.rs`'s.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::region::Region;
use crate::sync::owner_died::{LockResult, map_guard};
use crate::sync::raw_lock::{Call, Held, RawLock};

/// A lock shared between processes: Python's `multiprocessing.Lock`.
///
/// Make it before starting the processes and pass a clone to each. Holding
/// the guard returned by [`Lock::lock`] is holding the lock; dropping the guard
/// releases it, so it cannot be forgotten on an early return or a panic.
///
/// If the process holding the lock dies (killed, crashed), the next `lock`
/// returns [`LockError::OwnerDied`](crate::LockError::OwnerDied), which carries the guard: the caller is told, and can
/// go on. On Linux this uses a robust mutex; other Unix systems have no robust
/// process-shared mutexes, and there the next `lock` waits forever, as in Python.
///
/// ```
/// let lock = mp::Lock::new()?;
/// {
///     let _guard = lock.lock()?; // Python: lock.acquire()
///     // ... only one process at a time runs here ...
/// } // Python: lock.release()
/// # Ok::<(), mp::Error>(())
/// ```
#[derive(Clone, Serialize, Deserialize)]
pub struct Lock {
    region: Region<RawLock>,
}

impl Lock {
    /// Makes a new, unlocked lock in shared memory.
    pub fn new() -> Result<Self> {
        let region = Region::new("Lock", 0, |_, _| {})?;
        Ok(Lock { region })
    }

    fn raw(&self) -> &RawLock {
        self.region.header()
    }

    /// Makes the public guard around the raw one.
    fn guard<'a>(&'a self, held: Held<'a>) -> LockGuard<'a> {
        LockGuard { _held: held }
    }

    /// Waits until the lock is free and takes it (Python's `acquire()`).
    ///
    /// Returns [`LockError::OwnerDied`](crate::LockError::OwnerDied) when the previous holder died holding
    /// it: the lock is taken all the same, and [`OwnerDied::into_guard`](crate::OwnerDied::into_guard)
    /// (or [`LockError::recover`](crate::LockError::recover)) gives the guard. Returns
    /// [`LockError::AlreadyHeld`](crate::LockError::AlreadyHeld), naming the call that holds it, when this
    /// very thread holds the lock already: waiting would never end (Python's
    /// `Lock` hangs there). With `?`, either becomes an [`Error`](crate::Error).
    #[doc(alias("acquire", "release"))]
    pub fn lock(&self) -> LockResult<LockGuard<'_>> {
        map_guard(self.raw().acquire(Call::LockLock), |held| self.guard(held))
    }

    /// Whether some thread or process holds the lock right now (Python's
    /// `locked()`). The answer may be out of date as soon as it is returned.
    /// A lock whose holder died counts as held: the next `lock` is told.
    pub fn locked(&self) -> bool {
        self.raw().is_held()
    }

    /// Takes the lock if it is free right now (Python's
    /// `acquire(blocking=False)`); `None` if another holds it, or this
    /// thread does.
    #[doc(alias("acquire"))]
    pub fn try_lock(&self) -> Option<LockResult<LockGuard<'_>>> {
        let taken = self.raw().try_acquire(Call::LockTryLock)?;
        Some(map_guard(taken, |held| self.guard(held)))
    }
}

impl fmt::Debug for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock").finish_non_exhaustive()
    }
}

/// Holding this is holding the [`Lock`]; dropping it releases the lock.
///
/// # Threads: `!Send`, `Sync`
///
/// A guard is `!Send`, like std's `MutexGuard`: the mutex underneath must be
/// released by the thread that took it (another thread's release is refused,
/// and the lock would stay held for ever). So this does not compile:
///
/// ```compile_fail,E0277
/// let lock = mp::Lock::new().unwrap();
/// let guard = lock.lock().unwrap();
/// std::thread::scope(|s| {
///     s.spawn(move || drop(guard)); // error: `LockGuard` cannot be sent between threads
/// });
/// ```
///
/// It is `Sync`: a `&LockGuard` lent to another thread cannot release anything.
///
/// # Leaking a guard
///
/// While a robust mutex is held, the C library keeps it on a list of this
/// thread's held locks, which it writes to at every later lock and unlock. A
/// guard leaked with `mem::forget` leaves the lock held, so its memory must
/// never be unmapped, or those writes would land in whatever is mapped there
/// next. A guard borrows its [`Lock`], so the memory stays mapped while the
/// guard exists; and a handle dropped while a thread of this process holds
/// the lock keeps the memory mapped for good. A leaked guard leaks its
/// mapping (not its file).
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct LockGuard<'a> {
    /// The lock itself, released when this is dropped.
    _held: Held<'a>,
}

impl fmt::Debug for LockGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LockGuard")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Why guards are `!Send`, and why `unlock`'s result is checked: a thread
    /// that does not hold the robust mutex cannot release it. The refusal is
    /// an error, and the lock stays held by its holder, who can still release it.
    #[cfg(target_os = "linux")]
    #[test]
    fn only_the_holding_thread_can_release_a_lock() {
        let lock = Lock::new().unwrap();
        assert_eq!(
            lock.raw().lock().unwrap(),
            crate::sync::raw_lock::Acquired::Clean
        );
        let refused = std::thread::scope(|s| s.spawn(|| lock.raw().unlock()).join().unwrap());
        let err = refused.expect_err("another thread's release must be refused");
        assert!(
            err.to_string().contains("release a process-shared lock"),
            "{err}"
        );
        assert!(lock.try_lock().is_none(), "the lock is still held");
        lock.raw().unlock().expect("the holder releases it");
        assert!(
            lock.try_lock().is_some_and(|r| r.is_ok()),
            "and now it is free"
        );
    }
}
