//! A pool of worker processes: Python's `multiprocessing.Pool`.

use std::marker::PhantomData;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::Result;

/// A pool of worker processes (Python's `multiprocessing.Pool`).
pub struct Pool {
    _workers: usize,
}

impl Pool {
    /// Starts `processes` worker processes.
    pub fn new(processes: usize) -> Result<Self> {
        let _ = processes;
        todo!()
    }

    /// Applies `job` to every item, in parallel, keeping the order (Python's `map`).
    pub fn map<A, R>(&self, job: fn(A) -> R, items: impl IntoIterator<Item = A>) -> Result<Vec<R>>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        let _ = (job, items.into_iter());
        todo!()
    }

    /// Starts `job(arg)` on a worker and returns at once (Python's `apply_async`).
    pub fn apply_async<A, R>(&self, job: fn(A) -> R, arg: A) -> Result<AsyncResult<R>>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        let _ = (job, arg);
        todo!()
    }
}

/// The result of [`Pool::apply_async`], to come (Python's `AsyncResult`).
pub struct AsyncResult<R> {
    _result: PhantomData<R>,
}

impl<R: DeserializeOwned> AsyncResult<R> {
    /// Waits for the result.
    pub fn get(self) -> Result<R> {
        todo!()
    }

    /// Waits at most `timeout` for the result.
    pub fn get_timeout(&self, timeout: Duration) -> Result<R> {
        let _ = timeout;
        todo!()
    }
}
