//! `SharedSlice<T>`: a slice written once and then read by many processes at
//! once, with no lock (Python's `shared_memory.SharedMemory` used read-only).

use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Serialize};

use super::{Element, Plain, assert_fits_page_alignment};
use crate::error::Result;
use crate::region::Region;

/// A slice of `T` in shared memory, written once when it is made and only read
/// after that: every process that holds it reads it at the same time, with no
/// lock and no copy.
///
/// An [`Array`](crate::Array) can be written by any process, so every access takes its lock,
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
// A `SharedSlice` goes to a spawned child as its memory's file descriptor and
// its length, like an [`Array`](crate::Array).
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent, bound = "")]
pub struct SharedSlice<T: Plain> {
    /// No header; the elements, as slots.
    region: Region<(), Element<T>>,
}

impl<T: Plain> SharedSlice<T> {
    /// Copies `values` into new shared memory: the one copy this type ever makes.
    pub fn new(values: &[T]) -> Result<Self> {
        const { assert_fits_page_alignment::<T>() };
        let region = Region::new(
            "SharedSlice",
            values.len(),
            |_, elements: &mut [Element<T>]| {
                for (element, &value) in elements.iter_mut().zip(values) {
                    *element.0.get_mut() = value;
                }
            },
        )?;
        Ok(SharedSlice { region })
    }
}

impl<T: Plain> Deref for SharedSlice<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        let elements = self.region.slots();
        // SAFETY: `Element<T>` is a transparent `UnsafeCell<T>`, which has
        // the layout of `T`, so these are `elements.len()` initialized `T`s,
        // mapped as long as `self` lives. Nothing writes them after `new`:
        // this type has no method that writes, and no other type of the crate
        // is ever given this memory. So a shared borrow of them never overlaps
        // a write, in this process or another (forked or spawned).
        unsafe { std::slice::from_raw_parts(elements.as_ptr().cast::<T>(), elements.len()) }
    }
}

impl<T: Plain + fmt::Debug> fmt::Debug for SharedSlice<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SharedSlice").field(&&**self).finish()
    }
}
