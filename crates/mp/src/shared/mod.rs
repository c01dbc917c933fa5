//! Plain data in memory that several processes really share: Python's
//! `multiprocessing.Value` and `Array`, an atomic value for lock-free counting,
//! and a read-only slice that many processes read at once without a lock.
//!
//! Processes do not share memory by default: after `fork` the child has its
//! own *copy* of every variable, and a spawned child starts with nothing. A
//! [`Value`] or an [`Array`] lives in a block of shared memory (see `shm.rs`)
//! that every process holding it maps at once, so a write by one is a write
//! seen by all. Each starts with its own process-shared lock (a `RawLock`,
//! the robust mutex behind [`Lock`](crate::Lock)); the data follows it:
//!
//! ```text
//! shared memory of a Value<i64>:   [ lock (RawLock) | padding | i64 ]
//! shared memory of an Array<f64>:  [ lock (RawLock) | padding | f64 | f64 | ... ]
//! shared memory of an AtomicValue<u64>:  [ AtomicU64 ]
//! shared memory of a SharedSlice<f64>:   [ f64 | f64 | ... ]   (written once, never locked)
//! ```
//!
//! The padding puts the data at the first offset after the lock that suits its
//! alignment. The memory itself starts on a page boundary, which suits any type.

use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{self, Ordering};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, ErrorKind, Result};
use crate::shm::SharedMemory;
use crate::sync::lock::{
    Acquired, Call, LockResult, NotSend, OwnerDied, RawLock, already_held, unlock_failed,
};

/// Plain data that can live in shared memory: every bit pattern is a valid
/// value, and it holds no pointers (which would mean nothing in another process).
///
/// # Safety
/// Implement only for types without padding, pointers or invalid bit patterns.
pub unsafe trait Plain: Copy + Send + Sync + 'static {}

macro_rules! plain {
    ($($t:ty),*) => { $(
        // SAFETY: a primitive number: no padding, no pointers, every bit pattern valid.
        unsafe impl Plain for $t {}
    )* };
}
plain!(i8, i16, i32, i64, u8, u16, u32, u64, isize, usize, f32, f64);

/// Shared memory is page-aligned, so whatever starts at offset 0 is aligned for
/// any type whose alignment is at most a page. Checked when the code is compiled.
const fn assert_fits_page_alignment<T>() {
    assert!(
        align_of::<T>() <= 4096,
        "a type aligned to more than a page cannot be placed in shared memory"
    );
}

/// Turns how a lock was taken into the result `Lock::lock` also gives. The guard
/// is made only once the lock is held, so that its `Drop` never unlocks a lock
/// this thread does not hold.
fn locked<G>(acquired: Result<Acquired>, guard: impl FnOnce() -> G) -> LockResult<G> {
    match acquired {
        Ok(Acquired::Clean) => Ok(guard()),
        Ok(Acquired::OwnerDied(pid)) => Err(OwnerDied::new(guard(), pid)),
        // This thread holds it already (or EINVAL, a bug of this crate).
        Err(err) => already_held(err),
    }
}

/// Checks that memory received by a spawned child is large enough for what
/// its start arguments say it holds. The parent made it for the same type, so
/// this holds by construction; checking turns a mismatch into an error, not
/// into reads past the end of the mapping.
fn check_size<E: serde::de::Error>(memory: &SharedMemory, needed: Option<usize>) -> Result<(), E> {
    match needed {
        Some(needed) if needed <= memory.len() => Ok(()),
        _ => Err(E::custom(
            "a shared object's memory is smaller than its type needs",
        )),
    }
}

// ---------------------------------------------------------------------------
// Value
// ---------------------------------------------------------------------------

/// What a `Value<T>`'s shared memory holds. `repr(C)` keeps the fields in this
/// order and puts `value` at the first offset after the lock that suits `T`.
#[repr(C)]
struct ValueCell<T> {
    lock: RawLock,
    /// Read and written only while `lock` is held.
    value: UnsafeCell<T>,
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
/// ([`OwnerDied`]), as with [`Lock`](crate::Lock). `get` and `set` go on
/// without telling: for [`Plain`] data that is sound, because every bit
/// pattern is a valid value, so a write cut off halfway leaves a wrong number,
/// never an invalid one (no undefined behaviour). Call `lock()` when you need
/// to know.
///
/// For a counter that needs no lock at all, see [`AtomicValue`].
///
/// ```
/// use mp::{Process, Value};
///
/// fn job(counter: Value<i32>) {
///     // Read, add and write under one lock: Python's `with v.get_lock(): v.value += 1`.
///     *counter.lock().expect("no process died holding the lock") += 1;
/// }
///
/// fn main() -> mp::Result<()> {
///     mp::init();
///     let counter = Value::new(0)?;
///     let mut p = Process::new(job, counter.clone());
///     p.start()?;
///     p.join()?;
///     assert_eq!(counter.get(), 1); // the child's write is seen here
///     Ok(())
/// }
/// ```
pub struct Value<T: Plain> {
    memory: SharedMemory,
    _value: PhantomData<T>,
}

impl<T: Plain> Value<T> {
    /// Puts `value` in new shared memory.
    pub fn new(value: T) -> Result<Self> {
        const { assert_fits_page_alignment::<ValueCell<T>>() };
        let memory = SharedMemory::new("Value", size_of::<ValueCell<T>>())?;
        let cell = memory.as_ptr().cast::<ValueCell<T>>();
        // SAFETY: the memory is fresh, ours alone, large enough for a
        // ValueCell<T>, and page-aligned, which suits its alignment (checked above).
        unsafe {
            RawLock::init(&raw mut (*cell).lock)?;
            UnsafeCell::raw_get(&raw const (*cell).value).write(value);
        }
        Ok(Value {
            memory,
            _value: PhantomData,
        })
    }

    fn cell(&self) -> &ValueCell<T> {
        // SAFETY: `new` put an initialized ValueCell<T> at the start of this
        // memory (a spawned child checks the size when it receives it), and
        // the memory lives as long as `self`.
        unsafe { &*self.memory.as_ptr().cast::<ValueCell<T>>() }
    }

    fn guard(&self) -> ValueGuard<'_, T> {
        let cell = self.cell();
        ValueGuard {
            lock: &cell.lock,
            value: &cell.value,
            _mapping: self.memory.clone(),
            _not_send: PhantomData,
        }
    }

    /// Reads the value (taking the lock): Python's `v.value`.
    ///
    /// If a process died holding the lock, this goes on anyway (see
    /// [When a lock holder dies](Value#when-a-lock-holder-dies)); use
    /// [`Value::lock`] to be told.
    ///
    /// # Panics
    ///
    /// If this thread holds the value's guard ([`Value::lock`]): the message
    /// says so, where the wait would never end. Read through the guard.
    pub fn get(&self) -> T {
        *self.lock_for(Call::ValueGet)
    }

    /// Takes the lock for `what`, going on if a holder died.
    fn lock_for(&self, what: Call) -> ValueGuard<'_, T> {
        match self.cell().lock.lock_by(what) {
            Ok(_) => self.guard(),
            Err(err) => already_held(err),
        }
    }

    /// Writes the value (taking the lock): Python's `v.value = x`.
    ///
    /// Like [`Value::get`], it goes on if a process died holding the lock,
    /// and panics if this thread holds the value's guard.
    pub fn set(&self, value: T) {
        *self.lock_for(Call::ValueSet) = value;
    }

    /// Waits for the value's lock and takes it (Python's `get_lock()`, then
    /// `acquire()`): the guard reads and writes the value, and the lock is
    /// released when the guard is dropped.
    ///
    /// ```
    /// let v = mp::Value::new(10_i64)?;
    /// *v.lock()? += 5; // read, add and write, all under the lock
    /// assert_eq!(v.get(), 15);
    /// # Ok::<(), mp::Error>(())
    /// ```
    ///
    /// Returns `Err(OwnerDied)` when the previous holder died holding the
    /// lock: the lock is taken all the same, and [`OwnerDied::into_guard`]
    /// gives the guard. With `?` it becomes an [`Error`] naming the process.
    ///
    /// Calling [`get`](Value::get), [`set`](Value::set) or `lock` again on the
    /// same value while this thread holds the guard would wait for ever: it
    /// panics instead, with a message naming the call that holds the lock
    /// (use the guard). Python's `with v.get_lock(): v.value += 1` works
    /// because Python's value lock is an `RLock`; here the guard is the value.
    #[doc(alias = "get_lock")]
    pub fn lock(&self) -> LockResult<ValueGuard<'_, T>> {
        locked(self.cell().lock.lock_by(Call::ValueLock), || self.guard())
    }

    /// Takes the lock if it is free right now; `None` if another thread or
    /// process holds it.
    pub fn try_lock(&self) -> Option<LockResult<ValueGuard<'_, T>>> {
        let acquired = self.cell().lock.try_lock().transpose()?;
        Some(locked(acquired, || self.guard()))
    }
}

impl<T: Plain> Clone for Value<T> {
    /// Another handle to the same shared value.
    fn clone(&self) -> Self {
        Value {
            memory: self.memory.clone(),
            _value: PhantomData,
        }
    }
}

impl<T: Plain + fmt::Debug> fmt::Debug for Value<T> {
    /// Shows the value, or `<locked>` when someone holds the lock (it never waits).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("Value");
        match self.try_lock() {
            Some(guard) => out.field("value", &*guard.unwrap_or_else(OwnerDied::into_guard)),
            None => out.field("value", &format_args!("<locked>")),
        };
        out.finish()
    }
}

/// A `Value` goes to a spawned child as its shared memory's file descriptor,
/// and only in the child's start arguments (see `inherit.rs`).
impl<T: Plain> Serialize for Value<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.memory.serialize(s)
    }
}

impl<'de, T: Plain> Deserialize<'de> for Value<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let memory = SharedMemory::deserialize(d)?;
        check_size(&memory, Some(size_of::<ValueCell<T>>()))?;
        Ok(Value {
            memory,
            _value: PhantomData,
        })
    }
}

/// Holding this is holding a [`Value`]'s lock: it derefs to the value, to read
/// and write it. Dropping it releases the lock.
///
/// Like [`LockGuard`](crate::LockGuard), it is `!Send` (the thread that took
/// the lock must release it) and `Sync` (a `&ValueGuard` only reads the value,
/// and `T` is `Sync`), and it keeps the value's memory mapped even if it is
/// leaked with `mem::forget` after every handle is dropped:
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
    lock: &'a RawLock,
    value: &'a UnsafeCell<T>,
    /// Keeps the memory under `lock` and `value` mapped, even when the guard
    /// is leaked: see "Leaking a guard" on [`LockGuard`](crate::LockGuard).
    _mapping: SharedMemory,
    _not_send: NotSend,
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

impl<T: Plain> Drop for ValueGuard<'_, T> {
    fn drop(&mut self) {
        if let Err(err) = self.lock.unlock() {
            unlock_failed(err);
        }
    }
}

impl<T: Plain + fmt::Debug> fmt::Debug for ValueGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ValueGuard").field(&**self).finish()
    }
}

// ---------------------------------------------------------------------------
// Array
// ---------------------------------------------------------------------------

/// A fixed-length array of `T` in shared memory, with its own lock
/// (Python's `multiprocessing.Array`).
///
/// Python's `Array('i', [1, 2, 3])` is `Array::new(&[1_i32, 2, 3])` here. Its
/// length is fixed when it is made. Like Python's, it is one-dimensional: keep
/// a grid of `rows × cols` in one array of `rows * cols` elements, row after
/// row, and find cell `(r, c)` at index `r * cols + c`.
///
/// Like a [`Value`], it carries one lock for all its elements: `get`, `set`,
/// `to_vec` and `iter` each take it once, and [`lock`](Array::lock) holds it
/// across several steps. See [`Value`] for why, and for what happens when a
/// process dies holding it.
///
/// ```
/// use mp::{Array, Process};
///
/// fn job(array: Array<i32>) {
///     array.set(0, 100).expect("index 0 exists");
/// }
///
/// fn main() -> mp::Result<()> {
///     mp::init();
///     let array = Array::new(&[1, 2, 3])?;
///     let mut p = Process::new(job, array.clone());
///     p.start()?;
///     p.join()?;
///     assert_eq!(array.to_vec(), [100, 2, 3]); // the child's write is seen here
///     Ok(())
/// }
/// ```
pub struct Array<T: Plain> {
    memory: SharedMemory,
    len: usize,
    _values: PhantomData<T>,
}

impl<T: Plain> Array<T> {
    /// Where the elements start: the first offset after the lock that suits `T`.
    const OFFSET: usize = size_of::<RawLock>().next_multiple_of(align_of::<T>());

    /// The size in bytes of the memory for `len` elements, if it fits in a `usize`.
    fn size(len: usize) -> Option<usize> {
        len.checked_mul(size_of::<T>())?.checked_add(Self::OFFSET)
    }

    /// `len` elements, all zero (Python's `Array('i', 10)`): shared memory
    /// starts zeroed, and zero is a valid value of every [`Plain`] type.
    #[doc(alias("RawArray"))]
    pub fn zeroed(len: usize) -> Result<Self> {
        const { assert_fits_page_alignment::<T>() };
        let size = Self::size(len).ok_or(ErrorKind::InvalidArgument(
            "an Array that long does not fit in memory",
        ))?;
        let memory = SharedMemory::new("Array", size)?;
        // SAFETY: the memory is fresh, ours alone, zeroed, page-aligned and
        // `size` bytes long: the lock fits at offset 0, and the zeroed bytes
        // after it are `len` valid zeros of `T`.
        unsafe { RawLock::init(memory.as_ptr().cast())? };
        Ok(Array {
            memory,
            len,
            _values: PhantomData,
        })
    }

    /// Copies `values` into new shared memory.
    pub fn new(values: &[T]) -> Result<Self> {
        const { assert_fits_page_alignment::<T>() };
        // A slice already in memory always fits in a usize with a lock before it.
        let size = Self::size(values.len()).expect("an existing slice's size fits in usize");
        let memory = SharedMemory::new("Array", size)?;
        let base = memory.as_ptr();
        // SAFETY: the memory is fresh, ours alone, `size` bytes long, and
        // page-aligned: the lock fits at offset 0 and the elements at OFFSET,
        // a multiple of T's alignment, with room for `values.len()` of them.
        unsafe {
            RawLock::init(base.cast())?;
            let elements = base.add(Self::OFFSET).cast::<T>();
            elements.copy_from_nonoverlapping(values.as_ptr(), values.len());
        }
        Ok(Array {
            memory,
            len: values.len(),
            _values: PhantomData,
        })
    }

    fn raw_lock(&self) -> &RawLock {
        // SAFETY: `new` put an initialized RawLock at the start of this memory,
        // which lives as long as `self`.
        unsafe { &*self.memory.as_ptr().cast::<RawLock>() }
    }

    fn guard(&self) -> ArrayGuard<'_, T> {
        ArrayGuard {
            lock: self.raw_lock(),
            // SAFETY: OFFSET lies inside the memory (its size is at least
            // OFFSET + len elements, checked by a spawned child too).
            elements: unsafe { self.memory.as_ptr().add(Self::OFFSET).cast() },
            len: self.len,
            _mapping: self.memory.clone(),
            _borrow: PhantomData,
            _not_send: PhantomData,
        }
    }

    /// The error for an index past the end.
    fn out_of_range(&self, index: usize) -> Error {
        Error::new(ErrorKind::IndexOutOfRange {
            index,
            len: self.len,
        })
    }

    /// The number of elements (Python's `len(a)`).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Element `index` (taking the lock): Python's `a[i]`. An index past the
    /// end is an [`ErrorKind::IndexOutOfRange`] error.
    ///
    /// Like [`Value::get`], it goes on if a process died holding the lock.
    pub fn get(&self, index: usize) -> Result<T> {
        if index >= self.len {
            return Err(self.out_of_range(index));
        }
        // Taken (after a dead holder too, see above), or the error of a lock
        // taken again by its own holder.
        let guard = self
            .raw_lock()
            .lock_by(Call::ArrayGet)
            .map(|_| self.guard())?;
        Ok(guard[index])
    }

    /// Sets element `index` (taking the lock): Python's `a[i] = x`. An index
    /// past the end is an [`ErrorKind::IndexOutOfRange`] error.
    pub fn set(&self, index: usize, value: T) -> Result<()> {
        if index >= self.len {
            return Err(self.out_of_range(index));
        }
        self.raw_lock()
            .lock_by(Call::ArraySet)
            .map(|_| self.guard())?[index] = value;
        Ok(())
    }

    /// A copy of all elements (taking the lock once): Python's `a[:]`.
    pub fn to_vec(&self) -> Vec<T> {
        self.lock().unwrap_or_else(OwnerDied::into_guard).to_vec()
    }

    /// The elements, one by one, from a copy taken under the lock once: what
    /// other processes write meanwhile does not change what this yields.
    ///
    /// ```
    /// let a = mp::Array::new(&[1_u64, 2, 3])?;
    /// let total: u64 = a.iter().sum();
    /// assert_eq!(total, 6);
    /// for x in &a { // the same
    ///     assert!(x > 0);
    /// }
    /// # Ok::<(), mp::Error>(())
    /// ```
    pub fn iter(&self) -> std::vec::IntoIter<T> {
        self.to_vec().into_iter()
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
    /// assert_eq!(a.to_vec(), [10, 2, 3]);
    /// # Ok::<(), mp::Error>(())
    /// ```
    ///
    /// Returns `Err(OwnerDied)` when the previous holder died holding the
    /// lock, as [`Value::lock`] does. Calling another method of the same
    /// array while this thread holds the guard would wait for ever: `get` and
    /// `set` return [`ErrorKind::AlreadyHeld`] instead, and `lock` and
    /// `to_vec` panic with its message (use the guard).
    #[doc(alias = "get_lock")]
    pub fn lock(&self) -> LockResult<ArrayGuard<'_, T>> {
        locked(self.raw_lock().lock_by(Call::ArrayLock), || self.guard())
    }

    /// Takes the lock if it is free right now; `None` if another thread or
    /// process holds it.
    pub fn try_lock(&self) -> Option<LockResult<ArrayGuard<'_, T>>> {
        let acquired = self.raw_lock().try_lock().transpose()?;
        Some(locked(acquired, || self.guard()))
    }
}

impl<T: Plain> Clone for Array<T> {
    /// Another handle to the same shared array.
    fn clone(&self) -> Self {
        Array {
            memory: self.memory.clone(),
            len: self.len,
            _values: PhantomData,
        }
    }
}

impl<T: Plain> IntoIterator for &Array<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;

    /// Same as [`Array::iter`].
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<T: Plain + fmt::Debug> fmt::Debug for Array<T> {
    /// Shows the elements, or `<locked>` when someone holds the lock (it never waits).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("Array");
        match self.try_lock() {
            Some(guard) => out.field("values", &&*guard.unwrap_or_else(OwnerDied::into_guard)),
            None => out.field("values", &format_args!("<locked>")),
        };
        out.finish()
    }
}

/// An `Array` goes to a spawned child as its memory's file descriptor and its
/// length, only in the child's start arguments.
impl<T: Plain> Serialize for Array<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (&self.memory, self.len).serialize(s)
    }
}

impl<'de, T: Plain> Deserialize<'de> for Array<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (memory, len) = <(SharedMemory, usize)>::deserialize(d)?;
        check_size(&memory, Self::size(len))?;
        Ok(Array {
            memory,
            len,
            _values: PhantomData,
        })
    }
}

/// Holding this is holding an [`Array`]'s lock: it derefs to the elements as
/// a slice `[T]`. Dropping it releases the lock.
///
/// Like [`LockGuard`](crate::LockGuard), it is `!Send` (the thread that took
/// the lock must release it) and `Sync` (a `&ArrayGuard` only reads the
/// elements, and `T` is `Sync`), and it keeps the array's memory mapped even if
/// it is leaked with `mem::forget` after every handle is dropped:
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
    lock: &'a RawLock,
    elements: *mut T,
    len: usize,
    /// Keeps the memory under `lock` and `elements` mapped, even when the
    /// guard is leaked: see "Leaking a guard" on [`LockGuard`](crate::LockGuard).
    _mapping: SharedMemory,
    /// The guard borrows the array's memory.
    _borrow: PhantomData<&'a mut [T]>,
    _not_send: NotSend,
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

impl<T: Plain> Drop for ArrayGuard<'_, T> {
    fn drop(&mut self) {
        if let Err(err) = self.lock.unlock() {
            unlock_failed(err);
        }
    }
}

impl<T: Plain + fmt::Debug> fmt::Debug for ArrayGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ArrayGuard").field(&&**self).finish()
    }
}

// ---------------------------------------------------------------------------
// SharedSlice
// ---------------------------------------------------------------------------

/// A slice of `T` in shared memory, written once when it is made and only read
/// after that: every process that holds it reads it at the same time, with no
/// lock and no copy.
///
/// An [`Array`] can be written by any process, so every access takes its lock,
/// and two processes reading halves of one `Array` under its lock take turns.
/// A `SharedSlice` cannot be written at all once it is made, so there is
/// nothing to lock: it derefs to a plain `&[T]`, as an `Arc<[T]>` does between
/// threads. Python's nearest things are `multiprocessing.RawArray` and a
/// `shared_memory.SharedMemory` block (lock-free, but writable by everyone,
/// races included); Rust's borrow rules allow sharing without a lock only
/// when nobody writes, and this type is that case.
///
/// ```
/// use mp::{Process, Queue, SharedSlice};
///
/// fn sum_half((data, first_half, sums): (SharedSlice<f64>, bool, Queue<f64>)) {
///     let half = data.len() / 2;
///     let part = if first_half { &data[..half] } else { &data[half..] };
///     sums.put(part.iter().sum()).unwrap(); // reads the shared memory in place
/// }
///
/// fn main() -> mp::Result<()> {
///     mp::init();
///     let data = SharedSlice::new(&[1.0, 2.0, 3.0, 4.0])?; // the one copy
///     let sums = Queue::new()?;
///     let mut workers = [true, false]
///         .map(|first_half| Process::new(sum_half, (data.clone(), first_half, sums.clone())));
///     for worker in &mut workers {
///         worker.start()?;
///     }
///     let total = sums.get()? + sums.get()?;
///     for worker in &mut workers {
///         worker.join()?;
///     }
///     assert_eq!(total, 10.0);
///     Ok(())
/// }
/// ```
///
/// There is no way to write to it: this does not compile.
///
/// ```compile_fail
/// let data = mp::SharedSlice::new(&[1.0_f64, 2.0])?;
/// data[0] = 5.0; // cannot assign: a SharedSlice is only ever read
/// # Ok::<(), mp::Error>(())
/// ```
pub struct SharedSlice<T: Plain> {
    memory: SharedMemory,
    len: usize,
    _values: PhantomData<T>,
}

impl<T: Plain> SharedSlice<T> {
    /// Copies `values` into new shared memory: the one copy this type ever makes.
    pub fn new(values: &[T]) -> Result<Self> {
        const { assert_fits_page_alignment::<T>() };
        let size = Self::size(values.len()).expect("an existing slice's size fits in usize");
        let memory = SharedMemory::new("SharedSlice", size)?;
        // SAFETY: the memory is fresh, ours alone (no clone or child has it
        // yet), page-aligned (which suits T) and `size` bytes long: room for
        // `values.len()` elements of T.
        unsafe {
            let elements = memory.as_ptr().cast::<T>();
            elements.copy_from_nonoverlapping(values.as_ptr(), values.len());
        }
        Ok(SharedSlice {
            memory,
            len: values.len(),
            _values: PhantomData,
        })
    }

    /// The size in bytes of `len` elements, if it fits in a `usize`.
    fn size(len: usize) -> Option<usize> {
        len.checked_mul(size_of::<T>())
    }
}

impl<T: Plain> Deref for SharedSlice<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        // SAFETY: the memory starts with `len` initialized elements of T (put
        // there by `new`; a spawned child checks the size when it receives
        // it), it lives as long as `self`, and no code writes to it after
        // `new`: this type has no method that writes, and no other type of
        // the crate is ever given this memory. So a shared borrow of it never
        // overlaps a write, in this process or another (forked or spawned).
        unsafe { std::slice::from_raw_parts(self.memory.as_ptr().cast::<T>(), self.len) }
    }
}

impl<T: Plain> Clone for SharedSlice<T> {
    /// Another handle to the same shared memory: nothing is copied.
    fn clone(&self) -> Self {
        SharedSlice {
            memory: self.memory.clone(),
            len: self.len,
            _values: PhantomData,
        }
    }
}

impl<T: Plain + fmt::Debug> fmt::Debug for SharedSlice<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SharedSlice").field(&&**self).finish()
    }
}

/// A `SharedSlice` goes to a spawned child as its memory's file descriptor and
/// its length, like an [`Array`].
impl<T: Plain> Serialize for SharedSlice<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (&self.memory, self.len).serialize(s)
    }
}

impl<'de, T: Plain> Deserialize<'de> for SharedSlice<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (memory, len) = <(SharedMemory, usize)>::deserialize(d)?;
        check_size(&memory, Self::size(len))?;
        Ok(SharedSlice {
            memory,
            len,
            _values: PhantomData,
        })
    }
}

// ---------------------------------------------------------------------------
// AtomicValue
// ---------------------------------------------------------------------------

mod sealed {
    /// Maps a number type to the std atomic type that works on it. The module
    /// is private, so no type outside this file can implement it: only the
    /// types whose atomic twin the CPU supports without a hidden lock.
    pub trait HasAtomic: Copy {
        /// The std atomic type, e.g. `AtomicI32` for `i32`.
        type Atomic: Send + Sync;
        fn new(value: Self) -> Self::Atomic;
        fn load(atomic: &Self::Atomic) -> Self;
        fn store(atomic: &Self::Atomic, value: Self);
        fn swap(atomic: &Self::Atomic, value: Self) -> Self;
        fn compare_exchange(atomic: &Self::Atomic, current: Self, new: Self) -> Result<Self, Self>;
        fn fetch_add(atomic: &Self::Atomic, value: Self) -> Self;
        fn fetch_sub(atomic: &Self::Atomic, value: Self) -> Self;
        fn fetch_max(atomic: &Self::Atomic, value: Self) -> Self;
        fn fetch_min(atomic: &Self::Atomic, value: Self) -> Self;
    }

    /// The integers among them: the bit operations.
    pub trait HasBits: HasAtomic {
        fn fetch_and(atomic: &Self::Atomic, value: Self) -> Self;
        fn fetch_or(atomic: &Self::Atomic, value: Self) -> Self;
        fn fetch_xor(atomic: &Self::Atomic, value: Self) -> Self;
    }
}

/// The numbers an [`AtomicValue`] can hold: `i32`, `i64`, `u32`, `u64` and
/// `usize`, each with its lock-free std atomic twin (`AtomicI32`, ...), and
/// `f64`, kept as its bits in an `AtomicU64` (its arithmetic is a
/// compare-and-swap loop, as C's `atomic<double>` does it).
///
/// This trait is sealed: it cannot be implemented outside this crate.
pub trait AtomicPlain: Plain + sealed::HasAtomic {}

/// The integers of [`AtomicPlain`]: those with bit operations. Sealed.
pub trait AtomicInteger: AtomicPlain + sealed::HasBits {}

macro_rules! atomic_plain {
    ($($t:ty => $atomic:ty),*) => { $(
        impl sealed::HasAtomic for $t {
            type Atomic = $atomic;
            fn new(value: Self) -> $atomic {
                <$atomic>::new(value)
            }
            fn load(atomic: &$atomic) -> Self {
                atomic.load(Ordering::SeqCst)
            }
            fn store(atomic: &$atomic, value: Self) {
                atomic.store(value, Ordering::SeqCst)
            }
            fn swap(atomic: &$atomic, value: Self) -> Self {
                atomic.swap(value, Ordering::SeqCst)
            }
            fn compare_exchange(atomic: &$atomic, current: Self, new: Self) -> Result<Self, Self> {
                atomic.compare_exchange(current, new, Ordering::SeqCst, Ordering::SeqCst)
            }
            fn fetch_add(atomic: &$atomic, value: Self) -> Self {
                atomic.fetch_add(value, Ordering::SeqCst)
            }
            fn fetch_sub(atomic: &$atomic, value: Self) -> Self {
                atomic.fetch_sub(value, Ordering::SeqCst)
            }
            fn fetch_max(atomic: &$atomic, value: Self) -> Self {
                atomic.fetch_max(value, Ordering::SeqCst)
            }
            fn fetch_min(atomic: &$atomic, value: Self) -> Self {
                atomic.fetch_min(value, Ordering::SeqCst)
            }
        }
        impl sealed::HasBits for $t {
            fn fetch_and(atomic: &$atomic, value: Self) -> Self {
                atomic.fetch_and(value, Ordering::SeqCst)
            }
            fn fetch_or(atomic: &$atomic, value: Self) -> Self {
                atomic.fetch_or(value, Ordering::SeqCst)
            }
            fn fetch_xor(atomic: &$atomic, value: Self) -> Self {
                atomic.fetch_xor(value, Ordering::SeqCst)
            }
        }
        impl AtomicPlain for $t {}
        impl AtomicInteger for $t {}
    )* };
}

/// `f64` as its bits in an `AtomicU64`; arithmetic by compare-and-swap.
#[cfg(target_has_atomic = "64")]
impl sealed::HasAtomic for f64 {
    type Atomic = atomic::AtomicU64;
    fn new(value: Self) -> atomic::AtomicU64 {
        atomic::AtomicU64::new(value.to_bits())
    }
    fn load(atomic: &atomic::AtomicU64) -> Self {
        f64::from_bits(atomic.load(Ordering::SeqCst))
    }
    fn store(atomic: &atomic::AtomicU64, value: Self) {
        atomic.store(value.to_bits(), Ordering::SeqCst)
    }
    fn swap(atomic: &atomic::AtomicU64, value: Self) -> Self {
        f64::from_bits(atomic.swap(value.to_bits(), Ordering::SeqCst))
    }
    /// Compares bits, as C does: `-0.0` is not `0.0`, and a NaN matches
    /// the same NaN.
    fn compare_exchange(
        atomic: &atomic::AtomicU64,
        current: Self,
        new: Self,
    ) -> Result<Self, Self> {
        atomic
            .compare_exchange(
                current.to_bits(),
                new.to_bits(),
                Ordering::SeqCst,
                Ordering::SeqCst,
            )
            .map(f64::from_bits)
            .map_err(f64::from_bits)
    }
    fn fetch_add(atomic: &atomic::AtomicU64, value: Self) -> Self {
        update_f64(atomic, |x| x + value)
    }
    fn fetch_sub(atomic: &atomic::AtomicU64, value: Self) -> Self {
        update_f64(atomic, |x| x - value)
    }
    fn fetch_max(atomic: &atomic::AtomicU64, value: Self) -> Self {
        update_f64(atomic, |x| x.max(value))
    }
    fn fetch_min(atomic: &atomic::AtomicU64, value: Self) -> Self {
        update_f64(atomic, |x| x.min(value))
    }
}
#[cfg(target_has_atomic = "64")]
impl AtomicPlain for f64 {}

/// Replaces the `f64` in `atomic` by `f(old)` in one indivisible step (a
/// compare-and-swap loop); returns the old value.
#[cfg(target_has_atomic = "64")]
fn update_f64(atomic: &atomic::AtomicU64, f: impl Fn(f64) -> f64) -> f64 {
    let old = atomic
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |bits| {
            Some(f(f64::from_bits(bits)).to_bits())
        })
        .unwrap_or_else(|bits| bits);
    f64::from_bits(old)
}
// std has each atomic type only on CPUs that do it natively, without a lock.
#[cfg(target_has_atomic = "32")]
atomic_plain!(i32 => atomic::AtomicI32, u32 => atomic::AtomicU32);
#[cfg(target_has_atomic = "64")]
atomic_plain!(i64 => atomic::AtomicI64, u64 => atomic::AtomicU64);
#[cfg(target_has_atomic = "ptr")]
atomic_plain!(usize => atomic::AtomicUsize);

/// An integer in shared memory that processes update without a lock: a std
/// atomic (`AtomicI64`, ...) placed in memory that every process maps.
///
/// # Why std atomics work across processes, and `std::sync::Mutex` does not
///
/// An atomic operation such as `fetch_add` is a single CPU instruction (on
/// x86, `lock xadd`). The CPU makes it indivisible on the *physical* memory
/// it touches, whichever virtual address a process uses to reach it. Two
/// processes mapping the same shared page touch the same physical memory, so
/// their atomic instructions exclude each other exactly as two threads' do.
/// That holds for lock-free atomics only; std provides `AtomicU64` and the
/// others only on CPUs that do them natively, which is why this type accepts
/// only the integers of [`AtomicPlain`].
///
/// `std::sync::Mutex` is not only an atomic: a thread that finds it locked
/// goes to sleep in the kernel on a *private* futex, which the kernel files
/// under this one process's address space. A waiter in another process is
/// filed elsewhere, and is never woken. Process-shared locks ([`Lock`],
/// [`Value::lock`]) use a pthread mutex marked `PTHREAD_PROCESS_SHARED`.
///
/// [`Lock`]: crate::Lock
///
/// # Orderings
///
/// Every operation uses `Ordering::SeqCst`, the simplest to reason about: all
/// processes see all these operations in one order. Arithmetic wraps around
/// on overflow, as std atomics do, even in debug builds.
///
/// ```
/// use mp::{AtomicValue, Process};
///
/// fn job(counter: AtomicValue<u64>) {
///     for _ in 0..1000 {
///         counter.fetch_add(1); // one indivisible instruction: no update lost
///     }
/// }
///
/// fn main() -> mp::Result<()> {
///     mp::init();
///     let counter = AtomicValue::new(0)?;
///     let mut p1 = Process::new(job, counter.clone());
///     let mut p2 = Process::new(job, counter.clone());
///     p1.start()?;
///     p2.start()?;
///     p1.join()?;
///     p2.join()?;
///     assert_eq!(counter.load(), 2000);
///     Ok(())
/// }
/// ```
pub struct AtomicValue<T: AtomicPlain> {
    memory: SharedMemory,
    _value: PhantomData<T>,
}

impl<T: AtomicPlain> AtomicValue<T> {
    /// Puts `value` in new shared memory.
    pub fn new(value: T) -> Result<Self> {
        const { assert_fits_page_alignment::<T::Atomic>() };
        let memory = SharedMemory::new("AtomicValue", size_of::<T::Atomic>())?;
        // SAFETY: the memory is fresh, ours alone, large enough for the atomic,
        // and page-aligned, which suits the atomic's alignment.
        unsafe { memory.as_ptr().cast::<T::Atomic>().write(T::new(value)) };
        Ok(AtomicValue {
            memory,
            _value: PhantomData,
        })
    }

    fn atomic(&self) -> &T::Atomic {
        // SAFETY: `new` put an initialized atomic at the start of this memory
        // (a spawned child checks the size when it receives it), which lives as
        // long as `self`. Atomics are made to be shared by reference.
        unsafe { &*self.memory.as_ptr().cast::<T::Atomic>() }
    }

    /// Reads the value.
    pub fn load(&self) -> T {
        T::load(self.atomic())
    }

    /// Writes the value.
    pub fn store(&self, value: T) {
        T::store(self.atomic(), value)
    }

    /// Adds `value` in one indivisible step and returns the value from before.
    pub fn fetch_add(&self, value: T) -> T {
        T::fetch_add(self.atomic(), value)
    }

    /// Subtracts `value` in one indivisible step; returns the value from before.
    pub fn fetch_sub(&self, value: T) -> T {
        T::fetch_sub(self.atomic(), value)
    }

    /// Writes `value` and returns the value from before, in one step.
    pub fn swap(&self, value: T) -> T {
        T::swap(self.atomic(), value)
    }

    /// Writes `new` if the value is `current`, in one step: `Ok(current)` if
    /// it did, `Err(actual)` with the value found if not.
    pub fn compare_exchange(&self, current: T, new: T) -> std::result::Result<T, T> {
        T::compare_exchange(self.atomic(), current, new)
    }

    /// Keeps the larger of the value and `value`; returns the value from before.
    pub fn fetch_max(&self, value: T) -> T {
        T::fetch_max(self.atomic(), value)
    }

    /// Keeps the smaller of the value and `value`; returns the value from before.
    pub fn fetch_min(&self, value: T) -> T {
        T::fetch_min(self.atomic(), value)
    }
}

impl<T: AtomicInteger> AtomicValue<T> {
    /// Bitwise and, in one step; returns the value from before.
    pub fn fetch_and(&self, value: T) -> T {
        <T as sealed::HasBits>::fetch_and(self.atomic(), value)
    }

    /// Bitwise or, in one step; returns the value from before.
    pub fn fetch_or(&self, value: T) -> T {
        <T as sealed::HasBits>::fetch_or(self.atomic(), value)
    }

    /// Bitwise exclusive or, in one step; returns the value from before.
    pub fn fetch_xor(&self, value: T) -> T {
        <T as sealed::HasBits>::fetch_xor(self.atomic(), value)
    }
}

impl<T: AtomicPlain> Clone for AtomicValue<T> {
    /// Another handle to the same shared value.
    fn clone(&self) -> Self {
        AtomicValue {
            memory: self.memory.clone(),
            _value: PhantomData,
        }
    }
}

impl<T: AtomicPlain + fmt::Debug> fmt::Debug for AtomicValue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AtomicValue")
            .field("value", &self.load())
            .finish()
    }
}

/// Sent to a spawned child as its memory's file descriptor, like a [`Value`].
impl<T: AtomicPlain> Serialize for AtomicValue<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.memory.serialize(s)
    }
}

impl<'de, T: AtomicPlain> Deserialize<'de> for AtomicValue<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let memory = SharedMemory::deserialize(d)?;
        check_size(&memory, Some(size_of::<T::Atomic>()))?;
        Ok(AtomicValue {
            memory,
            _value: PhantomData,
        })
    }
}
