//! A queue that counts unfinished tasks: Python's `multiprocessing.JoinableQueue`.
//!
//! # How it works
//!
//! It is a [`Queue`] plus one 32-bit counter in shared memory, the number of
//! *unfinished tasks*: `put` adds one before the item goes in, `task_done`
//! takes one away. `join` sleeps on the counter's word with a futex (see
//! `sync/wait.rs`) until it reaches zero; the `task_done` that brings it to
//! zero wakes every sleeper, in every process.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::queue::{Queue, TryPutError};
use crate::error::{Error, ErrorKind, Result};
use crate::region::Region;
use crate::sync::wait::{Waited, futex_wake, wait_on};

/// A [`Queue`] whose consumers say when they have finished each item, so that
/// a producer can wait until every item put has been dealt with (Python's
/// `multiprocessing.JoinableQueue`).
///
/// ```
/// use mp::{JoinableQueue, Process};
///
/// fn worker(q: JoinableQueue<Option<u64>>) {
///     while let Ok(Some(n)) = q.get() {
///         println!("working on {n}");
///         q.task_done().unwrap(); // one per item taken
///     }
/// }
///
/// fn main() -> mp::Result<()> {
///     mp::init();
///     let q = JoinableQueue::new()?;
///     let mut p = Process::new(worker, q.clone());
///     p.start()?;
///     for n in 0..3 {
///         q.put(Some(n))?;
///     }
///     q.join()?; // every item has been taken and finished
///     q.put(None)?; // no more work: the worker stops...
///     p.join()?; // ...and ends (its `task_done` for `None` is not needed)
///     Ok(())
/// }
/// ```
///
/// Each [`JoinableQueue::put`] adds one unfinished task; each
/// [`JoinableQueue::task_done`] finishes one. Calling `task_done` more often
/// than items were put is [`ErrorKind::TaskDoneTooOften`] (Python's
/// `ValueError`). A clone is the same queue and the same count.
///
/// # When `join` gives up instead of waiting forever
///
/// Python's `join()` waits forever if a consumer took an item and died before
/// its `task_done`. Here `join` waits in slices; after a slice in which
/// nothing changed, if nobody is left who could call `task_done` (no other
/// thread in this process, no child it started still running, no living
/// parent), it returns [`ErrorKind::WaitAbandoned`]. While some other process or thread lives, it waits:
/// the crate cannot tell whether that one will call `task_done`.
pub struct JoinableQueue<T> {
    queue: Queue<T>,
    /// The count of unfinished tasks.
    tasks: Region<AtomicU32>,
}

impl<T> Clone for JoinableQueue<T> {
    fn clone(&self) -> Self {
        JoinableQueue {
            queue: self.queue.clone(),
            tasks: self.tasks.clone(),
        }
    }
}

impl<T: Serialize + DeserializeOwned + 'static> JoinableQueue<T> {
    /// Makes an empty queue with no unfinished task (Python's
    /// `JoinableQueue()`).
    pub fn new() -> Result<Self> {
        // Fresh shared memory is zeroed: the count starts at 0.
        let tasks = Region::new("JoinableQueue", 0, |_, _| {})?;
        Ok(JoinableQueue {
            queue: Queue::new()?,
            tasks,
        })
    }

    /// Adds `item` at the back, and one unfinished task (Python's `put`).
    /// Errors as [`Queue::put`]; an item that could not be put adds no task.
    pub fn put(&self, item: T) -> Result<()> {
        self.counted(|queue| queue.put(item))
    }

    /// Adds `item` if the pipe has room now, and then one unfinished task
    /// (Python's `put_nowait`); see [`Queue::try_put`], which gives the item
    /// back when the queue is full.
    pub fn try_put(&self, item: T) -> std::result::Result<(), TryPutError<T>> {
        let mut refused = None;
        let put = self.counted(|queue| {
            queue.try_put(item).map_err(|err| match err {
                TryPutError::Full(item) => {
                    refused = Some(item);
                    Error::from(ErrorKind::QueueFull)
                }
                TryPutError::Failed(err) => err,
            })
        });
        put.map_err(|err| match refused.take() {
            Some(item) => TryPutError::Full(item),
            None => TryPutError::Failed(err),
        })
    }

    /// Takes the item at the front, waiting for one (Python's `get`); call
    /// [`JoinableQueue::task_done`] once you have dealt with it. See
    /// [`Queue::get`] for when it gives up.
    pub fn get(&self) -> Result<T> {
        self.queue.get()
    }

    /// Like [`JoinableQueue::get`], waiting at most `timeout`; see
    /// [`Queue::get_timeout`].
    pub fn get_timeout(&self, timeout: Duration) -> Result<T> {
        self.queue.get_timeout(timeout)
    }

    /// Takes the item at the front if one is there now (Python's
    /// `get_nowait`); see [`Queue::try_get`].
    pub fn try_get(&self) -> Result<T> {
        self.queue.try_get()
    }

    /// Says that one item taken from the queue has been dealt with (Python's
    /// `task_done`). When no unfinished task is left, every `join` returns.
    ///
    /// Calling it more often than items were put is
    /// [`ErrorKind::TaskDoneTooOften`], and changes nothing.
    pub fn task_done(&self) -> Result<()> {
        let unfinished = self.unfinished();
        let mut seen = unfinished.load(Ordering::Acquire);
        loop {
            if seen == 0 {
                return Err(ErrorKind::TaskDoneTooOften.into());
            }
            match unfinished.compare_exchange_weak(
                seen,
                seen - 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(now) => seen = now,
            }
        }
        if seen == 1 {
            futex_wake(unfinished, i32::MAX);
        }
        Ok(())
    }

    /// Waits until every item put has been taken and marked done with
    /// [`JoinableQueue::task_done`] (Python's `join`). Gives up with
    /// [`ErrorKind::WaitAbandoned`] when nobody is left who could call
    /// `task_done` (see the type's docs).
    pub fn join(&self) -> Result<()> {
        self.wait(None).map(drop)
    }

    /// Like [`JoinableQueue::join`], waiting at most `timeout`: `Ok(false)`
    /// if tasks are still unfinished then. (Python's `join` takes no timeout.)
    pub fn join_timeout(&self, timeout: Duration) -> Result<bool> {
        self.wait(Some(timeout))
    }

    /// How many items are in the queue right now (Python's `qsize()`); see
    /// [`Queue::qsize`]. Items taken but not yet marked done are not counted.
    pub fn qsize(&self) -> usize {
        self.queue.qsize()
    }

    /// Whether the queue is empty right now (Python's `empty()`).
    pub fn empty(&self) -> Result<bool> {
        self.queue.empty()
    }

    /// Whether the queue is full right now (Python's `full()`).
    pub fn full(&self) -> Result<bool> {
        self.queue.full()
    }

    /// This process will put and get no more (Python's `close()`); see
    /// [`Queue::close`]. It may still call `task_done` and `join`.
    pub fn close(&self) {
        self.queue.close();
    }

    fn unfinished(&self) -> &AtomicU32 {
        self.tasks.header()
    }

    /// Adds one unfinished task, then runs `put`; takes the task back if the
    /// item did not go in. The task is counted first so that a consumer's
    /// `task_done` can never come before it.
    fn counted(&self, put: impl FnOnce(&Queue<T>) -> Result<()>) -> Result<()> {
        let unfinished = self.unfinished();
        if unfinished.fetch_add(1, Ordering::AcqRel) == u32::MAX {
            unfinished.fetch_sub(1, Ordering::AcqRel);
            return Err(ErrorKind::InvalidArgument(
                "a JoinableQueue counts at most 4,294,967,295 unfinished tasks; \
                 call task_done for the items already taken",
            )
            .into());
        }
        let put = put(&self.queue);
        if put.is_err() && unfinished.fetch_sub(1, Ordering::AcqRel) == 1 {
            futex_wake(unfinished, i32::MAX);
        }
        put
    }

    fn wait(&self, timeout: Option<Duration>) -> Result<bool> {
        let unfinished = self.unfinished();
        match wait_on(unfinished, timeout, |n| (n == 0).then_some(()), || None) {
            Waited::Ready(()) => Ok(true),
            Waited::TimedOut => Ok(false),
            Waited::Abandoned => Err(ErrorKind::WaitAbandoned {
                what: "JoinableQueue::join",
            }
            .into()),
        }
    }
}

impl<T> fmt::Debug for JoinableQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinableQueue")
            .field("queue", &self.queue)
            .finish_non_exhaustive()
    }
}

/// A joinable queue travels in a process's start arguments as its queue and
/// its counter's shared memory (see [`Queue`]'s docs on sending a queue).
impl<T> Serialize for JoinableQueue<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (&self.queue, &self.tasks).serialize(s)
    }
}

impl<'de, T> Deserialize<'de> for JoinableQueue<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (queue, tasks) = <(Queue<T>, Region<AtomicU32>)>::deserialize(d)?;
        Ok(JoinableQueue { queue, tasks })
    }
}
