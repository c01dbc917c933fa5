//! The iterator of `Pool::imap_unordered`: results in the order their
//! chunks finish, not the items' order.

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use super::Chunk;
use super::engine::Engine;
use super::slot::{FinishLine, Read};
use crate::error::Result;

/// The iterator of [`Pool::imap_unordered`](super::Pool::imap_unordered): results as they finish.
pub struct IMapUnordered<R> {
    pub(super) engine: Arc<Engine>,
    /// The chunks by number, each `None` once its results are taken.
    pub(super) chunks: Vec<Option<Chunk>>,
    /// The numbers of the chunks whose results are in, in the order they came.
    pub(super) finished: Arc<FinishLine>,
    /// How many chunks have not been taken, and how many items they hold.
    pub(super) chunks_left: usize,
    pub(super) items_left: usize,
    /// No chunk before this number is left (where to find one to take when
    /// none has finished: a pool that ended, or that could not go on).
    pub(super) first_untaken: usize,
    pub(super) ready: VecDeque<Result<R>>,
    pub(super) _result: PhantomData<fn() -> R>,
}

impl<R> IMapUnordered<R> {
    /// Takes chunk `number` if it is still there.
    fn take(&mut self, number: usize) -> Option<Chunk> {
        let chunk = self.chunks.get_mut(number)?.take()?;
        self.chunks_left -= 1;
        self.items_left -= chunk.len;
        Some(chunk)
    }

    /// Takes the first chunk still there, finished or not.
    fn take_any(&mut self) -> Option<Chunk> {
        while self.first_untaken < self.chunks.len() {
            let number = self.first_untaken;
            self.first_untaken += 1;
            if let Some(chunk) = self.take(number) {
                return Some(chunk);
            }
        }
        None
    }
}

impl<R: DeserializeOwned + 'static> Iterator for IMapUnordered<R> {
    type Item = Result<R>;

    fn next(&mut self) -> Option<Result<R>> {
        loop {
            if let Some(result) = self.ready.pop_front() {
                return Some(result);
            }
            if self.chunks_left == 0 {
                return None;
            }
            let finished = &self.finished;
            if let Err(err) = self.engine.wait_for(None, || finished.any()) {
                self.take_any(); // as in `IMap`: report it in one chunk's place
                return Some(Err(err));
            }
            // The first to finish of those still there; a terminated pool may
            // have left none filled.
            let chunk = loop {
                match self.finished.take() {
                    Some(number) => match self.take(number) {
                        Some(chunk) => break Some(chunk),
                        None => continue, // taken already, by `take_any`
                    },
                    None => break self.take_any(),
                }
            };
            let Some(chunk) = chunk else { continue };
            let ready = &mut self.ready;
            chunk
                .slot
                .results(chunk.len, Read::Take)
                .for_each(|result| ready.push_back(result));
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.ready.len() + self.items_left;
        (left, Some(left))
    }
}
