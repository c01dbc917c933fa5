//! A pool of worker processes: Python's `multiprocessing.Pool`.
//!
//! # How it works
//!
//! Each worker is an ordinary [`Process`] running `worker_main`, so both start
//! methods work. It has two pipes of its own: tasks go down one, results come
//! back up the other (`channel.rs` frames the bytes into messages). A task is
//! a [`RemoteFn`] with its serialized arguments; `map` sends a whole chunk of
//! arguments as one task, so a hundred thousand tiny items cost a handful of
//! messages, not a hundred thousand.
//!
//! The parent gives each worker **one task at a time**. So it always knows
//! which task a worker is running, and when a worker dies (killed, aborted),
//! its result pipe reports end of file and the parent knows exactly which task
//! died with it: it reaps the worker, fails that one task with
//! [`ErrorKind::WorkerDied`], starts a replacement, and goes on. Python's
//! `Pool` waits forever for such a task.
//!
//! There is **no background thread** in the parent. A process that forks while
//! another of its threads holds a lock (stdout's, the allocator's) gives the
//! child a lock that nobody will ever release, and the pool forks a
//! replacement whenever a worker dies. So the pool is driven by whoever waits
//! on it: `apply_async` hands the task to an idle worker at once, and `get`,
//! `map`, the `imap` iterators and `join` collect results, hand out the tasks
//! still waiting, and replace dead workers while they wait. If several
//! threads wait at once, one of them drives and the others sleep until their
//! result is in.
//!
//! Results wait in a small shared slot per task (an `Arc`), never in a pipe or
//! a file of their own: a hundred thousand outstanding tasks use no more open
//! files than one.

use std::collections::VecDeque;
use std::fmt;
use std::fs::File;
use std::marker::PhantomData;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::channel::{FrameReader, FrameWriter, MAX_FRAME};
use crate::error::{Error, ErrorKind, Result};
use crate::function::{self, BatchResults, RemoteFn};
use crate::process::{ExitStatus, Process, StartMethod, panic_message};
use crate::{inherit, sys};

/// A pool of worker processes (Python's `multiprocessing.Pool`).
///
/// The tutorial's three calls:
///
/// ```
/// fn job(x: u64) -> u64 {
///     x * x
/// }
///
/// fn main() -> mp::Result<()> {
///     mp::init(); // first line of main: needed by the spawn start method
///     let pool = mp::Pool::new(3)?;
///     assert_eq!(pool.map(job, 0..10)?, [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]);
///     assert_eq!(pool.apply_async(job, 2)?.get()?, 4);
///     let handles: Vec<_> = (0..10).map(|i| pool.apply_async(job, i)).collect::<mp::Result<_>>()?;
///     let results: Vec<u64> = handles.into_iter().map(|h| h.get()).collect::<mp::Result<_>>()?;
///     assert_eq!(results, [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]);
///     Ok(())
/// }
/// ```
///
/// Work starts as soon as you submit it, as far as there are idle workers;
/// the rest is handed out, and results are collected, while some thread waits
/// on the pool (in [`AsyncResult::get`], `map`, an `imap` iterator or
/// [`Pool::join`]): there is no background thread (see the module's source).
///
/// A task that panics gives [`ErrorKind::TaskPanicked`] with the panic's
/// message, and its worker goes on. A worker that dies mid-task gives
/// [`ErrorKind::WorkerDied`] for that task, with the worker's pid and exit
/// status; the pool starts a replacement and every other task completes.
///
/// Dropping the pool terminates it (see [`Pool::terminate`]): to be sure every
/// task has run, collect the results or call [`Pool::join`] first.
pub struct Pool {
    engine: Arc<Engine>,
}

impl Pool {
    /// Starts `processes` worker processes with the default start method
    /// (Python's `Pool(processes=3)`). Python's default is one per CPU: that
    /// is `std::thread::available_parallelism()`.
    pub fn new(processes: usize) -> Result<Self> {
        Pool::with_start_method(processes, StartMethod::default())
    }

    /// Starts `processes` worker processes with the given start method.
    /// Spawned workers need [`crate::init`] as the first line of `main`.
    pub fn with_start_method(processes: usize, method: StartMethod) -> Result<Self> {
        if processes == 0 {
            return Err(ErrorKind::InvalidArgument(
                "Pool::new(0): a pool needs at least one worker process; \
                 ask for 1 or more (one per CPU is std::thread::available_parallelism())",
            )
            .into());
        }
        let engine = Arc::new(Engine {
            state: Mutex::new(State {
                size: processes,
                method,
                workers: Vec::with_capacity(processes),
                pending: VecDeque::new(),
                closed: false,
                ended: false,
                driving: false,
                started: 0,
            }),
            changed: Condvar::new(),
        });
        let pool = Pool { engine };
        pool.engine.lock().refill()?; // on failure, dropping `pool` ends those already started
        Ok(pool)
    }

    /// Applies `job` to every item, in parallel, and returns the results in
    /// the items' order (Python's `map`).
    ///
    /// Items travel in chunks of `ceil(len / (4 × processes))`, as in Python:
    /// few messages, and still enough chunks to keep every worker busy. If
    /// some items fail, the error returned is the first failing item's, and
    /// only once every chunk is done.
    pub fn map<A, R>(&self, job: fn(A) -> R, items: impl IntoIterator<Item = A>) -> Result<Vec<R>>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        let items: Vec<A> = items.into_iter().collect();
        let chunksize = items.len().div_ceil(4 * self.processes()).max(1);
        self.map_chunked(job, items, chunksize)
    }

    /// Like [`Pool::map`], with `chunksize` items per message (Python's
    /// `map(job, items, chunksize)`). Larger chunks cost fewer messages;
    /// smaller ones share uneven work out more evenly.
    pub fn map_chunked<A, R>(
        &self,
        job: fn(A) -> R,
        items: impl IntoIterator<Item = A>,
        chunksize: usize,
    ) -> Result<Vec<R>>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        let items: Vec<A> = items.into_iter().collect();
        let chunks = self.submit_chunks(job, &items, chunksize)?;
        let mut results = Vec::with_capacity(items.len());
        drop(items); // the workers have their own copies now
        // Take the chunks in order, each as soon as it is in: decoding one
        // overlaps with the workers' running the next.
        let mut first_error = None;
        for chunk in &chunks {
            self.engine.wait_until(None, |_| chunk.slot.is_filled())?;
            let ChunkResults { values, errors } = chunk.slot.results::<R>(chunk.len);
            if let Some((_, failure)) = errors.first() {
                first_error.get_or_insert_with(|| failure.to_error());
            }
            if first_error.is_none() {
                results.extend(values);
            }
        }
        match first_error {
            None => Ok(results),
            Some(err) => Err(err),
        }
    }

    /// Like [`Pool::map`], but returns an iterator that yields each result,
    /// in order, as soon as it and those before it are in (Python's `imap`).
    /// Items travel one per message, as in Python: see [`Pool::imap_chunked`].
    pub fn imap<A, R>(&self, job: fn(A) -> R, items: impl IntoIterator<Item = A>) -> Result<IMap<R>>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        self.imap_chunked(job, items, 1)
    }

    /// Like [`Pool::imap`], with `chunksize` items per message.
    pub fn imap_chunked<A, R>(
        &self,
        job: fn(A) -> R,
        items: impl IntoIterator<Item = A>,
        chunksize: usize,
    ) -> Result<IMap<R>>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        let items: Vec<A> = items.into_iter().collect();
        Ok(IMap {
            engine: Arc::clone(&self.engine),
            chunks: self.submit_chunks(job, &items, chunksize)?.into(),
            ready: VecDeque::new(),
            _result: PhantomData,
        })
    }

    /// Like [`Pool::imap`], but yields results in the order they finish
    /// (Python's `imap_unordered`).
    pub fn imap_unordered<A, R>(
        &self,
        job: fn(A) -> R,
        items: impl IntoIterator<Item = A>,
    ) -> Result<IMapUnordered<R>>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        self.imap_unordered_chunked(job, items, 1)
    }

    /// Like [`Pool::imap_unordered`], with `chunksize` items per message.
    pub fn imap_unordered_chunked<A, R>(
        &self,
        job: fn(A) -> R,
        items: impl IntoIterator<Item = A>,
        chunksize: usize,
    ) -> Result<IMapUnordered<R>>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        let items: Vec<A> = items.into_iter().collect();
        Ok(IMapUnordered {
            engine: Arc::clone(&self.engine),
            chunks: self.submit_chunks(job, &items, chunksize)?,
            ready: VecDeque::new(),
            _result: PhantomData,
        })
    }

    /// Starts `job(arg)` on a worker and returns at once (Python's
    /// `apply_async`); [`AsyncResult::get`] waits for the result.
    ///
    /// Python passes the arguments as a tuple, `apply_async(job, (2,))`; here
    /// a single argument goes as it is, and several as a tuple.
    pub fn apply_async<A, R>(&self, job: fn(A) -> R, arg: A) -> Result<AsyncResult<R>>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        // A task of one: the same path as a chunk of `map`.
        let chunk = self.submit_chunks(job, std::slice::from_ref(&arg), 1)?;
        Ok(AsyncResult {
            engine: Arc::clone(&self.engine),
            slot: Arc::clone(&chunk[0].slot),
            _result: PhantomData,
        })
    }

    /// Takes no more work (Python's `close`): submitting afterwards is
    /// [`ErrorKind::PoolClosed`]. Work already submitted still runs.
    pub fn close(&self) {
        self.engine.lock().closed = true;
    }

    /// Waits until all submitted work is done, then lets the workers exit and
    /// reaps them (Python's `join`). The results stay in their
    /// [`AsyncResult`]s. Python requires `close()` first; here `join` closes
    /// the pool itself.
    pub fn join(&self) -> Result<()> {
        self.close();
        self.engine.wait_until(None, State::all_done)?;
        self.engine.stop_workers();
        Ok(())
    }

    /// Stops the workers at once, with `SIGKILL`, and reaps them (Python's
    /// `terminate`). Tasks that had not finished give [`ErrorKind::PoolClosed`].
    /// Dropping the pool does the same.
    pub fn terminate(&self) {
        self.engine.terminate();
    }

    /// The number of worker processes.
    pub fn processes(&self) -> usize {
        self.engine.lock().size
    }

    /// Cuts `items` into chunks and queues one task per chunk.
    fn submit_chunks<A, R>(
        &self,
        job: fn(A) -> R,
        items: &[A],
        chunksize: usize,
    ) -> Result<Vec<Chunk>>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        if chunksize == 0 {
            return Err(ErrorKind::InvalidArgument(
                "a chunksize of 0 puts no item in a chunk; pass 1 or more",
            )
            .into());
        }
        let function = RemoteFn::new_batch(job);
        let mut chunks = Vec::with_capacity(items.len().div_ceil(chunksize));
        if items.is_empty() {
            self.engine.ensure_open()?;
        }
        for items in items.chunks(chunksize) {
            let input = function::to_bytes(items)?;
            if input.len() > MAX_FRAME - MAX_ORDER {
                return Err(ErrorKind::MessageTooLarge {
                    len: input.len(),
                    max: MAX_FRAME - MAX_ORDER,
                }
                .into());
            }
            let slot = Arc::new(Slot::default());
            // Each chunk goes out as soon as it is serialized: the workers
            // start on the first ones while the rest are still being made.
            self.engine.submit(Task {
                function,
                input,
                slot: Arc::clone(&slot),
            })?;
            chunks.push(Chunk {
                slot,
                len: items.len(),
            });
        }
        Ok(chunks)
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.engine.terminate();
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.engine.lock();
        f.debug_struct("Pool")
            .field("processes", &state.size)
            .field("method", &state.method)
            .field("closed", &state.closed)
            .finish_non_exhaustive()
    }
}

/// The result of [`Pool::apply_async`], to come (Python's `AsyncResult`).
pub struct AsyncResult<R> {
    engine: Arc<Engine>,
    slot: Arc<Slot>,
    /// `fn() -> R`: the handle gives out an `R`, holds none, and can move
    /// between threads whatever `R` is.
    _result: PhantomData<fn() -> R>,
}

impl<R: DeserializeOwned> AsyncResult<R> {
    /// Waits for the result.
    pub fn get(self) -> Result<R> {
        self.engine.wait_until(None, |_| self.slot.is_filled())?;
        self.slot.first_result()
    }

    /// Waits at most `timeout` for the result: [`ErrorKind::Timeout`] if it
    /// is not in by then. The task goes on; you can wait again.
    pub fn get_timeout(&self, timeout: Duration) -> Result<R> {
        let deadline = Instant::now() + timeout;
        if !self
            .engine
            .wait_until(Some(deadline), |_| self.slot.is_filled())?
        {
            return Err(ErrorKind::Timeout {
                what: "AsyncResult::get_timeout",
                after: timeout,
            }
            .into());
        }
        self.slot.first_result()
    }
}

impl<R> fmt::Debug for AsyncResult<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncResult")
            .field("ready", &self.slot.is_filled())
            .finish_non_exhaustive()
    }
}

/// The iterator of [`Pool::imap`]: results in the items' order.
pub struct IMap<R> {
    engine: Arc<Engine>,
    chunks: VecDeque<Chunk>,
    ready: VecDeque<Result<R>>,
    _result: PhantomData<fn() -> R>,
}

impl<R: DeserializeOwned> Iterator for IMap<R> {
    type Item = Result<R>;

    fn next(&mut self) -> Option<Result<R>> {
        loop {
            if let Some(result) = self.ready.pop_front() {
                return Some(result);
            }
            let chunk = self.chunks.pop_front()?;
            if let Err(err) = self.engine.wait_until(None, |_| chunk.slot.is_filled()) {
                // The pool could not go on (say, a replacement worker could
                // not start): this chunk's place in the sequence reports why.
                return Some(Err(err));
            }
            let ready = &mut self.ready;
            chunk
                .slot
                .results(chunk.len)
                .for_each(|result| ready.push_back(result));
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.ready.len() + self.chunks.iter().map(|c| c.len).sum::<usize>();
        (left, Some(left))
    }
}

/// The iterator of [`Pool::imap_unordered`]: results as they finish.
pub struct IMapUnordered<R> {
    engine: Arc<Engine>,
    chunks: Vec<Chunk>,
    ready: VecDeque<Result<R>>,
    _result: PhantomData<fn() -> R>,
}

impl<R: DeserializeOwned> Iterator for IMapUnordered<R> {
    type Item = Result<R>;

    fn next(&mut self) -> Option<Result<R>> {
        loop {
            if let Some(result) = self.ready.pop_front() {
                return Some(result);
            }
            if self.chunks.is_empty() {
                return None;
            }
            let chunks = &self.chunks;
            if let Err(err) = self
                .engine
                .wait_until(None, |_| chunks.iter().any(|c| c.slot.is_filled()))
            {
                self.chunks.pop(); // as in `IMap`: report it in one chunk's place
                return Some(Err(err));
            }
            // After an error above, or a terminated pool, no slot may be filled.
            let index = self
                .chunks
                .iter()
                .position(|c| c.slot.is_filled())
                .unwrap_or(0);
            let chunk = self.chunks.swap_remove(index);
            let ready = &mut self.ready;
            chunk
                .slot
                .results(chunk.len)
                .for_each(|result| ready.push_back(result));
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.ready.len() + self.chunks.iter().map(|c| c.len).sum::<usize>();
        (left, Some(left))
    }
}

// ---------------------------------------------------------------------------
// The parent's side: the engine.

/// Everything the pool shares with its handles (`AsyncResult`, the `imap`
/// iterators), which drive it too.
struct Engine {
    state: Mutex<State>,
    /// Signalled when results are stored, and when the driver steps down so
    /// that another waiting thread can take over.
    changed: Condvar,
}

struct State {
    /// How many workers the pool keeps running.
    size: usize,
    method: StartMethod,
    workers: Vec<Worker>,
    /// Tasks no worker has yet, oldest first.
    pending: VecDeque<Task>,
    /// No new work is taken.
    closed: bool,
    /// The workers are gone, joined or terminated: nothing will run any more.
    ended: bool,
    /// Some thread is driving the pool: only it reads the result pipes.
    driving: bool,
    /// Workers started so far, to name them as Python does (`ForkPoolWorker-3`).
    started: usize,
}

struct Worker {
    process: Process,
    pid: u32,
    tasks: FrameWriter,
    results: FrameReader,
    /// The slot of the task it is running; `None` when idle.
    running: Option<Arc<Slot>>,
    /// A task could not be written to it: it has died, and its end-of-file
    /// will come up on the result pipe. Give it nothing more meanwhile.
    broken: bool,
}

/// A unit of work for one worker: a chunk of items for one function.
struct Task {
    function: RemoteFn,
    /// The chunk's items, serialized as a `Vec<A>`.
    input: Vec<u8>,
    slot: Arc<Slot>,
}

/// A chunk, as its submitter sees it.
struct Chunk {
    slot: Arc<Slot>,
    /// How many items it holds.
    len: usize,
}

/// Where a task's outcome waits until someone asks for it. Filled once, under
/// the engine's lock, by whichever thread is driving.
#[derive(Default)]
struct Slot(OnceLock<Outcome>);

enum Outcome {
    /// Worker `pid` sent back `frame`, which holds, from `start` on, the
    /// serialized `Vec<Result<R, String>>` of the chunk.
    Done {
        pid: u32,
        frame: Vec<u8>,
        start: usize,
    },
    /// The whole task failed.
    Failed(Failure),
}

/// Why a whole task failed. Unlike `Error`, it can be cloned: every item of a
/// failed chunk reports it, and `get_timeout` may be called again.
#[derive(Clone, Debug)]
enum Failure {
    Panicked {
        pid: u32,
        message: String,
    },
    Died {
        pid: u32,
        status: ExitStatus,
    },
    Serialize(String),
    Deserialize(String),
    TooLarge(usize),
    /// The worker died, and could not even be waited for.
    Lost {
        errno: i32,
    },
    /// The pool was terminated first.
    Cancelled,
}

impl Failure {
    fn to_error(&self) -> Error {
        let kind = match self.clone() {
            Failure::Panicked { pid, message } => ErrorKind::TaskPanicked { pid, message },
            Failure::Died { pid, status } => ErrorKind::WorkerDied { pid, status },
            Failure::Serialize(message) => ErrorKind::Serialize(message),
            Failure::Deserialize(message) => ErrorKind::Deserialize(message),
            Failure::TooLarge(len) => ErrorKind::MessageTooLarge {
                len,
                max: MAX_FRAME - MAX_REPLY,
            },
            Failure::Lost { errno } => ErrorKind::Os {
                what: "wait for a pool worker that died",
                source: std::io::Error::from_raw_os_error(errno),
            },
            Failure::Cancelled => ErrorKind::PoolClosed,
        };
        Error::new(kind)
    }
}

impl Slot {
    fn is_filled(&self) -> bool {
        self.0.get().is_some()
    }

    fn fill(&self, outcome: Outcome) {
        // Each task is finished once; a second outcome cannot happen.
        let _ = self.0.set(outcome);
    }

    /// The results of the slot's chunk of `len` items.
    fn results<R: DeserializeOwned>(&self, len: usize) -> ChunkResults<R> {
        let failure = match self.0.get() {
            Some(&Outcome::Done {
                pid,
                ref frame,
                start,
            }) => match function::from_bytes::<BatchResults<R>>(&frame[start..]) {
                Ok((values, panics))
                    if values.len() + panics.len() == len
                        && panics.iter().all(|&(at, _)| at < len)
                        && panics.windows(2).all(|pair| pair[0].0 < pair[1].0) =>
                {
                    let errors = panics
                        .into_iter()
                        .map(|(at, message)| (at, Failure::Panicked { pid, message }))
                        .collect();
                    return ChunkResults { values, errors };
                }
                Ok(_) => Failure::Deserialize(format!(
                    "worker process {pid} sent back results that do not match the {len} items sent"
                )),
                Err(err) => Failure::Deserialize(err.to_string()),
            },
            Some(Outcome::Failed(failure)) => failure.clone(),
            // Only a terminated pool leaves a slot empty for its waiter.
            None => Failure::Cancelled,
        };
        ChunkResults {
            values: Vec::new(),
            errors: (0..len).map(|at| (at, failure.clone())).collect(),
        }
    }

    /// The result of a task of one item.
    fn first_result<R: DeserializeOwned>(&self) -> Result<R> {
        let mut first = None;
        self.results(1).for_each(|result| first = Some(result));
        first.unwrap_or_else(|| Err(ErrorKind::PoolClosed.into()))
    }
}

/// A chunk's results, decoded: the values of the items that succeeded, in
/// order, and the position and failure of each item that did not, by position.
struct ChunkResults<R> {
    values: Vec<R>,
    errors: Vec<(usize, Failure)>,
}

impl<R> ChunkResults<R> {
    /// Hands `each` every item's result, in order.
    fn for_each(self, mut each: impl FnMut(Result<R>)) {
        let mut values = self.values.into_iter();
        let mut errors = self.errors.into_iter().peekable();
        for index in 0.. {
            if let Some((_, failure)) = errors.next_if(|&(at, _)| at == index) {
                each(Err(failure.to_error()));
            } else if let Some(value) = values.next() {
                each(Ok(value));
            } else {
                break;
            }
        }
    }
}

impl Engine {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-changed
        // in a way that matters more than hanging every later caller would.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `Ok` if the pool takes new work.
    fn ensure_open(&self) -> Result<()> {
        match self.lock().closed {
            true => Err(ErrorKind::PoolClosed.into()),
            false => Ok(()),
        }
    }

    /// Queues `task` and gives it to an idle worker, if there is one.
    fn submit(&self, task: Task) -> Result<()> {
        let mut state = self.lock();
        if state.closed {
            return Err(ErrorKind::PoolClosed.into());
        }
        state.pending.push_back(task);
        state.dispatch();
        if !state.pending.is_empty() && !state.driving {
            // Every worker is busy. Collect whatever has finished meanwhile,
            // without waiting, so that those workers get the next tasks now.
            // (An error here, such as a replacement that cannot start, will
            // come up again where someone waits; the task is queued.)
            state.driving = true;
            let (mut state, _) = self.step(state, Some(Duration::ZERO));
            state.driving = false;
            drop(state);
            self.changed.notify_all();
        }
        Ok(())
    }

    /// Waits until `done` holds, driving the pool meanwhile (or sleeping while
    /// another thread drives it). `Ok(false)` if `deadline` passed first.
    fn wait_until(&self, deadline: Option<Instant>, done: impl Fn(&State) -> bool) -> Result<bool> {
        let mut state = self.lock();
        loop {
            // An ended pool has filled every slot: nothing more will come.
            if done(&state) || state.ended {
                return Ok(true);
            }
            let timeout = match deadline {
                None => None,
                Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => Some(left),
                    _ => return Ok(false),
                },
            };
            if state.driving {
                state = match timeout {
                    None => self.changed.wait(state).unwrap_or_else(|p| p.into_inner()),
                    Some(timeout) => match self.changed.wait_timeout(state, timeout) {
                        Ok((state, _)) => state,
                        Err(poisoned) => poisoned.into_inner().0,
                    },
                };
                continue;
            }
            state.driving = true;
            let (next, stepped) = self.step(state, timeout);
            state = next;
            state.driving = false;
            // Wake the other waiters: their result may be in, and one of them
            // may have to drive now.
            self.changed.notify_all();
            stepped?;
        }
    }

    /// One turn of the engine, by the thread that drives: start replacements
    /// for dead workers, give pending tasks to idle workers, wait (at most
    /// `timeout`) for some worker to answer or die, and collect the answers.
    ///
    /// The lock is released while waiting, so that other threads can submit
    /// work meanwhile; the guard comes back with the lock held again.
    fn step<'a>(
        &'a self,
        mut state: MutexGuard<'a, State>,
        timeout: Option<Duration>,
    ) -> (MutexGuard<'a, State>, Result<()>) {
        if let Err(err) = state.refill() {
            return (state, Err(err));
        }
        state.dispatch();
        // Watch every worker, idle ones too: that is how a death is noticed.
        // Each `Arc<File>` keeps its pipe open while we wait without the lock,
        // even if the pool is terminated meanwhile.
        let watched: Vec<(u32, Arc<File>)> = state
            .workers
            .iter()
            .map(|w| (w.pid, w.results.file()))
            .collect();
        if watched.is_empty() {
            return (state, Ok(()));
        }
        drop(state);
        let fds: Vec<BorrowedFd<'_>> = watched.iter().map(|(_, file)| file.as_fd()).collect();
        let ready = sys::poll_readable(&fds, timeout);
        let mut state = self.lock();
        let ready = match ready {
            Ok(ready) => ready,
            Err(err) => return (state, Err(Error::os("wait for the pool's workers", err))),
        };
        for index in ready {
            // Only the driver removes workers, and only a terminated pool
            // (which starts none) removes them behind its back: a pid still
            // in the list is the worker we watched.
            let pid = watched[index].0;
            if let Some(position) = state.workers.iter().position(|w| w.pid == pid) {
                state.collect(position);
            }
        }
        state.dispatch();
        (state, Ok(()))
    }

    /// Ends the workers of a pool whose work is all done: each gets a stop
    /// order, finishes, and is reaped.
    fn stop_workers(&self) {
        let mut state = self.lock();
        if state.ended {
            return;
        }
        state.ended = true;
        let stop = function::to_bytes(&Order::Stop).unwrap_or_default();
        for worker in &mut state.workers {
            // A worker that died meanwhile cannot read it; join still reaps it.
            let _ = worker.tasks.send(&stop, &[]);
        }
        for mut worker in state.workers.drain(..) {
            let _ = worker.process.join();
        }
        drop(state);
        self.changed.notify_all();
    }

    /// Kills and reaps every worker; every unfinished task is cancelled.
    fn terminate(&self) {
        let mut state = self.lock();
        state.closed = true;
        state.ended = true;
        for task in state.pending.drain(..) {
            task.slot.fill(Outcome::Failed(Failure::Cancelled));
        }
        // Kill them all first, then reap: they die in parallel.
        for worker in &state.workers {
            let _ = worker.process.kill();
        }
        for mut worker in state.workers.drain(..) {
            let _ = worker.process.join();
            if let Some(slot) = worker.running.take() {
                slot.fill(Outcome::Failed(Failure::Cancelled));
            }
        }
        drop(state);
        self.changed.notify_all();
    }
}

impl State {
    /// Whether all submitted work is done (`join`'s condition).
    fn all_done(&self) -> bool {
        self.pending.is_empty() && self.workers.iter().all(|w| w.running.is_none())
    }

    /// Starts workers until there are `size` of them again.
    fn refill(&mut self) -> Result<()> {
        while !self.ended && self.workers.len() < self.size {
            self.start_worker()?;
        }
        Ok(())
    }

    fn start_worker(&mut self) -> Result<()> {
        let pipe = |()| sys::pipe().map_err(|e| Error::os("make a pipe for a pool worker", e));
        let (task_reader, task_writer) = pipe(())?;
        let (result_reader, result_writer) = pipe(())?;
        // A forked worker gets a copy of every descriptor the parent holds,
        // the parent's ends of every worker's pipes included. It closes them
        // first thing, or one worker's copy of another's task pipe would keep
        // that pipe open after the parent has gone.
        let mut inherited: Vec<RawFd> = self
            .workers
            .iter()
            .flat_map(|w| [w.tasks.fd().as_raw_fd(), w.results.fd().as_raw_fd()])
            .collect();
        inherited.extend([task_writer.as_raw_fd(), result_reader.as_raw_fd()]);
        let args = WorkerArgs {
            tasks: task_reader,
            results: result_writer,
            parent: std::process::id(),
            inherited,
        };
        self.started += 1;
        let kind = match self.method {
            StartMethod::Fork => "Fork",
            StartMethod::Spawn => "Spawn",
        };
        let mut process = Process::new(worker_main, args)
            .named(format!("{kind}PoolWorker-{}", self.started))
            .start_method(self.method)
            .daemon(true);
        // Starting consumes `args`: the parent's copies of the worker's ends
        // close here, so the worker is the only writer of its result pipe, and
        // its death reads as end of file.
        process.start()?;
        let pid = process.pid().expect("a started process has a pid");
        self.workers.push(Worker {
            process,
            pid,
            tasks: FrameWriter::new(task_writer),
            results: FrameReader::new(result_reader),
            running: None,
            broken: false,
        });
        Ok(())
    }

    /// Gives pending tasks to idle workers, oldest task first.
    fn dispatch(&mut self) {
        for worker in &mut self.workers {
            if self.pending.is_empty() {
                break;
            }
            if worker.running.is_some() || worker.broken {
                continue;
            }
            let Some(task) = self.pending.pop_front() else {
                break;
            };
            let order = match function::to_bytes(&Order::Run(task.function)) {
                Ok(order) => order,
                Err(err) => {
                    let failure = Failure::Serialize(err.to_string());
                    task.slot.fill(Outcome::Failed(failure));
                    continue;
                }
            };
            match worker.tasks.send(&order, &task.input) {
                Ok(()) => worker.running = Some(task.slot),
                Err(_) => {
                    // Nobody reads this pipe: the worker is dead. The task
                    // never reached it, so it goes back to the front.
                    worker.broken = true;
                    self.pending.push_front(task);
                }
            }
        }
    }

    /// Reads what worker `index` has to say: its task's result, or its death.
    fn collect(&mut self, index: usize) {
        let worker = &mut self.workers[index];
        let frame = match worker.results.recv() {
            Ok(Some(frame)) => frame,
            // End of file, or a frame cut short: the worker has died.
            Ok(None) | Err(_) => return self.bury(index),
        };
        let Some(slot) = worker.running.take() else {
            // An answer nobody asked for: only a broken worker sends that.
            return self.bury(index);
        };
        let pid = worker.pid;
        let outcome = match postcard::take_from_bytes::<Reply>(&frame) {
            Ok((Reply::Done, rest)) => Outcome::Done {
                pid,
                start: frame.len() - rest.len(),
                frame,
            },
            Ok((Reply::Panicked(message), _)) => {
                Outcome::Failed(Failure::Panicked { pid, message })
            }
            Ok((Reply::Serialize(message), _)) => Outcome::Failed(Failure::Serialize(message)),
            Ok((Reply::Deserialize(message), _)) => Outcome::Failed(Failure::Deserialize(message)),
            Ok((Reply::TooLarge(len), _)) => Outcome::Failed(Failure::TooLarge(len as usize)),
            Err(_) => {
                // Garbled: stop trusting this worker; its task fails as it dies.
                self.workers[index].running = Some(slot);
                return self.bury(index);
            }
        };
        slot.fill(outcome);
    }

    /// Reaps a dead worker and fails the task it was running. The next
    /// [`State::refill`] replaces it.
    fn bury(&mut self, index: usize) {
        let mut worker = self.workers.swap_remove(index);
        // It is dead or dying; should it be alive but talking nonsense, end it.
        let _ = worker.process.kill();
        let failure = match worker.process.join() {
            Ok(status) => Failure::Died {
                pid: worker.pid,
                status,
            },
            Err(err) => match err.kind() {
                ErrorKind::Os { source, .. } => Failure::Lost {
                    errno: source.raw_os_error().unwrap_or(0),
                },
                _ => Failure::Lost { errno: 0 },
            },
        };
        if let Some(slot) = worker.running.take() {
            slot.fill(Outcome::Failed(failure));
        }
    }
}

// ---------------------------------------------------------------------------
// The wire between the parent and a worker.

/// What the parent tells a worker. A `Run` frame continues with the task's input.
#[derive(Serialize, Deserialize)]
enum Order {
    Run(RemoteFn),
    Stop,
}

/// How a worker answers a `Run`. A `Done` frame continues with the result.
#[derive(Serialize, Deserialize)]
enum Reply {
    Done,
    /// The task panicked outside any one item (say, serializing a result).
    Panicked(String),
    Serialize(String),
    Deserialize(String),
    TooLarge(u64),
}

/// Room left in a frame for an `Order` and a `Reply` before the payload.
const MAX_ORDER: usize = 64;
const MAX_REPLY: usize = 64;

// ---------------------------------------------------------------------------
// The worker's side.

/// A worker's start arguments: its ends of its two pipes. With spawn, the
/// descriptors travel by number (see `inherit.rs`).
#[derive(Serialize, Deserialize)]
struct WorkerArgs {
    #[serde(serialize_with = "serialize_pipe")]
    #[serde(deserialize_with = "inherit::deserialize_fd")]
    tasks: OwnedFd,
    #[serde(serialize_with = "serialize_pipe")]
    #[serde(deserialize_with = "inherit::deserialize_fd")]
    results: OwnedFd,
    /// The pool's process.
    parent: u32,
    /// The parent's descriptors that a forked worker has copies of and must
    /// close. Never serialized: a spawned worker inherits none of them (they
    /// are closed on `exec`), and their numbers would mean nothing there.
    #[serde(skip)]
    inherited: Vec<RawFd>,
}

fn serialize_pipe<S: serde::Serializer>(fd: &OwnedFd, s: S) -> Result<S::Ok, S::Error> {
    inherit::serialize_fd(fd.as_raw_fd(), "Pool worker's pipe", s)
}

/// How often an idle worker checks that its pool's process is still alive.
const PARENT_CHECK: Duration = Duration::from_secs(1);

/// A worker's life: run tasks until told to stop, or until the pool's
/// process is gone.
fn worker_main(args: WorkerArgs) {
    for &fd in &args.inherited {
        // SAFETY: a forked child has copies of the parent's descriptors; these
        // belong to the parent's `Worker`s, whose copies in this process are
        // never used or dropped (a forked child ends with `_exit`), so closing
        // the numbers here pulls them from under nobody.
        unsafe { libc::close(fd) };
    }
    // A panicking task is reported to the parent, which turns it into the
    // error of that task's `get`. Printing it here as well, with a backtrace
    // (RUST_BACKTRACE=1), would be noise, and capturing that backtrace is slow.
    panic::set_hook(Box::new(|_| {}));

    let mut tasks = FrameReader::new(args.tasks);
    let mut results = FrameWriter::new(args.results);
    while parent_alive_while_waiting(&tasks, args.parent) {
        // End of file: the parent closed the pipe, or died.
        let Ok(Some(frame)) = tasks.recv() else {
            break;
        };
        let Ok((Order::Run(function), input)) = postcard::take_from_bytes::<Order>(&frame) else {
            break; // a stop order (or a garbled frame: only a bug makes one)
        };
        let (reply, output) = run_task(function, input);
        let reply = function::to_bytes(&reply).unwrap_or_default();
        if results.send(&reply, &output).is_err() {
            break; // nobody reads the results any more: the parent has gone
        }
        // Lines a task printed show up now, not when the worker ends.
        let _ = std::io::Write::flush(&mut std::io::stdout());
    }
}

/// Runs one task, returning the reply and the result's bytes.
fn run_task(function: RemoteFn, input: &[u8]) -> (Reply, Vec<u8>) {
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| function.prepare(input)?()));
    match outcome {
        Ok(Ok(output)) if output.len() > MAX_FRAME - MAX_REPLY => {
            (Reply::TooLarge(output.len() as u64), Vec::new())
        }
        Ok(Ok(output)) => (Reply::Done, output),
        Ok(Err(err)) => match err.kind() {
            ErrorKind::Serialize(message) => (Reply::Serialize(message.clone()), Vec::new()),
            // `prepare` can only fail to decode the input.
            _ => (Reply::Deserialize(err.to_string()), Vec::new()),
        },
        Err(payload) => (Reply::Panicked(panic_message(payload.as_ref())), Vec::new()),
    }
}

/// Waits until a task frame can be read; `false` if the pool's process died
/// meanwhile. The task pipe normally reports the parent's death as end of
/// file, but a process forked later (another pool's worker, say) may hold a
/// copy of its writing end and keep it open: checking the parent's pid now
/// and then makes sure a worker never outlives its pool.
fn parent_alive_while_waiting(tasks: &FrameReader, parent: u32) -> bool {
    while !tasks.has_buffered() {
        match sys::poll_readable(&[tasks.fd()], Some(PARENT_CHECK)) {
            Ok(ready) if !ready.is_empty() => return true,
            Ok(_) if sys::parent_pid() as u32 != parent => return false,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    true
}
