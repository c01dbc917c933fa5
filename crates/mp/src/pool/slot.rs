//! Where a task's results wait in the parent until someone asks for them:
//! one slot per task, filled once by whichever thread drives the pool, read
//! by the task's handle (`AsyncResult`, an `imap` iterator); and the list of
//! slots in the order they were filled, for `imap_unordered`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::de::DeserializeOwned;

use super::batch::{self, Part};
use crate::error::{Error, ErrorKind, Result};

/// Where a task's outcome waits until someone asks for it. Filled once, under
/// the engine's lock, by whichever thread is driving.
#[derive(Default)]
pub(super) struct ResultSlot {
    outcome: Mutex<Option<TaskOutcome>>,
    /// Where to say so when it is filled, and under which number: the chunks
    /// of an `imap_unordered`, whose iterator then never looks at a slot that
    /// is not done (see [`FinishLine`]).
    finish: Option<(Arc<FinishLine>, usize)>,
}

/// The numbers of the slots that have been filled, in the order they were.
/// An iterator over results in the order they finish waits for this list to
/// be non-empty, and takes the first: one look per result, however many
/// chunks are still out. (Looking at every chunk still out after each answer
/// made `imap_unordered` quadratic.)
#[derive(Default)]
pub(super) struct FinishLine(Mutex<VecDeque<usize>>);

impl FinishLine {
    fn numbers(&self) -> MutexGuard<'_, VecDeque<usize>> {
        // A push or a pop cannot panic halfway: a poisoned list is whole.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether some slot has been filled and not yet taken.
    pub(super) fn any(&self) -> bool {
        !self.numbers().is_empty()
    }

    /// The number of the slot filled first of those not yet taken.
    pub(super) fn take(&self) -> Option<usize> {
        self.numbers().pop_front()
    }
}

/// How many times a waiter has looked at a slot to see whether it is filled,
/// in this process: for the crate's tests, which count the work a wait does
/// per result instead of timing it.
static SLOT_LOOKS: AtomicU64 = AtomicU64::new(0);

/// See [`SLOT_LOOKS`].
pub(super) fn slot_looks() -> u64 {
    SLOT_LOOKS.load(Ordering::Relaxed)
}

pub(super) enum TaskOutcome {
    /// Worker `pid` sent back the chunk's results in `parts`; the items at
    /// these positions panicked, with these messages.
    Done {
        pid: u32,
        parts: Vec<Part>,
        panics: Vec<(usize, String)>,
    },
    /// The whole task failed: what each of its items reports (an
    /// `ErrorKind` can be cloned, and `get_timeout` may be called again).
    Failed(ErrorKind),
}

/// Whether reading a slot's results moves them out (for the one reader that
/// will not read them again) or copies them.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Read {
    Take,
    Copy,
}

impl ResultSlot {
    /// A slot that says on `line`, as number `number`, when it is filled.
    pub(super) fn reporting_to(line: &Arc<FinishLine>, number: usize) -> ResultSlot {
        ResultSlot {
            outcome: Mutex::default(),
            finish: Some((Arc::clone(line), number)),
        }
    }

    fn outcome(&self) -> MutexGuard<'_, Option<TaskOutcome>> {
        // Filling and reading cannot panic halfway: a poisoned slot is whole.
        self.outcome
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) fn is_filled(&self) -> bool {
        SLOT_LOOKS.fetch_add(1, Ordering::Relaxed);
        self.outcome().is_some()
    }

    pub(super) fn fill(&self, outcome: TaskOutcome) {
        let mut slot = self.outcome();
        // Each task is finished once; a second outcome cannot happen.
        if slot.is_none() {
            *slot = Some(outcome);
            if let Some((line, number)) = &self.finish {
                line.numbers().push_back(*number);
            }
        }
    }

    /// The results of the slot's chunk of `len` items.
    pub(super) fn results<R: DeserializeOwned + 'static>(
        &self,
        len: usize,
        read: Read,
    ) -> ChunkResults<R> {
        let mut outcome = self.outcome();
        let failure = match &mut *outcome {
            Some(TaskOutcome::Done { pid, parts, panics }) => {
                let pid = *pid;
                let parts = match read {
                    Read::Take => std::mem::take(parts),
                    Read::Copy => parts.clone(),
                };
                let panics = panics.clone();
                drop(outcome); // decode without holding the slot
                match batch::results_from_parts::<R>(parts, len) {
                    Ok(values)
                        if values.len() + panics.len() == len
                            && panics.iter().all(|&(at, _)| at < len)
                            && panics.windows(2).all(|pair| pair[0].0 < pair[1].0) =>
                    {
                        let errors = panics
                            .into_iter()
                            .map(|(at, message)| (at, ErrorKind::TaskPanicked { pid, message }))
                            .collect();
                        return ChunkResults { values, errors };
                    }
                    Ok(_) => ErrorKind::Deserialize(format!(
                        "worker process {pid} sent back results that do not match the {len} items sent"
                    )),
                    Err(err) => ErrorKind::Deserialize(err.to_string()),
                }
            }
            Some(TaskOutcome::Failed(failure)) => failure.clone(),
            // Only a terminated pool leaves a slot empty for its waiter.
            None => ErrorKind::PoolClosed,
        };
        ChunkResults {
            values: Vec::new(),
            errors: (0..len).map(|at| (at, failure.clone())).collect(),
        }
    }

    /// The result of a task of one item.
    pub(super) fn first_result<R: DeserializeOwned + 'static>(&self, read: Read) -> Result<R> {
        let mut first = None;
        self.results(1, read)
            .for_each(|result| first = Some(result));
        first.unwrap_or_else(|| Err(ErrorKind::PoolClosed.into()))
    }
}

/// A chunk's results, decoded: the values of the items that succeeded, in
/// order, and the position and failure of each item that did not, by position.
pub(super) struct ChunkResults<R> {
    values: Vec<R>,
    errors: Vec<(usize, ErrorKind)>,
}

impl<R> ChunkResults<R> {
    /// The values, if no item failed; else the first failed item's error.
    pub(super) fn into_values(self) -> Result<Vec<R>> {
        match self.errors.first() {
            None => Ok(self.values),
            Some((_, failure)) => Err(Error::new(failure.clone())),
        }
    }

    /// Hands `each` every item's result, in order.
    pub(super) fn for_each(self, mut each: impl FnMut(Result<R>)) {
        let mut values = self.values.into_iter();
        let mut errors = self.errors.into_iter().peekable();
        for index in 0.. {
            if let Some((_, failure)) = errors.next_if(|&(at, _)| at == index) {
                each(Err(Error::new(failure)));
            } else if let Some(value) = values.next() {
                each(Ok(value));
            } else {
                break;
            }
        }
    }
}
