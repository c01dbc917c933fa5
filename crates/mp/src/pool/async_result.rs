//! A result to come: what `Pool::apply_async` and `Pool::map_async` return
//! at once, to be waited for and read later (Python's `AsyncResult`).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use super::Chunk;
use super::engine::Engine;
use super::slot::Read;
use crate::error::{ErrorKind, Result};

/// A result to come (Python's `AsyncResult`): of one task from
/// [`Pool::apply_async`](super::Pool::apply_async) (`AsyncResult<R>`), or of a whole
/// [`Pool::map_async`](super::Pool::map_async) or [`Pool::starmap_async`](super::Pool::starmap_async) (`AsyncResult<Vec<R>>`).
///
/// As everywhere in the pool, results are collected while some thread waits
/// on the pool (see [`Pool`](super::Pool)): [`AsyncResult::ready`] collects what is in
/// without waiting, so asking it again and again is enough to see the
/// result arrive.
pub struct AsyncResult<T> {
    pub(super) engine: Arc<Engine>,
    /// The tasks whose results make up a `T`.
    pub(super) chunks: Vec<Chunk>,
    /// Turns the chunks' results into a `T` (or the first error). A plain
    /// `fn` also makes the handle movable between threads whatever `T` is.
    pub(super) decode: fn(&[Chunk], Read) -> Result<T>,
    /// The chunks before this one are known to be filled: a slot once filled
    /// stays so, and a wait looks at each chunk once, not after every answer.
    pub(super) filled: AtomicUsize,
}

impl<T> AsyncResult<T> {
    /// Waits for the result (Python's `get()`).
    pub fn get(self) -> Result<T> {
        self.wait()?;
        (self.decode)(&self.chunks, Read::Take)
    }

    /// Waits at most `timeout` for the result: [`ErrorKind::Timeout`] if it
    /// is not in by then (Python's `get(timeout)`). The work goes on; you can
    /// wait again.
    #[doc(alias("get"))]
    pub fn get_timeout(&self, timeout: Duration) -> Result<T> {
        if !self.wait_timeout(timeout)? {
            return Err(ErrorKind::Timeout {
                what: "AsyncResult::get_timeout",
                after: timeout,
            }
            .into());
        }
        (self.decode)(&self.chunks, Read::Copy)
    }

    /// Whether the result is in (Python's `ready()`), after collecting, without
    /// waiting, whatever the workers have finished.
    pub fn ready(&self) -> bool {
        if !self.is_filled() {
            self.engine.poll();
        }
        self.is_filled()
    }

    /// Waits until the result is in, without taking it (Python's `wait()`).
    /// An error means the pool could not go on (say, a replacement worker
    /// could not start); a task that failed is not an error here, but in
    /// [`AsyncResult::get`].
    pub fn wait(&self) -> Result<()> {
        self.engine.wait_for(None, || self.is_filled())?;
        Ok(())
    }

    /// Waits at most `timeout` for the result to be in (Python's
    /// `wait(timeout)`): `Ok(false)` if it is not in by then.
    #[doc(alias("wait"))]
    pub fn wait_timeout(&self, timeout: Duration) -> Result<bool> {
        // A timeout too long to add to the clock is no limit.
        let deadline = Instant::now().checked_add(timeout);
        self.engine.wait_for(deadline, || self.is_filled())
    }

    /// Whether the work succeeded (Python's `successful()`): `None` while
    /// the result is not in (Python raises `ValueError` then), `Some(false)`
    /// if [`AsyncResult::get`] will return an error (a panic, a dead worker;
    /// for a `map_async`, any item's).
    pub fn successful(&self) -> Option<bool> {
        self.ready()
            .then(|| (self.decode)(&self.chunks, Read::Copy).is_ok())
    }

    fn is_filled(&self) -> bool {
        let mut next = self.filled.load(Ordering::Relaxed);
        while let Some(chunk) = self.chunks.get(next) {
            if !chunk.slot.is_filled() {
                break;
            }
            next += 1;
        }
        // Racing threads may store different counts: each is a true lower bound.
        self.filled.fetch_max(next, Ordering::Relaxed);
        next == self.chunks.len()
    }
}

impl<T> fmt::Debug for AsyncResult<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncResult")
            .field("ready", &self.is_filled())
            .finish_non_exhaustive()
    }
}

/// [`AsyncResult`]'s decoder for a task of one item.
pub(super) fn first_result<R: DeserializeOwned + 'static>(
    chunks: &[Chunk],
    read: Read,
) -> Result<R> {
    match chunks {
        [chunk] => chunk.slot.first_result(read),
        _ => Err(ErrorKind::PoolClosed.into()),
    }
}

/// [`AsyncResult`]'s decoder for a whole map: every item's result, in order,
/// or the first failing item's error.
pub(super) fn all_results<R: DeserializeOwned + 'static>(
    chunks: &[Chunk],
    read: Read,
) -> Result<Vec<R>> {
    let mut results = Vec::with_capacity(chunks.iter().map(|c| c.len).sum());
    for chunk in chunks {
        results.extend(chunk.slot.results::<R>(chunk.len, read).into_values()?);
    }
    Ok(results)
}
