//! Waiting for a change that another process makes under a lock: Python's
//! `multiprocessing.Condition`.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::region::{InShared, Region};
use crate::sync::owner_died::{LockError, LockResult, map_guard};
use crate::sync::raw_lock::{Call, Held, RawLock, impossible};
use crate::sync::wait::Waited;
use crate::sync::waiters::Waiters;

/// A condition variable with its own lock, shared between processes (and
/// threads): Python's `multiprocessing.Condition()`.
///
/// Take the lock with [`lock`](Condition::lock), look at the shared state
/// (a [`Value`](crate::Value), an [`AtomicValue`](crate::AtomicValue), ...),
/// and if it is not what you need, [`wait`](Condition::wait): that lets go
/// of the lock while it sleeps and takes it again before it returns. Whoever
/// changes the state does so holding the lock, then calls
/// [`notify`](Condition::notify) or [`notify_all`](Condition::notify_all).
///
/// ```
/// use mp::{AtomicValue, Condition, Process};
///
/// fn job((cond, ready): (Condition, AtomicValue<u32>)) {
///     let _guard = cond.lock().unwrap();
///     ready.store(1);
///     cond.notify_all();
/// }
///
/// fn main() -> mp::Result<()> {
///     mp::init();
///     let cond = Condition::new()?;
///     let ready = AtomicValue::new(0)?;
///     let mut p = Process::new(job, (cond.clone(), ready.clone()));
///     p.start()?;
///     let guard = cond.lock()?;
///     // Python: cond.wait_for(lambda: ready.value == 1)
///     let _guard = cond.wait_while(guard, || ready.load() == 0)?;
///     p.join()?;
///     Ok(())
/// }
/// ```
///
/// # Differences from Python
///
/// - As in Python, [`notify`](Condition::notify) wakes exactly one waiter,
///   [`notify_n`](Condition::notify_n) up to `n`, and a timed wait runs to
///   its timeout unless notified. Which of the waiters a notify wakes is not
///   fixed (Python does not promise it either). Past 64 waiters at once, the
///   extra ones may all wake on one notify. Check the state again after a
///   wait all the same, as with `std::sync::Condvar`:
///   [`wait_while`](Condition::wait_while) does it for you.
/// - `notify` does not need the lock (Python raises if it is not held);
///   changing the state does, or a waiter may check it, miss the change and
///   sleep through the notify.
/// - Python's `wait_for(predicate)` waits *until* the predicate is true;
///   `wait_while(condition)`, as in std, waits *while* its closure is true.
///
/// # Not re-entrant
///
/// Python's `Condition()` is built on an `RLock`, so its holder may
/// `acquire()` it again. This one's lock is a plain [`Lock`](crate::Lock)-like
/// lock, on purpose: [`wait`](Condition::wait) takes the one guard it is
/// given and lets go of the lock while it sleeps. With a second, nested guard
/// alive, the code around it would believe it holds the lock while another
/// process changed the state under it. Taking the lock again in the thread
/// that holds it returns [`LockError::AlreadyHeld`] at once, naming the call
/// that holds it, rather than waiting for ever: pass the guard along instead.
///
/// # A process that dies
///
/// The lock is a robust one, like [`Lock`](crate::Lock): if its holder dies,
/// the next `lock` (or the re-locking at the end of a `wait`) is told so.
/// A *waiter* that dies leaves no broken bookkeeping behind, which is why
/// this is not a process-shared `pthread_cond_t`: each waiter holds a robust
/// lock of its own while it waits (see `sync/waiters.rs`), so a notify sees
/// a dead waiter, skips it and frees its place; it wakes a live one instead.
///
/// A `wait` without a timeout checks every 50 ms whether anybody is left who
/// could notify (another thread of its process, a running child, its parent:
/// the crate's one rule, in `sync/wait.rs`): if not, it takes the lock again
/// and returns [`ErrorKind::WaitAbandoned`] in a [`WaitError`] that carries
/// the guard. A [`wait_timeout`](Condition::wait_timeout) runs to its
/// timeout instead.
#[derive(Clone, Serialize, Deserialize)]
pub struct Condition {
    region: Region<ConditionState>,
}

#[repr(C)]
struct ConditionState {
    lock: RawLock,
    /// Who waits: see `sync/waiters.rs`.
    waiters: Waiters,
}

// SAFETY: a process-shared lock and a table of waiters, each made by its
// `init`; every other field is an atomic, for which zero is valid.
unsafe impl InShared for ConditionState {
    unsafe fn init(at: *mut Self) -> Result<()> {
        // SAFETY: the caller's promise covers these fields.
        unsafe {
            RawLock::init(&raw mut (*at).lock)?;
            Waiters::init(&raw mut (*at).waiters)
        }
    }

    fn held_by_this_process(&self) -> bool {
        self.lock.held_by_this_process()
    }
}

/// Holding this is holding the lock of a [`Condition`]; dropping it
/// releases the lock. `!Send` and `Sync`, and it keeps the memory mapped
/// when leaked, like [`LockGuard`](crate::LockGuard).
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct ConditionGuard<'a> {
    condition: &'a Condition,
    /// The condition's lock, released when this is dropped.
    _held: Held<'a>,
}

/// What a [`Condition`]'s waits return: the guard, or a [`WaitError`] that
/// also carries it (the lock is held again either way).
pub type WaitResult<G> = std::result::Result<G, WaitError<G>>;

/// A wait on a [`Condition`] ended in trouble, but the lock is held again:
/// [`WaitError::into_guard`] gives the guard to go on. The error is
/// [`ErrorKind::OwnerDied`] (the lock's holder died while this one slept),
/// [`ErrorKind::WaitAbandoned`] (nobody is left who could notify), or
/// [`ErrorKind::InvalidArgument`] (the guard came from another condition;
/// it is handed back untouched). With `?`, it becomes that [`Error`].
pub struct WaitError<G> {
    guard: G,
    error: Error,
}

impl<G> WaitError<G> {
    /// What went wrong.
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// The guard: the lock is held by this thread.
    pub fn into_guard(self) -> G {
        self.guard
    }

    fn map<H>(self, f: impl FnOnce(G) -> H) -> WaitError<H> {
        WaitError {
            guard: f(self.guard),
            error: self.error,
        }
    }
}

impl<G> fmt::Debug for WaitError<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl<G> fmt::Display for WaitError<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl<G> std::error::Error for WaitError<G> {}

impl<G> From<WaitError<G>> for Error {
    fn from(err: WaitError<G>) -> Self {
        err.error
    }
}

impl Condition {
    /// Makes a condition with a new lock of its own (Python's `Condition()`).
    pub fn new() -> Result<Self> {
        let region = Region::new("Condition", 0, |_, _| {})?;
        Ok(Condition { region })
    }

    fn state(&self) -> &ConditionState {
        self.region.header()
    }

    fn guard<'a>(&'a self, held: Held<'a>) -> ConditionGuard<'a> {
        ConditionGuard {
            condition: self,
            _held: held,
        }
    }

    /// Takes the condition's lock (Python's `acquire()`, or `with cond:`).
    /// [`LockError::OwnerDied`] when its previous holder died holding it (the
    /// lock is taken all the same); [`LockError::AlreadyHeld`] when this
    /// thread holds it already (see "Not re-entrant" above). As
    /// [`Lock::lock`](crate::Lock::lock).
    #[doc(alias("acquire", "release"))]
    pub fn lock(&self) -> LockResult<ConditionGuard<'_>> {
        let taken = self.state().lock.acquire(Call::ConditionLock);
        map_guard(taken, |held| self.guard(held))
    }

    /// Takes the lock if it is free right now; `None` if another holds it,
    /// or this thread does.
    pub fn try_lock(&self) -> Option<LockResult<ConditionGuard<'_>>> {
        let taken = self.state().lock.try_acquire(Call::ConditionTryLock)?;
        Some(map_guard(taken, |held| self.guard(held)))
    }

    /// Wakes one waiter (Python's `notify()`), if any is waiting: exactly
    /// one, as Python's and `std::sync::Condvar::notify_one` do.
    pub fn notify(&self) {
        self.notify_n(1);
    }

    /// Wakes up to `n` of the waiters (Python's `notify(n)`).
    #[doc(alias = "notify")]
    pub fn notify_n(&self, n: usize) {
        self.state().waiters.notify(n);
    }

    /// Wakes every waiter (Python's `notify_all()`).
    pub fn notify_all(&self) {
        self.notify_n(usize::MAX);
    }

    /// Lets go of the lock, sleeps until notified, and takes the lock again
    /// (Python's `wait()`). Check the state again after it (see the type's docs).
    pub fn wait<'a>(&'a self, guard: ConditionGuard<'a>) -> WaitResult<ConditionGuard<'a>> {
        self.wait_inner(guard, None, "Condition::wait")
            .map(|(guard, _)| guard)
            .map_err(|err| err.map(|(guard, _)| guard))
    }

    /// Like [`Condition::wait`], for at most `timeout`: the guard, and `false`
    /// if the time ran out without a notify (Python's `wait(timeout)` result).
    /// It does not give up before its timeout when nobody is left who could
    /// notify: the timeout ends it.
    #[doc(alias("wait"))]
    pub fn wait_timeout<'a>(
        &'a self,
        guard: ConditionGuard<'a>,
        timeout: Duration,
    ) -> WaitResult<(ConditionGuard<'a>, bool)> {
        self.wait_inner(guard, Some(timeout), "Condition::wait_timeout")
    }

    /// Waits as long as `condition()` is true, checking it with the lock held
    /// before each wait and after each wake-up (Python's
    /// `wait_for(predicate)` is `wait_while(guard, || !predicate())`).
    pub fn wait_while<'a>(
        &'a self,
        mut guard: ConditionGuard<'a>,
        mut condition: impl FnMut() -> bool,
    ) -> WaitResult<ConditionGuard<'a>> {
        while condition() {
            guard = self.wait(guard)?;
        }
        Ok(guard)
    }

    /// Waits until `predicate()` is true, checking it with the lock held
    /// before each wait and after each wake-up (Python's `wait_for(predicate)`).
    pub fn wait_for<'a>(
        &'a self,
        guard: ConditionGuard<'a>,
        mut predicate: impl FnMut() -> bool,
    ) -> WaitResult<ConditionGuard<'a>> {
        self.wait_while(guard, || !predicate())
    }

    /// Like [`Condition::wait_for`], for at most `timeout` in all (Python's
    /// `wait_for(predicate, timeout)`): the guard, and the predicate's last
    /// value (`false` if the time ran out first).
    #[doc(alias("wait_for"))]
    pub fn wait_for_timeout<'a>(
        &'a self,
        mut guard: ConditionGuard<'a>,
        timeout: Duration,
        mut predicate: impl FnMut() -> bool,
    ) -> WaitResult<(ConditionGuard<'a>, bool)> {
        let deadline = std::time::Instant::now().checked_add(timeout);
        loop {
            if predicate() {
                return Ok((guard, true));
            }
            let left = match deadline {
                Some(deadline) => deadline.saturating_duration_since(std::time::Instant::now()),
                None => Duration::MAX,
            };
            if left.is_zero() {
                return Ok((guard, false));
            }
            guard = self.wait_timeout(guard, left)?.0;
        }
    }

    fn wait_inner<'a>(
        &'a self,
        guard: ConditionGuard<'a>,
        timeout: Option<Duration>,
        what: &'static str,
    ) -> WaitResult<(ConditionGuard<'a>, bool)> {
        if !guard
            .condition
            .region
            .memory()
            .is_same(self.region.memory())
        {
            return Err(WaitError {
                guard: (guard, false),
                error: Error::new(ErrorKind::InvalidArgument(
                    "Condition::wait was given the guard of another Condition: \
                     wait with the guard of the same condition's lock",
                )),
            });
        }
        let waiters = &self.state().waiters;
        // Counted while holding the lock: a notify that comes after we let
        // go of it sees this waiter.
        let place = waiters.enter();
        drop(guard);
        let outcome = waiters.wait(place, timeout);
        let (guard, died) = match self.lock() {
            Ok(guard) => (guard, None),
            Err(LockError::OwnerDied(died)) => {
                let pid = died.pid();
                (died.into_guard(), Some(pid))
            }
            // This thread let go of the lock just above.
            Err(LockError::AlreadyHeld(err)) => impossible(err),
        };
        let notified = matches!(outcome, Waited::Ready(()));
        if let Some(pid) = died {
            return Err(WaitError {
                guard: (guard, notified),
                error: Error::new(ErrorKind::OwnerDied { pid }),
            });
        }
        match outcome {
            Waited::Abandoned => Err(WaitError {
                guard: (guard, false),
                error: Error::new(ErrorKind::WaitAbandoned { what }),
            }),
            _ => Ok((guard, notified)),
        }
    }
}

impl fmt::Debug for ConditionGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConditionGuard")
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition").finish_non_exhaustive()
    }
}
