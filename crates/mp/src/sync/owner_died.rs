//! What taking a lock can report besides the guard, as std keeps its
//! `PoisonError` in `poison.rs`: the previous holder died holding the lock
//! ([`OwnerDied`], which carries the guard: the lock is taken all the same),
//! or this very thread holds the lock already ([`LockError::AlreadyHeld`]:
//! nothing is taken, since the wait would never end).
//!
//! std poisons a `Mutex` when a *thread* panics holding it; here the news is
//! that a whole *process* died, and the data the lock guards may be
//! half-updated.

use std::fmt;
use std::ops::{Deref, DerefMut};

use crate::error::{Error, ErrorKind};

/// The result of taking a process-shared lock: the guard, or a [`LockError`]
/// (which carries the guard when the previous holder died: the lock is taken
/// all the same).
pub type LockResult<G> = std::result::Result<G, LockError<G>>;

/// Why taking a lock did not simply give its guard.
///
/// With `?` it becomes an [`Error`]. To go on after a dead holder, and still
/// stop on the other case, use [`LockError::recover`]:
///
/// ```
/// let v = mp::Value::new(0_i32)?;
/// *v.lock().or_else(mp::LockError::recover)? += 1; // a holder's death is no reason to stop here
/// assert_eq!(v.get()?, 1);
/// # Ok::<(), mp::Error>(())
/// ```
pub enum LockError<G> {
    /// The previous holder died holding the lock. The lock is ours now, and
    /// [`OwnerDied::into_guard`] gives its guard; the data it guards may be
    /// half-updated.
    OwnerDied(OwnerDied<G>),
    /// This thread holds the lock already, through the call the error names
    /// ([`ErrorKind::AlreadyHeld`]). Nothing was taken: waiting would never
    /// end, since the holder is the one waiting. Python's `Lock` hangs here;
    /// use the guard you have, or drop it first.
    AlreadyHeld(Error),
}

impl<G> LockError<G> {
    /// Goes on after a holder's death: the guard that [`LockError::OwnerDied`]
    /// carries. The lock taken again by its own thread stays an error.
    pub fn recover(self) -> Result<G, Error> {
        match self {
            LockError::OwnerDied(died) => Ok(died.into_guard()),
            LockError::AlreadyHeld(err) => Err(err),
        }
    }

    /// The same error around another guard: how the crate turns the guard of
    /// its one raw lock into each public guard.
    pub(crate) fn map<H>(self, f: impl FnOnce(G) -> H) -> LockError<H> {
        match self {
            LockError::OwnerDied(died) => LockError::OwnerDied(OwnerDied {
                guard: f(died.guard),
                pid: died.pid,
            }),
            LockError::AlreadyHeld(err) => LockError::AlreadyHeld(err),
        }
    }
}

/// Turns the result of taking the raw lock into a public guard's, on both
/// sides: `f` wraps the guard, whether the lock came clean or from a dead
/// holder.
pub(crate) fn map_guard<G, H>(taken: LockResult<G>, f: impl Fn(G) -> H) -> LockResult<H> {
    match taken {
        Ok(guard) => Ok(f(guard)),
        Err(err) => Err(err.map(f)),
    }
}

impl<G> fmt::Debug for LockError<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockError::OwnerDied(died) => f.debug_tuple("OwnerDied").field(died).finish(),
            LockError::AlreadyHeld(err) => f.debug_tuple("AlreadyHeld").field(err).finish(),
        }
    }
}

impl<G> fmt::Display for LockError<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockError::OwnerDied(died) => died.fmt(f),
            LockError::AlreadyHeld(err) => err.fmt(f),
        }
    }
}

impl<G> std::error::Error for LockError<G> {}

impl<G> From<LockError<G>> for Error {
    fn from(err: LockError<G>) -> Self {
        match err {
            LockError::OwnerDied(died) => died.into(),
            LockError::AlreadyHeld(err) => err,
        }
    }
}

/// The lock was taken, but its previous holder died while holding it: the data
/// it guards may be half-updated. [`OwnerDied::into_guard`] gives the guard to go on.
pub struct OwnerDied<G> {
    guard: G,
    pid: Option<u32>,
}

impl<G> OwnerDied<G> {
    pub(crate) fn new(guard: G, pid: Option<u32>) -> Self {
        OwnerDied { guard, pid }
    }

    /// The process that died holding the lock, or `None` when that cannot be
    /// known: it died in the instant between taking the mutex and writing its
    /// pid beside it, or between clearing its pid and releasing the mutex.
    /// Never the pid of another process.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// The guard: the lock is held by this process now.
    pub fn into_guard(self) -> G {
        self.guard
    }
}

impl<G> fmt::Debug for OwnerDied<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnerDied")
            .field("pid", &self.pid)
            .finish_non_exhaustive()
    }
}

impl<G> fmt::Display for OwnerDied<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Error::new(ErrorKind::OwnerDied { pid: self.pid }).fmt(f)
    }
}

impl<G> std::error::Error for OwnerDied<G> {}

impl<G> From<OwnerDied<G>> for Error {
    fn from(died: OwnerDied<G>) -> Self {
        Error::new(ErrorKind::OwnerDied { pid: died.pid })
    }
}

impl<G: Deref> Deref for OwnerDied<G> {
    type Target = G::Target;
    fn deref(&self) -> &Self::Target {
        &self.guard
    }
}

impl<G: DerefMut> DerefMut for OwnerDied<G> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.guard
    }
}
