//! `Value<T>`: one value in shared memory with its own lock (Python's
//! `multiprocessing.Value`), and the guard that reads and writes it.

use std::cell::UnsafeCell;
use std::fmt;
use std::ops::{Deref, DerefMut};

use serde::{Deserialize, Serialize};

use super::{Plain, assert_fits_page_alignment};
use crate::error::Result;
use crate::region::{InShared, Region};
use crate::sync::owner_died::{LockError, LockResult, map_guard};
use crate::sync::raw_lock::{Call, Held, RawLock};

/// What a `Value<T>`'s shared memory holds. `repr(C)` keeps the fields in this
/// order and puts `value` at the first offset after the lock that suits `T`.
#[repr(C)]
struct ValueCell<T> {
    lock: RawLock,
    /// Read and written only while `lock` is held.
    value: UnsafeCell<T>,
}

// SAFETY: `value` is touched only by the holder of `lock`, and `T: Plain` is
// `Send` and `Sync`; the lock is made for sharing.
unsafe impl<T: Plain> Sync for ValueCell<T> {}

// SAFETY: a process-shared lock, made by `init`, and a plain number, for
// which zero is valid, touched only under the lock.
unsafe impl<T: Plain> InShared for ValueCell<T> {
    unsafe fn init(at: *mut Self) -> Result<()> {
        // SAFETY: the caller's promise covers this field.
        unsafe { RawLock::init(&raw mut (*at).lock) }
    }

    fn held_by_this_process(&self) -> bool {
        self.lock.held_by_this_process()
    }
}

/// One value of `T` in shared memory, with its own lock (Python's
/// `multiprocessing.Value`).
///
/// Python names the type with a code, `Value('i', 0)`; here the type is the
/// Rust type of the initial value: `Value::new(0i32)`. Make it before starting
/// the processes that use it and pass each a clone: clones share the memory,
/// and so does a child, whether forked or spawned.
///
/// # Why it carries a lock
///
/// `v.value += 1` in Python is three steps: read, add, write. Two processes
/// doing it at the same moment can both read 5 and both write 6: one update is
/// lost. So [`get`](Value::get) and [`set`](Value::set) each take the value's
/// lock, and a value is never read half-written. But `v.set(v.get() + 1)` takes
/// the lock *twice*, and another process can slip in between: for a
/// read-modify-write, hold the lock across all three steps with the guard from
/// [`lock`](Value::lock) (Python's `get_lock()`): `*v.lock()? += 1`.
///
/// # When a lock holder dies
///
/// If a process dies holding the lock, the next `lock()` is told so
/// ([`OwnerDied`](crate::OwnerDied)), as with [`Lock`](crate::Lock). `get` and `set` go on
/// without telling: for [`Plain`] data that is sound, because every bit
/// pattern is a valid value, so a write cut off halfway leaves a wrong number,
/// never an invalid one (no undefined behaviour). Call `lock()` when you need
/// to know.
///
/// For a counter that needs no lock at all, see [`AtomicValue`](crate::AtomicValue).
///
/// ```
/// use mp::{Process, Value};
///
/// fn job(counter: Value<i32>) -> mp::Result<()> {
///     // Read, add and write under one lock: Python's `with v.get_lock(): v.value += 1`.
///     *counter.lock()? += 1;
///     Ok(())
/// }
///
/// fn main() -> mp::Result<()> {
///     mp::init();
///     let counter = Value::new(0)?;
///     let mut p = Process::new(job, counter.clone());
///     p.start()?;
///     p.join()?;
///     assert_eq!(counter.get()?, 1); // the child's write is seen here
///     Ok(())
/// }
/// ```
// A `Value` goes to a spawned child as its shared memory's file descriptor,
// and only in the child's start arguments (see `inherit.rs`).
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent, bound = "")]
pub struct Value<T: Plain> {
    region: Region<ValueCell<T>>,
}

impl<T: Plain> Value<T> {
    /// Puts `value` in new shared memory.
    pub fn new(value: T) -> Result<Self> {
        const { assert_fits_page_alignment::<ValueCell<T>>() };
        let region = Region::new("Value", 0, |cell: &mut ValueCell<T>, _| {
            *cell.value.get_mut() = value;
        })?;
        Ok(Value { region })
    }

    fn cell(&self) -> &ValueCell<T> {
        self.region.header()
    }

    fn guard<'a>(&'a self, held: Held<'a>) -> ValueGuard<'a, T> {
        ValueGuard {
            value: &self.cell().value,
            _held: held,
        }
    }

    /// Takes the value's lock for the call `by`.
    fn lock_by(&self, by: Call) -> LockResult<ValueGuard<'_, T>> {
        map_guard(self.cell().lock.acquire(by), |held| self.guard(held))
    }

    /// Reads the value (taking the lock): Python's `v.value`.
    ///
    /// If a process died holding the lock, this goes on anyway (see
    /// [When a lock holder dies](Value#when-a-lock-holder-dies)); use
    /// [`Value::lock`] to be told.
    ///
    /// The one error: this thread holds the value's guard already (from
    /// [`Value::lock`]), so the wait would never end. It is an
    /// [`ErrorKind::AlreadyHeld`](crate::ErrorKind::AlreadyHeld) naming both
    /// calls; read through the guard instead.
    pub fn get(&self) -> Result<T> {
        let guard = self.lock_by(Call::ValueGet).or_else(LockError::recover)?;
        Ok(*guard)
    }

    /// Writes the value (taking the lock): Python's `v.value = x`.
    ///
    /// Like [`Value::get`], it goes on if a process died holding the lock,
    /// and its one error is a lock this thread holds already.
    pub fn set(&self, value: T) -> Result<()> {
        *self.lock_by(Call::ValueSet).or_else(LockError::recover)? = value;
        Ok(())
    }

    /// Waits for the value's lock and takes it (Python's `get_lock()`, then
    /// `acquire()`): the guard reads and writes the value, and the lock is
    /// released when the guard is dropped.
    ///
    /// ```
    /// let v = mp::Value::new(10_i64)?;
    /// *v.lock()? += 5; // read, add and write, all under the lock
    /// assert_eq!(v.get()?, 15);
    /// # Ok::<(), mp::Error>(())
    /// ```
    ///
    /// Returns [`LockError::OwnerDied`] when the previous holder died holding
    /// the lock: the lock is taken all the same, and
    /// [`OwnerDied::into_guard`](crate::OwnerDied::into_guard) gives the guard. With `?` it becomes an
    /// [`Error`](crate::Error) naming the process.
    ///
    /// Calling [`get`](Value::get), [`set`](Value::set) or `lock` again on the
    /// same value while this thread holds the guard would wait for ever: they
    /// return [`LockError::AlreadyHeld`] instead, naming the call that holds
    /// the lock (use the guard). Python's `with v.get_lock(): v.value += 1`
    /// works because Python's value lock is an `RLock`; here the guard is the
    /// value.
    #[doc(alias = "get_lock")]
    pub fn lock(&self) -> LockResult<ValueGuard<'_, T>> {
        self.lock_by(Call::ValueLock)
    }

    /// Takes the lock if it is free right now; `None` if another thread or
    /// process holds it, or this thread does.
    pub fn try_lock(&self) -> Option<LockResult<ValueGuard<'_, T>>> {
        let taken = self.cell().lock.try_acquire(Call::ValueTryLock)?;
        Some(map_guard(taken, |held| self.guard(held)))
    }
}

impl<T: Plain + fmt::Debug> fmt::Debug for Value<T> {
    /// Shows the value, or `<locked>` when someone holds the lock (it never waits).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("Value");
        match self
            .try_lock()
            .map(|taken| taken.or_else(LockError::recover))
        {
            Some(Ok(guard)) => out.field("value", &*guard),
            _ => out.field("value", &format_args!("<locked>")),
        };
        out.finish()
    }
}

/// Holding this is holding a [`Value`]'s lock: it derefs to the value, to read
/// and write it. Dropping it releases the lock.
///
/// Like [`LockGuard`](crate::LockGuard), it is `!Send` (the thread that took
/// the lock must release it) and `Sync` (a `&ValueGuard` only reads the value,
/// and `T` is `Sync`), and if it is leaked with `mem::forget`, the value's
/// memory stays mapped even after every handle is dropped (see "Leaking a
/// guard" on [`LockGuard`](crate::LockGuard)):
///
/// ```compile_fail,E0277
/// let v = mp::Value::new(0_i32).unwrap();
/// let mut guard = v.lock().unwrap();
/// std::thread::scope(|s| {
///     s.spawn(move || *guard += 1); // error: `ValueGuard` cannot be sent between threads
/// });
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct ValueGuard<'a, T: Plain> {
    value: &'a UnsafeCell<T>,
    /// The value's lock, released when the guard is dropped.
    _held: Held<'a>,
}

// SAFETY: a shared `&ValueGuard` gives only `&T` (through `Deref`), and `T` is
// `Sync` (every `Plain` type is); writing needs `&mut ValueGuard`, which cannot
// be shared. Releasing the lock needs the guard itself, which is `!Send`.
unsafe impl<T: Plain> Sync for ValueGuard<'_, T> {}

impl<T: Plain> Deref for ValueGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock, so no other thread or process
        // touches the value until it is dropped.
        unsafe { &*self.value.get() }
    }
}

impl<T: Plain> DerefMut for ValueGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only reference.
        unsafe { &mut *self.value.get() }
    }
}

impl<T: Plain + fmt::Debug> fmt::Debug for ValueGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ValueGuard").field(&**self).finish()
    }
}
