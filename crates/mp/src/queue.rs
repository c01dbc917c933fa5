//! A FIFO queue between processes: Python's `multiprocessing.Queue`.

use std::marker::PhantomData;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// A first-in, first-out queue of `T` between processes (Python's
/// `multiprocessing.Queue`). Make it before starting the processes that use
/// it, and pass each a clone.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Queue<T> {
    _items: PhantomData<fn(T) -> T>,
}

impl<T> Clone for Queue<T> {
    fn clone(&self) -> Self {
        todo!()
    }
}

impl<T: Serialize + DeserializeOwned> Queue<T> {
    /// Makes an empty queue.
    pub fn new() -> Result<Self> {
        todo!()
    }

    /// Adds `item` at the back (Python's `put`).
    pub fn put(&self, item: T) -> Result<()> {
        let _ = item;
        todo!()
    }

    /// Takes the item at the front, waiting for one (Python's `get`).
    pub fn get(&self) -> Result<T> {
        todo!()
    }

    /// Like [`Queue::get`], waiting at most `timeout`.
    pub fn get_timeout(&self, timeout: Duration) -> Result<T> {
        let _ = timeout;
        todo!()
    }
}
