//! The iterator of `Pool::imap`: each result in the items' order, as soon
//! as it and those before it are in.

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use super::Chunk;
use super::engine::Engine;
use super::slot::Read;
use crate::error::{ErrorKind, Result};

/// The iterator of [`Pool::imap`](super::Pool::imap): results in the items' order.
pub struct IMap<R> {
    pub(super) engine: Arc<Engine>,
    pub(super) chunks: VecDeque<Chunk>,
    pub(super) ready: VecDeque<Result<R>>,
    pub(super) _result: PhantomData<fn() -> R>,
}

impl<R: DeserializeOwned + 'static> IMap<R> {
    /// The next result, waiting at most `timeout` for it (Python's
    /// `next(timeout)` on `imap`'s iterator): `Some(Err)` of kind
    /// [`ErrorKind::Timeout`] if it is not in by then, and it stays next;
    /// `None` once every result was taken.
    pub fn next_timeout(&mut self, timeout: Duration) -> Option<Result<R>> {
        // A timeout too long to add to the clock is no limit.
        self.next_before(Instant::now().checked_add(timeout), timeout)
    }

    /// The next result, waiting for its chunk until `deadline` (`None`: for
    /// as long as it takes); `timeout` is what the deadline's error names.
    fn next_before(&mut self, deadline: Option<Instant>, timeout: Duration) -> Option<Result<R>> {
        loop {
            if let Some(result) = self.ready.pop_front() {
                return Some(result);
            }
            let chunk = self.chunks.front()?;
            match self.engine.wait_for(deadline, || chunk.slot.is_filled()) {
                Ok(true) => {}
                // Only a deadline ends a wait unfilled; the chunk stays next.
                Ok(false) => {
                    let what = "IMap::next_timeout";
                    return Some(Err(ErrorKind::Timeout {
                        what,
                        after: timeout,
                    }
                    .into()));
                }
                Err(err) => {
                    // The pool could not go on (say, a replacement worker
                    // could not start): this chunk's place in the sequence
                    // reports why.
                    self.chunks.pop_front();
                    return Some(Err(err));
                }
            }
            let chunk = self.chunks.pop_front().expect("looked at just above");
            let ready = &mut self.ready;
            chunk
                .slot
                .results(chunk.len, Read::Take)
                .for_each(|result| ready.push_back(result));
        }
    }
}

impl<R: DeserializeOwned + 'static> Iterator for IMap<R> {
    type Item = Result<R>;

    fn next(&mut self) -> Option<Result<R>> {
        // No deadline: the wait ends with the chunk filled, or an error.
        self.next_before(None, Duration::MAX)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.ready.len() + self.chunks.iter().map(|c| c.len).sum::<usize>();
        (left, Some(left))
    }
}
