//! A lock shared between processes, that survives the death of its holder.
//!
//! `std::sync::Mutex` cannot do this job: it is built on *private* futexes,
//! which the kernel keys by address inside one process, so two processes
//! never see each other's waiters. A POSIX mutex marked
//! `PTHREAD_PROCESS_SHARED` and placed in shared memory works across
//! processes. Marked `PTHREAD_MUTEX_ROBUST` too (Linux), it also tells the next
//! process to lock it that the holder died (`EOWNERDEAD`) instead of leaving
//! everyone waiting forever, which is what Python's `multiprocessing.Lock`
//! does in that case.

use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::shm::SharedMemory;

/// The lock itself, as it sits in shared memory.
#[repr(C)]
pub(crate) struct RawLock {
    mutex: UnsafeCell<libc::pthread_mutex_t>,
    /// The pid of the process holding the lock, or 0 when nobody holds it or
    /// when its holder is in one of two short moments: it has taken the mutex
    /// but not yet written its pid here, or it has cleared this field and not
    /// yet let go of the mutex. Nothing can make either step atomic with the
    /// mutex itself, so a holder that dies in those moments is reported as
    /// unknown, never as some other process.
    owner: AtomicI32,
    /// Which call of the crate took the lock, as its [`Call`] number: what
    /// the holder's thread is told if it asks for the lock again.
    held_by: AtomicU32,
    /// A holder's death that `is_held` found and repaired, kept for the next
    /// taker: its pid, -1 if unknown, 0 if none.
    died: AtomicI32,
}

/// The calls that take a lock and say so (see [`RawLock::lock_by`]): a
/// thread that asks for a lock it holds already is told which call asks and
/// which call holds it. The holder's is kept beside the lock as its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum Call {
    /// The crate's other uses of a lock.
    Crate,
    LockLock,
    LockTryLock,
    ValueLock,
    ValueGet,
    ValueSet,
    ArrayLock,
    ArrayGet,
    ArraySet,
    ConditionLock,
}

impl Call {
    const ALL: [Call; 10] = [
        Call::Crate,
        Call::LockLock,
        Call::LockTryLock,
        Call::ValueLock,
        Call::ValueGet,
        Call::ValueSet,
        Call::ArrayLock,
        Call::ArrayGet,
        Call::ArraySet,
        Call::ConditionLock,
    ];

    /// The call as a learner writes it.
    fn name(self) -> &'static str {
        match self {
            Call::Crate => "another call of the mp crate",
            Call::LockLock => "Lock::lock",
            Call::LockTryLock => "Lock::try_lock",
            Call::ValueLock => "Value::lock",
            Call::ValueGet => "Value::get",
            Call::ValueSet => "Value::set",
            Call::ArrayLock => "Array::lock",
            Call::ArrayGet => "Array::get",
            Call::ArraySet => "Array::set",
            Call::ConditionLock => "Condition::lock",
        }
    }

    /// The call kept as `number` (any other number: the crate's).
    fn numbered(number: u32) -> Call {
        Call::ALL
            .get(number as usize)
            .copied()
            .unwrap_or(Call::Crate)
    }
}

// SAFETY: the mutex is made for use from many threads and processes at once;
// `owner` is atomic.
unsafe impl Sync for RawLock {}

/// How a lock was acquired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Acquired {
    /// The usual case.
    Clean,
    /// The previous holder died holding the lock: this pid, or `None` when it
    /// died just as it took or released the lock (see `RawLock::owner`). The
    /// lock is ours now and has been made usable again; the data it guards may
    /// be half-updated.
    OwnerDied(Option<u32>),
}

impl RawLock {
    /// Makes a process-shared (and, on Linux, robust) mutex at `at`.
    ///
    /// # Safety
    /// `at` must be valid for writes of a `RawLock`, suitably aligned, and not
    /// in use by any thread or process yet.
    pub(crate) unsafe fn init(at: *mut RawLock) -> Result<()> {
        let mut attr = std::mem::MaybeUninit::<libc::pthread_mutexattr_t>::uninit();
        let check = |ret: libc::c_int| match ret {
            0 => Ok(()),
            e => Err(Error::os(
                "make a process-shared lock",
                std::io::Error::from_raw_os_error(e),
            )),
        };
        // SAFETY: `attr` is initialized by pthread_mutexattr_init before any other use.
        check(unsafe { libc::pthread_mutexattr_init(attr.as_mut_ptr()) })?;
        // SAFETY: `attr` was initialized just above.
        let result = (|| unsafe {
            check(libc::pthread_mutexattr_setpshared(
                attr.as_mut_ptr(),
                libc::PTHREAD_PROCESS_SHARED,
            ))?;
            // Error-checking: a thread that asks again for a lock it holds
            // gets EDEADLK instead of waiting for ever.
            check(libc::pthread_mutexattr_settype(
                attr.as_mut_ptr(),
                libc::PTHREAD_MUTEX_ERRORCHECK,
            ))?;
            #[cfg(target_os = "linux")]
            check(libc::pthread_mutexattr_setrobust(
                attr.as_mut_ptr(),
                libc::PTHREAD_MUTEX_ROBUST,
            ))?;
            // The caller promised `at` is ours alone and writable.
            std::ptr::addr_of_mut!((*at).owner).write(AtomicI32::new(0));
            std::ptr::addr_of_mut!((*at).held_by).write(AtomicU32::new(0));
            std::ptr::addr_of_mut!((*at).died).write(AtomicI32::new(0));
            check(libc::pthread_mutex_init(
                UnsafeCell::raw_get(std::ptr::addr_of!((*at).mutex)),
                attr.as_ptr(),
            ))
        })();
        // SAFETY: `attr` is initialized and no longer needed.
        unsafe { libc::pthread_mutexattr_destroy(attr.as_mut_ptr()) };
        result
    }

    /// Waits for the lock and takes it.
    pub(crate) fn lock(&self) -> Result<Acquired> {
        self.lock_by(Call::Crate)
    }

    /// Waits for the lock and takes it for the call `by`. If this very
    /// thread holds it already, that is an
    /// [`ErrorKind::AlreadyHeld`] naming `by` and the call that holds it,
    /// instead of a wait that could never end.
    pub(crate) fn lock_by(&self, by: Call) -> Result<Acquired> {
        // SAFETY: the mutex was initialized by `init` and lives as long as `self`.
        let ret = unsafe { libc::pthread_mutex_lock(self.mutex.get()) };
        if ret == libc::EDEADLK {
            let held = Call::numbered(self.held_by.load(Ordering::Relaxed));
            return Err(Error::new(ErrorKind::AlreadyHeld {
                what: by.name(),
                held_by: held.name(),
            }));
        }
        let acquired = self.acquired(ret)?;
        self.note_holder(by);
        Ok(acquired)
    }

    /// Whether a thread holds the lock, or its holder died holding it: looks
    /// without taking it (the pid beside the mutex, then a try).
    pub(crate) fn is_held(&self) -> bool {
        if self.owner.load(Ordering::Relaxed) != 0 {
            return true;
        }
        // SAFETY: as in `lock`. A clean try is undone at once; EOWNERDEAD
        // is not taken here (see below).
        let ret = unsafe { libc::pthread_mutex_trylock(self.mutex.get()) };
        match ret {
            0 => {
                // SAFETY: this thread has just taken it.
                unsafe { libc::pthread_mutex_unlock(self.mutex.get()) };
                false
            }
            #[cfg(target_os = "linux")]
            libc::EOWNERDEAD => {
                // Taken from a holder that died: repaired (a robust mutex
                // released unrepaired is unusable for ever), and the news kept
                // for the next taker in `died`, then released.
                if let Ok(Acquired::OwnerDied(pid)) = self.acquired(ret) {
                    let pid = pid.and_then(|pid| i32::try_from(pid).ok()).unwrap_or(-1);
                    self.died.store(pid, Ordering::Relaxed);
                }
                if let Err(err) = self.unlock() {
                    unlock_failed(err);
                }
                true
            }
            _ => true,
        }
    }

    /// Records which call holds the lock now (the lock is held by the caller).
    pub(crate) fn note_holder(&self, by: Call) {
        self.held_by.store(by as u32, Ordering::Relaxed);
    }

    /// Takes the lock if it is free; `Ok(None)` if another holds it.
    pub(crate) fn try_lock(&self) -> Result<Option<Acquired>> {
        // SAFETY: as in `lock`.
        let ret = unsafe { libc::pthread_mutex_trylock(self.mutex.get()) };
        // EDEADLK: an error-checking robust mutex's answer when the caller's
        // own thread holds it. Busy all the same.
        if ret == libc::EBUSY || ret == libc::EDEADLK {
            return Ok(None);
        }
        self.acquired(ret).map(Some)
    }

    fn acquired(&self, ret: libc::c_int) -> Result<Acquired> {
        let me = crate::sys::pid() as i32;
        match ret {
            0 => {
                self.owner.store(me, Ordering::Relaxed);
                // A death `is_held` found and repaired is news for this taker.
                match self.died.swap(0, Ordering::Relaxed) {
                    0 => Ok(Acquired::Clean),
                    pid => Ok(Acquired::OwnerDied(u32::try_from(pid).ok())),
                }
            }
            #[cfg(target_os = "linux")]
            libc::EOWNERDEAD => {
                // The dead holder never cleared the field: it holds its pid,
                // or 0 if it died before writing it or after clearing it.
                let previous = self.owner.swap(me, Ordering::Relaxed);
                // SAFETY: we hold the mutex (EOWNERDEAD means we got it); marking
                // it consistent lets it be used again after we unlock.
                let ret = unsafe { libc::pthread_mutex_consistent(self.mutex.get()) };
                if ret != 0 {
                    return Err(Error::os(
                        "repair a lock whose holder died",
                        std::io::Error::from_raw_os_error(ret),
                    ));
                }
                Ok(Acquired::OwnerDied(
                    u32::try_from(previous).ok().filter(|&pid| pid != 0),
                ))
            }
            // The lock was not taken: the field belongs to whoever holds it.
            e => Err(Error::os(
                "take a process-shared lock",
                std::io::Error::from_raw_os_error(e),
            )),
        }
    }

    /// Releases the lock. Only the thread that took it may call this: for any
    /// other, the robust mutex refuses (`EPERM`) and the lock stays held, so
    /// the error must not be ignored.
    pub(crate) fn unlock(&self) -> Result<()> {
        // Only the holder writes this field, so a load and a store do what a
        // swap would, without a locked instruction on the lock's cache line.
        let previous = self.owner.load(Ordering::Relaxed);
        self.owner.store(0, Ordering::Relaxed);
        self.held_by.store(Call::Crate as u32, Ordering::Relaxed);
        // SAFETY: the mutex was initialized by `init` and lives as long as
        // `self`; `init` makes it error-checking on every Unix (and robust on
        // Linux), so unlocking it from a thread that does not hold it is an
        // error the call reports (EPERM), not undefined behaviour.
        let ret = unsafe { libc::pthread_mutex_unlock(self.mutex.get()) };
        if ret == 0 {
            return Ok(());
        }
        // Still held by whoever held it: put their pid back.
        let _ = self
            .owner
            .compare_exchange(0, previous, Ordering::Relaxed, Ordering::Relaxed);
        Err(Error::os(
            "release a process-shared lock",
            std::io::Error::from_raw_os_error(ret),
        ))
    }
}

/// What a guard does when releasing its lock fails. Guards are `!Send` and a
/// forked child never returns into code that holds its parent's guards, so
/// this means a bug in this crate: say so loudly, but never panic while
/// already unwinding (that would abort the process).
pub(crate) fn unlock_failed(err: Error) {
    if std::thread::panicking() {
        eprintln!("mp: {err}");
    } else {
        panic!("{err}");
    }
}

/// Makes a guard `!Send` but leaves it `Sync`, like std's `MutexGuard`: a
/// pthread mutex must be released by the thread that took it, so a guard
/// must not move to another thread; sharing `&guard` with one is harmless.
/// (`MutexGuard<()>` is exactly `!Send + Sync`, so it lends its traits here.)
pub(crate) type NotSend = PhantomData<std::sync::MutexGuard<'static, ()>>;

/// A lock shared between processes: Python's `multiprocessing.Lock`.
///
/// Make it before starting the processes and pass a clone to each. Holding
/// the guard returned by [`Lock::lock`] is holding the lock; dropping the guard
/// releases it, so it cannot be forgotten on an early return or a panic.
///
/// If the process holding the lock dies (killed, crashed), the next `lock`
/// returns [`OwnerDied`], which carries the guard: the caller is told, and can
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
#[derive(Clone, Serialize)]
pub struct Lock {
    memory: SharedMemory,
}

/// A spawned child checks that the memory it received can hold a lock, as
/// `Value` does: a mismatch is an error, not a read past the mapping's end.
impl<'de> Deserialize<'de> for Lock {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let memory = SharedMemory::deserialize(d)?;
        if memory.len() < size_of::<RawLock>() {
            return Err(serde::de::Error::custom(
                "a Lock's shared memory is smaller than a lock",
            ));
        }
        Ok(Lock { memory })
    }
}

impl Lock {
    /// Makes a new, unlocked lock in shared memory.
    pub fn new() -> Result<Self> {
        let memory = SharedMemory::new("Lock", size_of::<RawLock>())?;
        // SAFETY: the memory is fresh, page-aligned, large enough, and ours alone.
        unsafe { RawLock::init(memory.as_ptr().cast())? };
        Ok(Lock { memory })
    }

    fn raw(&self) -> &RawLock {
        // SAFETY: `new` put an initialized RawLock at the start of this memory,
        // which lives as long as `self`.
        unsafe { &*self.memory.as_ptr().cast::<RawLock>() }
    }

    /// The guard for a lock this thread has just taken.
    fn guard(&self) -> LockGuard<'_> {
        LockGuard {
            lock: self.raw(),
            _mapping: self.memory.clone(),
            _not_send: PhantomData,
        }
    }

    /// Waits until the lock is free and takes it (Python's `acquire()`).
    ///
    /// Returns `Err(OwnerDied)` when the previous holder died holding it: the
    /// lock is taken all the same, and [`OwnerDied::into_guard`] gives the guard.
    /// With `?`, it becomes an [`Error`] saying which process died.
    ///
    /// # Panics
    ///
    /// If this thread already holds the lock, with a message that names the
    /// call holding it: waiting would never end (Python's `Lock` hangs there,
    /// std's `Mutex` may deadlock or panic). The result's error side carries
    /// the guard of a lock whose holder died, so it has no room for this
    /// error, which is a bug in the calling program, not news from another
    /// process.
    #[doc(alias("acquire", "release"))]
    pub fn lock(&self) -> LockResult<LockGuard<'_>> {
        match self.raw().lock_by(Call::LockLock) {
            Ok(Acquired::Clean) => Ok(self.guard()),
            Ok(Acquired::OwnerDied(pid)) => Err(OwnerDied::new(self.guard(), pid)),
            Err(err) => already_held(err),
        }
    }

    /// Whether some thread or process holds the lock right now (Python's
    /// `locked()`). The answer may be out of date as soon as it is returned.
    /// A lock whose holder died counts as held: the next `lock` is told.
    pub fn locked(&self) -> bool {
        self.raw().is_held()
    }

    /// Takes the lock if it is free right now; `None` if another holds it.
    #[doc(alias("acquire"))]
    pub fn try_lock(&self) -> Option<LockResult<LockGuard<'_>>> {
        match self.raw().try_lock() {
            Ok(None) => None,
            Ok(Some(acquired)) => {
                self.raw().note_holder(Call::LockTryLock);
                match acquired {
                    Acquired::Clean => Some(Ok(self.guard())),
                    Acquired::OwnerDied(pid) => Some(Err(OwnerDied::new(self.guard(), pid))),
                }
            }
            Err(err) => panic!("{err}"),
        }
    }
}

/// Ends a call that found its lock already held by its own thread (see
/// [`Lock::lock`]): a panic with the error's words. Also EINVAL, which only
/// a bug in this crate could cause.
#[cold]
pub(crate) fn already_held(err: Error) -> ! {
    panic!("{err}")
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
/// A guard keeps the lock's shared memory mapped for as long as it exists, even
/// if every [`Lock`] handle is dropped first. While a robust mutex is held, the
/// C library keeps it on a list of this thread's held locks, which it writes
/// to at every later lock and unlock; a guard leaked with `mem::forget` leaves
/// it held, so its memory must never be unmapped, or those writes would land
/// in whatever is mapped there next. A leaked guard leaks its mapping instead.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct LockGuard<'a> {
    lock: &'a RawLock,
    /// Keeps the memory under `lock` mapped, even when the guard is leaked.
    _mapping: SharedMemory,
    _not_send: NotSend,
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        if let Err(err) = self.lock.unlock() {
            unlock_failed(err);
        }
    }
}

impl fmt::Debug for LockGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LockGuard")
    }
}

/// The result of taking a process-shared lock: `Err` when its previous holder
/// died holding it (the lock is taken all the same). Like `std::sync::LockResult`
/// with poisoning, but the news is that a whole process died.
pub type LockResult<G> = std::result::Result<G, OwnerDied<G>>;

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
        assert_eq!(lock.raw().lock().unwrap(), Acquired::Clean);
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
