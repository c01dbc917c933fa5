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

use crate::error::Result;
use crate::shm::SharedMemory;

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

mod array;
mod atomic;
mod slice;
mod value;

pub use array::{Array, ArrayGuard};
pub use atomic::{AtomicInteger, AtomicPlain, AtomicValue};
pub use slice::SharedSlice;
pub use value::{Value, ValueGuard};
