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
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicI32, Ordering};

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::shm::SharedMemory;

/// The lock itself, as it sits in shared memory.
#[repr(C)]
pub(crate) struct RawLock {
    mutex: UnsafeCell<libc::pthread_mutex_t>,
    /// The pid of the process holding the lock, or 0: read when the holder
    /// dies, to say which process it was.
    owner: AtomicI32,
}

// SAFETY: the mutex is made for use from many threads and processes at once;
// `owner` is atomic.
unsafe impl Sync for RawLock {}

/// How a lock was acquired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Acquired {
    /// The usual case.
    Clean,
    /// The previous holder, this pid, died holding the lock. The lock is ours
    /// now and has been made usable again; the data it guards may be half-updated.
    OwnerDied(u32),
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
            #[cfg(target_os = "linux")]
            check(libc::pthread_mutexattr_setrobust(
                attr.as_mut_ptr(),
                libc::PTHREAD_MUTEX_ROBUST,
            ))?;
            // The caller promised `at` is ours alone and writable.
            std::ptr::addr_of_mut!((*at).owner).write(AtomicI32::new(0));
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
        // SAFETY: the mutex was initialized by `init` and lives as long as `self`.
        let ret = unsafe { libc::pthread_mutex_lock(self.mutex.get()) };
        self.acquired(ret)
    }

    /// Takes the lock if it is free; `Ok(None)` if another holds it.
    pub(crate) fn try_lock(&self) -> Result<Option<Acquired>> {
        // SAFETY: as in `lock`.
        let ret = unsafe { libc::pthread_mutex_trylock(self.mutex.get()) };
        if ret == libc::EBUSY {
            return Ok(None);
        }
        self.acquired(ret).map(Some)
    }

    fn acquired(&self, ret: libc::c_int) -> Result<Acquired> {
        let previous = self.owner.swap(crate::sys::pid() as i32, Ordering::Relaxed);
        match ret {
            0 => Ok(Acquired::Clean),
            #[cfg(target_os = "linux")]
            libc::EOWNERDEAD => {
                // SAFETY: we hold the mutex (EOWNERDEAD means we got it); marking
                // it consistent lets it be used again after we unlock.
                unsafe { libc::pthread_mutex_consistent(self.mutex.get()) };
                Ok(Acquired::OwnerDied(previous as u32))
            }
            e => Err(Error::os(
                "take a process-shared lock",
                std::io::Error::from_raw_os_error(e),
            )),
        }
    }

    /// Releases the lock. Only the holder may call this.
    pub(crate) fn unlock(&self) {
        self.owner.store(0, Ordering::Relaxed);
        // SAFETY: the caller holds the mutex (guards call this once, on drop).
        unsafe { libc::pthread_mutex_unlock(self.mutex.get()) };
    }
}

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
#[derive(Clone, Serialize, Deserialize)]
pub struct Lock {
    memory: SharedMemory,
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

    /// Waits until the lock is free and takes it (Python's `acquire()`).
    ///
    /// Returns `Err(OwnerDied)` when the previous holder died holding it: the
    /// lock is taken all the same, and [`OwnerDied::into_guard`] gives the guard.
    /// With `?`, it becomes an [`Error`] saying which process died.
    pub fn lock(&self) -> LockResult<LockGuard<'_>> {
        let guard = || LockGuard { lock: self.raw() };
        match self.raw().lock() {
            Ok(Acquired::Clean) => Ok(guard()),
            Ok(Acquired::OwnerDied(pid)) => Err(OwnerDied::new(guard(), pid)),
            // EINVAL or EDEADLK: only a bug in this crate can cause these.
            Err(err) => panic!("{err}"),
        }
    }

    /// Takes the lock if it is free right now; `None` if another holds it.
    pub fn try_lock(&self) -> Option<LockResult<LockGuard<'_>>> {
        let guard = || LockGuard { lock: self.raw() };
        match self.raw().try_lock() {
            Ok(None) => None,
            Ok(Some(Acquired::Clean)) => Some(Ok(guard())),
            Ok(Some(Acquired::OwnerDied(pid))) => Some(Err(OwnerDied::new(guard(), pid))),
            Err(err) => panic!("{err}"),
        }
    }
}

impl fmt::Debug for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock").finish_non_exhaustive()
    }
}

/// Holding this is holding the [`Lock`]; dropping it releases the lock.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct LockGuard<'a> {
    lock: &'a RawLock,
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        self.lock.unlock();
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
    pid: u32,
}

impl<G> OwnerDied<G> {
    pub(crate) fn new(guard: G, pid: u32) -> Self {
        OwnerDied { guard, pid }
    }

    /// The process that died holding the lock.
    pub fn pid(&self) -> u32 {
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
