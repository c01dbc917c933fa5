//! A lock its holder may take again: Python's `multiprocessing.RLock`.

use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::region::{InShared, Region};
use crate::sync::owner_died::{LockError, LockResult, OwnerDied};
use crate::sync::raw_lock::{Acquired, NotSend, RawLock, impossible};

/// A re-entrant lock shared between processes: the thread that holds it may
/// lock it again without waiting for itself, and it is free again when every
/// guard it took is dropped (Python's `multiprocessing.RLock`).
///
/// ```
/// let rlock = mp::RLock::new()?;
/// let outer = rlock.lock()?;
/// let inner = rlock.lock()?; // the same thread: no deadlock
/// drop(inner);
/// drop(outer); // now another thread or process may take it
/// # Ok::<(), mp::Error>(())
/// ```
///
/// The holder is one thread of one process: another thread of the same
/// process waits like another process does, and so does a forked child of
/// the holder (it is a new process, even though it has a copy of the guards).
///
/// Robust like [`Lock`](crate::Lock): if the holding thread's process dies
/// (or the thread ends with a leaked guard), the next `lock` returns
/// [`OwnerDied`] with the guard, and the count starts again from one.
///
/// How the holder knows itself: the lock records the holder's pid and a
/// number for its thread (the address of a thread-local, unique among the
/// live threads of a process). A match could also be a dead thread that had
/// the same numbers; the robust mutex tells the two apart (a dead owner makes
/// `try_lock` say "owner died", a live one makes it say "busy").
#[derive(Clone, Serialize, Deserialize)]
pub struct RLock {
    region: Region<RLockState>,
}

#[repr(C)]
struct RLockState {
    lock: RawLock,
    /// The holder's pid, or 0. Written only while holding `lock`.
    owner_pid: AtomicU32,
    /// The holder's thread number within its process, or 0.
    owner_thread: AtomicUsize,
    /// How many guards the holder has; only the holder touches it.
    count: AtomicU32,
}

// SAFETY: a process-shared lock, made by `init`, and atomics, for which zero
// is valid: nobody holds it.
unsafe impl InShared for RLockState {
    unsafe fn init(at: *mut Self) -> Result<()> {
        // SAFETY: the caller's promise covers this field.
        unsafe { RawLock::init(&raw mut (*at).lock) }
    }

    fn held_by_this_process(&self) -> bool {
        self.lock.held_by_this_process()
    }
}

/// Holding this is holding the [`RLock`] once; the lock is released when
/// the holder's last guard is dropped. `!Send` and `Sync`, and it keeps the
/// memory mapped when leaked, like [`LockGuard`](crate::LockGuard).
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RLockGuard<'a> {
    rlock: &'a RLock,
    _not_send: NotSend,
}

/// A number for the calling thread, unique among the live threads of this
/// process and never 0.
fn this_thread() -> usize {
    thread_local!(static MARK: u8 = const { 0 });
    MARK.with(|mark| std::ptr::from_ref(mark) as usize)
}

impl RLock {
    /// Makes a new, unlocked re-entrant lock (Python's `RLock()`).
    pub fn new() -> Result<Self> {
        let region = Region::new("RLock", 0, |_, _| {})?;
        Ok(RLock { region })
    }

    fn state(&self) -> &RLockState {
        self.region.header()
    }

    fn guard(&self) -> RLockGuard<'_> {
        RLockGuard {
            rlock: self,
            _not_send: PhantomData,
        }
    }

    fn held_by_me(&self) -> bool {
        let state = self.state();
        state.owner_pid.load(Ordering::Relaxed) == crate::sys::pid()
            && state.owner_thread.load(Ordering::Relaxed) == this_thread()
    }

    /// Records the calling thread as the holder of the mutex it just took.
    fn took(&self, acquired: Acquired) -> LockResult<RLockGuard<'_>> {
        let state = self.state();
        state.count.store(1, Ordering::Relaxed);
        state.owner_thread.store(this_thread(), Ordering::Relaxed);
        state.owner_pid.store(crate::sys::pid(), Ordering::Relaxed);
        match acquired {
            Acquired::Clean => Ok(self.guard()),
            Acquired::OwnerDied(pid) => {
                Err(LockError::OwnerDied(OwnerDied::new(self.guard(), pid)))
            }
        }
    }

    /// If the records say this thread holds the lock, checks it with the
    /// mutex itself: `Some` with the result when they were right (one more
    /// guard) or when the holder was a dead thread with the same numbers.
    fn again(&self) -> Option<LockResult<RLockGuard<'_>>> {
        if !self.held_by_me() {
            return None;
        }
        match self.state().lock.try_lock() {
            // Busy: held by this very thread (nobody else can have written our numbers).
            Ok(None) => {
                self.state().count.fetch_add(1, Ordering::Relaxed);
                Some(Ok(self.guard()))
            }
            Ok(Some(acquired)) => Some(self.took(acquired)),
            Err(err) => impossible(err),
        }
    }

    /// Takes the lock, or takes it once more if this thread holds it
    /// (Python's `acquire()`). [`LockError::OwnerDied`] when the previous holder died
    /// holding it: the lock is taken all the same.
    #[doc(alias("acquire", "release"))]
    pub fn lock(&self) -> LockResult<RLockGuard<'_>> {
        if let Some(result) = self.again() {
            return result;
        }
        match self.state().lock.lock() {
            Ok(acquired) => self.took(acquired),
            // EINVAL or EDEADLK: only a bug in this crate can cause these.
            Err(err) => impossible(err),
        }
    }

    /// Whether some thread or process holds the lock right now (Python's
    /// `threading.RLock` has `locked()` since 3.14). The answer may be out of
    /// date as soon as it is returned.
    pub fn locked(&self) -> bool {
        self.state().lock.is_held()
    }

    /// Like [`RLock::lock`], but `None` at once if another thread or process holds it.
    pub fn try_lock(&self) -> Option<LockResult<RLockGuard<'_>>> {
        if let Some(result) = self.again() {
            return Some(result);
        }
        match self.state().lock.try_lock() {
            Ok(None) => None,
            Ok(Some(acquired)) => Some(self.took(acquired)),
            Err(err) => impossible(err),
        }
    }
}

impl Drop for RLockGuard<'_> {
    fn drop(&mut self) {
        let state = self.rlock.state();
        if state.count.fetch_sub(1, Ordering::Relaxed) == 1 {
            // The last guard: forget the holder, then let go.
            state.owner_pid.store(0, Ordering::Relaxed);
            state.owner_thread.store(0, Ordering::Relaxed);
            state.lock.release();
        }
    }
}

impl fmt::Debug for RLockGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RLockGuard")
    }
}

impl fmt::Debug for RLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RLock").finish_non_exhaustive()
    }
}
