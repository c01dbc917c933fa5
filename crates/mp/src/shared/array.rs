//! `Array<T>`: a fixed-length array in shared memory with one lock for the
//! whole array (Python's `multiprocessing.Array`), and its guard.

use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

use serde::{Deserialize, Serialize};

use super::{Element, Plain, assert_fits_page_alignment};
use crate::error::{Error, ErrorKind, Result};
use crate::region::Region;
use crate::sync::owner_died::{LockError, LockResult, map_guard};
use crate::sync::raw_lock::{Call, Held, RawLock};

/// A fixed-length array of `T` in shared memory, with its own lock
/// (Python's `multiprocessing.Array`).
///
/// Python's `Array('i', [1, 2, 3])` is `Array::new(&[1_i32, 2, 3])` here. Its
/// length is fixed when it is made. Like Python's, it is one-dimensional: keep
/// a grid of `rows × cols` in one array of `rows * cols` elements, row after
/// row, and find cell `(r, c)` at index `r * cols + c`.
///
/// Like a [`Value`](crate::Value), it carries one lock for all its elements: `get`, `set`,
/// `to_vec` and `iter` each take it once, and [`lock`](Array::lock) holds it
/// across several steps. See [`Value`](crate::Value) for why, and for what happens when a
/// process dies holding it.
///
/// ```
/// use mp::{Array, Process};
///
/// fn job(array: Array<i32>) -> mp::Result<()> {
///     array.set(0, 100) // Python: array[0] = 100
/// }
///
/// fn main() -> mp::Result<()> {
///     mp::init();
///     let array = Array::new(&[1, 2, 3])?;
///     let mut p = Process::new(job, array.clone());
///     p.start()?;
///     p.join()?;
///     assert_eq!(array.to_vec()?, [100, 2, 3]); // the child's write is seen here
///     Ok(())
/// }
/// ```
// An `Array` goes to a spawned child as its memory's file descriptor and its
// length, only in the child's start arguments.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent, bound = "")]
pub struct Array<T: Plain> {
    /// The lock, then the elements.
    region: Region<RawLock, Element<T>>,
}

impl<T: Plain> Array<T> {
    /// `len` elements, all zero (Python's `Array('i', 10)`): shared memory
    /// starts zeroed, and zero is a valid value of every [`Plain`] type.
    #[doc(alias("RawArray"))]
    pub fn zeroed(len: usize) -> Result<Self> {
        const { assert_fits_page_alignment::<T>() };
        let region = Region::new("Array", len, |_, _| {})?;
        Ok(Array { region })
    }

    /// Copies `values` into new shared memory.
    pub fn new(values: &[T]) -> Result<Self> {
        const { assert_fits_page_alignment::<T>() };
        let region = Region::new("Array", values.len(), |_, elements: &mut [Element<T>]| {
            for (element, &value) in elements.iter_mut().zip(values) {
                *element.0.get_mut() = value;
            }
        })?;
        Ok(Array { region })
    }

    fn raw_lock(&self) -> &RawLock {
        self.region.header()
    }

    fn guard<'a>(&'a self, held: Held<'a>) -> ArrayGuard<'a, T> {
        ArrayGuard {
            // `Element<T>` is a transparent `UnsafeCell<T>`.
            elements: UnsafeCell::raw_get(self.region.slots().as_ptr().cast()),
            len: self.len(),
            _held: held,
            _borrow: PhantomData,
        }
    }

    /// Takes the array's lock for the call `by`.
    fn lock_by(&self, by: Call) -> LockResult<ArrayGuard<'_, T>> {
        map_guard(self.raw_lock().acquire(by), |held| self.guard(held))
    }

    /// The error for an index past the end.
    fn out_of_range(&self, index: usize) -> Error {
        Error::new(ErrorKind::IndexOutOfRange {
            index,
            len: self.len(),
        })
    }

    /// The number of elements (Python's `len(a)`).
    pub fn len(&self) -> usize {
        self.region.slots().len()
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Element `index` (taking the lock): Python's `a[i]`. An index past the
    /// end is an [`ErrorKind::IndexOutOfRange`] error.
    ///
    /// Like [`Value::get`](crate::Value::get), it goes on if a process died holding the lock.
    pub fn get(&self, index: usize) -> Result<T> {
        if index >= self.len() {
            return Err(self.out_of_range(index));
        }
        // Taken (after a dead holder too, see above), or the error of a lock
        // taken again by its own holder.
        let guard = self.lock_by(Call::ArrayGet).or_else(LockError::recover)?;
        Ok(guard[index])
    }

    /// Sets element `index` (taking the lock): Python's `a[i] = x`. An index
    /// past the end is an [`ErrorKind::IndexOutOfRange`] error.
    pub fn set(&self, index: usize, value: T) -> Result<()> {
        if index >= self.len() {
            return Err(self.out_of_range(index));
        }
        self.lock_by(Call::ArraySet).or_else(LockError::recover)?[index] = value;
        Ok(())
    }

    /// A copy of all elements (taking the lock once): Python's `a[:]`. Like
    /// [`Array::get`], it goes on if a process died holding the lock, and its
    /// one error is a lock this thread holds already.
    pub fn to_vec(&self) -> Result<Vec<T>> {
        let guard = self.lock_by(Call::ArrayToVec).or_else(LockError::recover)?;
        Ok(guard.to_vec())
    }

    /// The elements, one by one, from a copy taken under the lock once (see
    /// [`Array::to_vec`]): what other processes write meanwhile does not
    /// change what this yields.
    ///
    /// ```
    /// let a = mp::Array::new(&[1_u64, 2, 3])?;
    /// let total: u64 = a.iter()?.sum();
    /// assert_eq!(total, 6);
    /// # Ok::<(), mp::Error>(())
    /// ```
    pub fn iter(&self) -> Result<std::vec::IntoIter<T>> {
        Ok(self.to_vec()?.into_iter())
    }

    /// Waits for the array's lock and takes it (Python's `get_lock()`, then
    /// `acquire()`): the guard derefs to a slice `[T]`, to read and write
    /// several elements in one locked step. Dropping it releases the lock.
    ///
    /// ```
    /// let a = mp::Array::new(&[3_i32, 1, 2])?;
    /// {
    ///     let mut values = a.lock()?;
    ///     values.sort();          // any slice method, under the lock
    ///     values[0] *= 10;
    /// }
    /// assert_eq!(a.to_vec()?, [10, 2, 3]);
    /// # Ok::<(), mp::Error>(())
    /// ```
    ///
    /// Returns [`LockError::OwnerDied`] when the previous holder died holding
    /// the lock, as [`Value::lock`](crate::Value::lock) does. Calling another
    /// method of the same array while this thread holds the guard would wait
    /// for ever: `get`, `set` and `to_vec` return [`ErrorKind::AlreadyHeld`]
    /// instead, and `lock` returns [`LockError::AlreadyHeld`] (use the guard).
    #[doc(alias = "get_lock")]
    pub fn lock(&self) -> LockResult<ArrayGuard<'_, T>> {
        self.lock_by(Call::ArrayLock)
    }

    /// Takes the lock if it is free right now; `None` if another thread or
    /// process holds it, or this thread does.
    pub fn try_lock(&self) -> Option<LockResult<ArrayGuard<'_, T>>> {
        let taken = self.raw_lock().try_acquire(Call::ArrayTryLock)?;
        Some(map_guard(taken, |held| self.guard(held)))
    }
}

impl<T: Plain + fmt::Debug> fmt::Debug for Array<T> {
    /// Shows the elements, or `<locked>` when someone holds the lock (it never waits).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("Array");
        match self
            .try_lock()
            .map(|taken| taken.or_else(LockError::recover))
        {
            Some(Ok(guard)) => out.field("values", &&*guard),
            _ => out.field("values", &format_args!("<locked>")),
        };
        out.finish()
    }
}

/// Holding this is holding an [`Array`]'s lock: it derefs to the elements as
/// a slice `[T]`. Dropping it releases the lock.
///
/// Like [`LockGuard`](crate::LockGuard), it is `!Send` (the thread that took
/// the lock must release it) and `Sync` (a `&ArrayGuard` only reads the
/// elements, and `T` is `Sync`), and if it is leaked with `mem::forget`, the
/// array's memory stays mapped even after every handle is dropped (see
/// "Leaking a guard" on [`LockGuard`](crate::LockGuard)):
///
/// ```compile_fail,E0277
/// let a = mp::Array::new(&[1_i32, 2]).unwrap();
/// let mut guard = a.lock().unwrap();
/// std::thread::scope(|s| {
///     s.spawn(move || guard[0] = 5); // error: `ArrayGuard` cannot be sent between threads
/// });
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct ArrayGuard<'a, T: Plain> {
    elements: *mut T,
    len: usize,
    /// The array's lock, released when the guard is dropped.
    _held: Held<'a>,
    /// The guard borrows the array's memory.
    _borrow: PhantomData<&'a mut [T]>,
}

// SAFETY: a shared `&ArrayGuard` gives only `&[T]` (through `Deref`), and `T`
// is `Sync` (every `Plain` type is); writing needs `&mut ArrayGuard`, which
// cannot be shared. Releasing the lock needs the guard itself, which is `!Send`.
unsafe impl<T: Plain> Sync for ArrayGuard<'_, T> {}

impl<T: Plain> Deref for ArrayGuard<'_, T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        // SAFETY: `elements` points at `len` initialized elements that live as
        // long as the guard's borrow of the array; the guard holds the lock, so
        // no other thread or process touches them meanwhile.
        unsafe { std::slice::from_raw_parts(self.elements, self.len) }
    }
}

impl<T: Plain> DerefMut for ArrayGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as in `deref`; `&mut self` makes this the only reference.
        unsafe { std::slice::from_raw_parts_mut(self.elements, self.len) }
    }
}

impl<T: Plain + fmt::Debug> fmt::Debug for ArrayGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ArrayGuard").field(&&**self).finish()
    }
}
