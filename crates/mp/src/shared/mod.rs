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

use crate::region::InShared;

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

/// One element of an [`Array`] or a [`SharedSlice`] in shared memory: a
/// `T` that an `Array` writes only under its lock, and a `SharedSlice` only
/// before anyone else can see it.
#[repr(transparent)]
struct Element<T>(UnsafeCell<T>);

// SAFETY: a shared `&Element` gives no access by itself: an `Array` reads and
// writes the `T` inside only while holding its lock, and a `SharedSlice`
// never writes it once shared. `T: Plain` is `Sync` and `Send`.
unsafe impl<T: Plain> Sync for Element<T> {}

// SAFETY: `repr(transparent)` over a `T: Plain`: no pointer, all-zero bytes
// are a valid number, and it is touched as just said.
unsafe impl<T: Plain> InShared for Element<T> {}

mod array;
mod atomic;
mod slice;
mod value;

pub use array::{Array, ArrayGuard};
pub use atomic::{AtomicInteger, AtomicPlain, AtomicValue};
pub use slice::SharedSlice;
pub use value::{Value, ValueGuard};
