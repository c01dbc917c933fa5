//! The one lock under every lock of the crate: a POSIX mutex in shared
//! memory, taken and released here and nowhere else.
//!
//! `std::sync::Mutex` cannot do this job: it is built on *private* futexes,
//! which the kernel keys by address inside one process, so two processes
//! never see each other's waiters. A POSIX mutex marked
//! `PTHREAD_PROCESS_SHARED` and placed in shared memory works across
//! processes. Marked `PTHREAD_MUTEX_ROBUST` too (Linux), it also tells the next
//! process to lock it that the holder died (`EOWNERDEAD`) instead of leaving
//! everyone waiting forever, which is what Python's `multiprocessing.Lock`
//! does in that case. Its type is set to `PTHREAD_MUTEX_ERRORCHECK` on every
//! Unix, so that a thread asking for a lock it holds hears `EDEADLK` instead
//! of waiting for ever, and a thread releasing a lock it does not hold hears
//! `EPERM`.
//!
//! [`RawLock::acquire`] takes it and gives a [`Held`], whose drop releases it:
//! every public guard (`LockGuard`, `ValueGuard`, `ArrayGuard`,
//! `ConditionGuard`, `SemaphoreGuard`) holds a `Held`, and `RLockGuard`'s last
//! one releases through [`RawLock::release`], the same path. A dead holder is
//! reported here, as a [`LockError::OwnerDied`]; an error no caller can cause
//! ends in one cold panic, [`impossible`].

use std::cell::UnsafeCell;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};

use crate::error::{Error, ErrorKind, Result};
use crate::region::InShared;
use crate::sync::owner_died::{LockError, LockResult, OwnerDied};

/// How many times [`RawLock::spin`] looks at a busy lock before its caller
/// sleeps, and the longest pause between two looks, in `spin_loop` hints
/// (about 27 ns each on the project's machine): at most 12 looks over about
/// 450 hints, some 12 µs, about what going to sleep and being woken costs.
const SPINS: u32 = 12;
const LONGEST_PAUSE: u32 = 64;

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
    ValueTryLock,
    ValueGet,
    ValueSet,
    ArrayLock,
    ArrayTryLock,
    ArrayGet,
    ArraySet,
    ArrayToVec,
    ConditionLock,
    ConditionTryLock,
}

impl Call {
    const ALL: [Call; 14] = [
        Call::Crate,
        Call::LockLock,
        Call::LockTryLock,
        Call::ValueLock,
        Call::ValueTryLock,
        Call::ValueGet,
        Call::ValueSet,
        Call::ArrayLock,
        Call::ArrayTryLock,
        Call::ArrayGet,
        Call::ArraySet,
        Call::ArrayToVec,
        Call::ConditionLock,
        Call::ConditionTryLock,
    ];

    /// The call as a learner writes it.
    fn name(self) -> &'static str {
        match self {
            Call::Crate => "another call of the mp crate",
            Call::LockLock => "Lock::lock",
            Call::LockTryLock => "Lock::try_lock",
            Call::ValueLock => "Value::lock",
            Call::ValueTryLock => "Value::try_lock",
            Call::ValueGet => "Value::get",
            Call::ValueSet => "Value::set",
            Call::ArrayLock => "Array::lock",
            Call::ArrayTryLock => "Array::try_lock",
            Call::ArrayGet => "Array::get",
            Call::ArraySet => "Array::set",
            Call::ArrayToVec => "Array::to_vec",
            Call::ConditionLock => "Condition::lock",
            Call::ConditionTryLock => "Condition::try_lock",
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

// SAFETY: a process-shared mutex made by `init` (the one thing zero bytes are
// not), and atomics, for which zero is valid: nobody holds it.
unsafe impl InShared for RawLock {
    unsafe fn init(at: *mut Self) -> Result<()> {
        // SAFETY: the caller's promise is `RawLock::init`'s.
        unsafe { RawLock::init(at) }
    }

    fn held_by_this_process(&self) -> bool {
        RawLock::held_by_this_process(self)
    }
}

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
    fn lock_by(&self, by: Call) -> Result<Acquired> {
        let ret = match self.spin() {
            Some(ret) => ret,
            // SAFETY: the mutex was initialized by `init` and lives as long as `self`.
            None => unsafe { libc::pthread_mutex_lock(self.mutex.get()) },
        };
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

    /// Tries for the lock a few times before the caller goes to sleep for
    /// it: `None` if it stayed busy, else what `pthread_mutex_trylock` said.
    ///
    /// A robust mutex never spins: a taker that finds it held goes straight
    /// to sleep in the kernel, and the holder must make a system call to wake
    /// it. Most locks of the crate are held for a few instructions (an
    /// increment), far less than those two system calls, so a taker that
    /// waits a moment usually finds the lock free; `std::sync::Mutex` and
    /// glibc's adaptive mutex spin too. While it waits, the taker only reads
    /// `owner` (set while a holder holds the lock), and it waits twice as
    /// long after each busy look: every look pulls the lock's cache line away
    /// from a holder that is about to write to it. Measured on two processes
    /// incrementing one `Value` (`cargo bench -p mp --bench overhead --
    /// value_locked`): about 190 ms without spinning, 185 ms with 100 looks
    /// one hint apart, 110 ms with these.
    fn spin(&self) -> Option<libc::c_int> {
        let mut pause = 1;
        for _ in 0..SPINS {
            if self.owner.load(Ordering::Relaxed) == 0 {
                // SAFETY: as in `lock_by`.
                let ret = unsafe { libc::pthread_mutex_trylock(self.mutex.get()) };
                if ret != libc::EBUSY {
                    return Some(ret);
                }
            }
            for _ in 0..pause {
                std::hint::spin_loop();
            }
            pause = (pause * 2).min(LONGEST_PAUSE);
        }
        None
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
                self.release();
                true
            }
            _ => true,
        }
    }

    /// Whether a thread of this process holds the lock: its pid is beside the
    /// mutex (`owner`). Not in the two short moments `owner` describes; only
    /// a thread inside `lock_by` or `unlock` is in one, and it borrows a
    /// handle of the lock, which keeps the memory mapped meanwhile.
    pub(crate) fn held_by_this_process(&self) -> bool {
        self.owner.load(Ordering::Relaxed) == crate::sys::pid() as i32
    }

    /// Records which call holds the lock now (the lock is held by the caller).
    fn note_holder(&self, by: Call) {
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
                // `died` is written only by a holder of the mutex, which we
                // are now: a load, and a store only when there is news, do
                // what a swap would without a locked instruction on every
                // lock taken.
                match self.died.load(Ordering::Relaxed) {
                    0 => Ok(Acquired::Clean),
                    pid => {
                        self.died.store(0, Ordering::Relaxed);
                        Ok(Acquired::OwnerDied(u32::try_from(pid).ok()))
                    }
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

impl RawLock {
    /// Waits for the lock, takes it for the call `by`, and gives its guard:
    /// how every public `lock` of the crate takes its lock. The holder's
    /// death comes back as [`LockError::OwnerDied`] (the lock is ours), the
    /// lock asked for again by its own thread as [`LockError::AlreadyHeld`]
    /// (nothing taken).
    pub(crate) fn acquire(&self, by: Call) -> LockResult<Held<'_>> {
        match self.lock_by(by) {
            Ok(acquired) => self.held(acquired),
            Err(err) if matches!(err.kind(), ErrorKind::AlreadyHeld { .. }) => {
                Err(LockError::AlreadyHeld(err))
            }
            Err(err) => impossible(err),
        }
    }

    /// Takes the lock for `by` if it is free right now; `None` if another
    /// holds it, or this thread does (Python's `acquire(blocking=False)`
    /// answers `False` there too).
    pub(crate) fn try_acquire(&self, by: Call) -> Option<LockResult<Held<'_>>> {
        match self.try_lock() {
            Ok(None) => None,
            Ok(Some(acquired)) => {
                self.note_holder(by);
                Some(self.held(acquired))
            }
            Err(err) => impossible(err),
        }
    }

    fn held(&self, acquired: Acquired) -> LockResult<Held<'_>> {
        let held = Held::new(self);
        match acquired {
            Acquired::Clean => Ok(held),
            Acquired::OwnerDied(pid) => Err(LockError::OwnerDied(OwnerDied::new(held, pid))),
        }
    }

    /// Releases the lock this thread holds: what dropping a [`Held`] does.
    pub(crate) fn release(&self) {
        if let Err(err) = self.unlock() {
            unlock_failed(err);
        }
    }
}

/// Ends a call that met an error no caller can cause: `EINVAL` (the mutex
/// was not made by `init`) or `ENOTRECOVERABLE` (a dead holder's lock
/// released unrepaired), which only a bug in this crate could produce.
#[cold]
#[track_caller]
pub(crate) fn impossible(err: Error) -> ! {
    panic!("{err} (a bug in the mp crate: please report it)")
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

/// Holding a [`RawLock`]; dropping this releases it. `!Send`: a robust
/// mutex must be unlocked by the thread that locked it.
///
/// The crate's own calls hold one for the length of a call that borrows the
/// lock's memory. A public guard holds one and borrows a handle of the lock,
/// which keeps the memory mapped while the guard lives. A guard leaked with
/// `mem::forget` leaves the lock held; a handle dropped then sees that and
/// keeps the memory mapped for good (`Region`'s `Drop`, in `region.rs`).
pub(crate) struct Held<'a> {
    lock: &'a RawLock,
    _not_send: NotSend,
}

impl<'a> Held<'a> {
    /// Wraps a lock the calling thread has just taken.
    pub(crate) fn new(lock: &'a RawLock) -> Self {
        Held {
            lock,
            _not_send: std::marker::PhantomData,
        }
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.lock.release();
    }
}
