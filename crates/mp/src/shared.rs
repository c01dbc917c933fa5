//! Plain data in shared memory: Python's `multiprocessing.Value` and `Array`.

use std::marker::PhantomData;

use serde::{Deserialize, Serialize};

use crate::error::Result;

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

/// One value of `T` in shared memory, with its own lock (Python's `multiprocessing.Value`).
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Value<T: Plain> {
    _value: PhantomData<T>,
}

impl<T: Plain> Clone for Value<T> {
    fn clone(&self) -> Self {
        todo!()
    }
}

impl<T: Plain> Value<T> {
    /// Puts `value` in new shared memory.
    pub fn new(value: T) -> Result<Self> {
        let _ = value;
        todo!()
    }

    /// Reads the value (taking the lock).
    pub fn get(&self) -> T {
        todo!()
    }

    /// Writes the value (taking the lock).
    pub fn set(&self, value: T) {
        let _ = value;
        todo!()
    }
}

/// A fixed-length array of `T` in shared memory, with its own lock
/// (Python's `multiprocessing.Array`): one-dimensional.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Array<T: Plain> {
    _values: PhantomData<T>,
}

impl<T: Plain> Clone for Array<T> {
    fn clone(&self) -> Self {
        todo!()
    }
}

impl<T: Plain> Array<T> {
    /// Copies `values` into new shared memory.
    pub fn new(values: &[T]) -> Result<Self> {
        let _ = values;
        todo!()
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        todo!()
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Element `index` (taking the lock).
    pub fn get(&self, index: usize) -> Result<T> {
        let _ = index;
        todo!()
    }

    /// Sets element `index` (taking the lock).
    pub fn set(&self, index: usize, value: T) -> Result<()> {
        let _ = (index, value);
        todo!()
    }

    /// A copy of all elements (taking the lock once).
    pub fn to_vec(&self) -> Vec<T> {
        todo!()
    }
}
