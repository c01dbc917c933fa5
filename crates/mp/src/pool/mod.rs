//! A pool of worker processes: Python's `multiprocessing.Pool`.
//!
//! # How it works
//!
//! Each worker is an ordinary [`Process`](crate::Process) running
//! `worker_main` (in `pool/worker.rs`), so both start methods work. It has two
//! channels of its own: tasks go down a pipe, results come back up a socket
//! pair (`ipc/channel.rs` frames the bytes into messages). A task is a
//! `RemoteFn` with its serialized arguments; `map` sends a whole chunk of
//! arguments as one task, so a hundred thousand tiny items cost a handful of
//! messages, not a hundred thousand. The worker sends the chunk's results
//! back as they come: big byte and float vectors one by one, each written
//! from its own memory, small results gathered (`pool/batch.rs`).
//!
//! A worker runs **one task at a time** and answers in order. The parent gives
//! it at most two at once: the one it runs, and the next, waiting in its pipe,
//! so that a worker that ends a task starts the next at once instead of
//! waiting a round trip for the parent to hear of it. So the parent always
//! knows which task a worker is running, and when a worker dies (killed,
//! aborted), its pidfd (Linux; elsewhere its result channel's end of file)
//! says so and the parent knows exactly which task died with it: it reaps the
//! worker, fails that one task with [`ErrorKind::WorkerDied`], gives the task
//! waiting behind it (which never started) to another worker, starts a
//! replacement, and goes on. Python's `Pool` waits forever for such a task.
//!
//! There is **no background thread** in the parent. A process that forks while
//! another of its threads holds a lock (stdout's, the allocator's) gives the
//! child a lock that nobody will ever release, and the pool forks a
//! replacement whenever a worker dies. So the pool is driven by whoever waits
//! on it (`pool/engine.rs`): `apply_async` hands the task to a worker at once (an idle one
//! first), and `get`,
//! `map`, the `imap` iterators and `join` collect results, hand out the tasks
//! still waiting, and replace dead workers while they wait. If several
//! threads wait at once, one of them drives and the others sleep until their
//! result is in.
//!
//! Results wait in a small shared slot per task (an `Arc`), never in a pipe or
//! a file of their own: a hundred thousand outstanding tasks use no more open
//! files than one.
//!
//! One idea a file: the [`Pool`] and its calls (here), setting it up
//! (`builder.rs`), the handles its calls return (`async_result.rs`,
//! `imap.rs`, `imap_unordered.rs`), a chunk of work and its results
//! (`batch.rs`), where a task's results wait (`slot.rs`), the parent's driver
//! (`engine.rs`), the worker's loop (`worker.rs`) and the initializer's
//! argument (`init.rs`).

mod async_result;
mod batch;
mod builder;
mod engine;
mod imap;
mod imap_unordered;
mod init;
mod slot;
mod worker;

pub use self::async_result::AsyncResult;
pub use self::builder::PoolBuilder;
pub use self::imap::IMap;
pub use self::imap_unordered::IMapUnordered;

use std::collections::VecDeque;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use serde::Serialize;
use serde::de::DeserializeOwned;

use self::async_result::{all_results, first_result};
use self::engine::{Engine, Task};
use self::slot::{FinishLine, Read, ResultSlot};
use crate::codec;
use crate::error::{ErrorKind, Result};
use crate::ipc::channel::MAX_FRAME;
use crate::process::function::RemoteFn;
use crate::process::{StartMethod, Target};

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
/// Work starts as soon as you submit it, as far as the workers have room (a
/// task running and one waiting, each);
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
    /// (Python's `Pool(processes=3)`). Python's default is one per CPU:
    /// that is [`Pool::builder`]'s default, [`crate::cpu_count`].
    pub fn new(processes: usize) -> Result<Self> {
        Pool::builder().processes(processes).build()
    }

    /// Starts `processes` worker processes with the given start method.
    /// Spawned workers need [`crate::init`] as the first line of `main`.
    pub fn with_start_method(processes: usize, method: StartMethod) -> Result<Self> {
        Pool::builder()
            .processes(processes)
            .start_method(method)
            .build()
    }

    /// A pool with more settings than the number of processes: Python's
    /// `Pool(processes, initializer, initargs, maxtasksperchild)`.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    ///
    /// static SCALE: AtomicU64 = AtomicU64::new(0);
    ///
    /// fn set_scale(scale: u64) {
    ///     SCALE.store(scale, Ordering::Relaxed); // once in each worker
    /// }
    ///
    /// fn job(x: u64) -> u64 {
    ///     x * SCALE.load(Ordering::Relaxed)
    /// }
    ///
    /// fn main() -> mp::Result<()> {
    ///     mp::init();
    ///     let pool = mp::Pool::builder()
    ///         .processes(2)
    ///         .initializer(set_scale, 10)
    ///         .max_tasks_per_child(100)
    ///         .build()?;
    ///     assert_eq!(pool.map(job, 1..4)?, [10, 20, 30]);
    ///     Ok(())
    /// }
    /// ```
    pub fn builder() -> PoolBuilder {
        PoolBuilder {
            processes: None,
            method: StartMethod::default(),
            init: None,
            max_tasks: None,
        }
    }

    /// Runs `job` on `args` on a worker and waits for its result (Python's
    /// `apply`): [`Pool::apply_async`] then [`AsyncResult::get`].
    pub fn apply<M, F>(&self, job: F, args: F::Args) -> Result<F::Output>
    where
        F: Target<M>,
        F::Args: Serialize + DeserializeOwned + 'static,
        F::Output: Serialize + DeserializeOwned + 'static,
    {
        self.apply_async(job, args)?.get()
    }

    /// Like [`Pool::map`], for a function of several arguments applied to
    /// each tuple (Python's `starmap`, which unpacks each tuple into
    /// arguments): two to four arguments (see [`Target`]).
    ///
    /// ```
    /// fn power(base: u64, exponent: u32) -> u64 {
    ///     base.pow(exponent)
    /// }
    ///
    /// fn main() -> mp::Result<()> {
    ///     mp::init();
    ///     let pool = mp::Pool::new(2)?;
    ///     assert_eq!(pool.starmap(power, [(2, 3), (10, 2)])?, [8, 100]);
    ///     Ok(())
    /// }
    /// ```
    ///
    /// Python unpacks tuples of any length; here, up to four.
    pub fn starmap<M, F>(
        &self,
        job: F,
        items: impl IntoIterator<Item = F::Args>,
    ) -> Result<Vec<F::Output>>
    where
        F: Target<M>,
        F::Args: Serialize + DeserializeOwned + 'static,
        F::Output: Serialize + DeserializeOwned + 'static,
    {
        self.starmap_async(job, items)?.get()
    }

    /// Like [`Pool::starmap`], but returns at once (Python's
    /// `starmap_async`); the [`AsyncResult`]'s `get` gives every result, in
    /// order, or the first failing item's error.
    pub fn starmap_async<M, F>(
        &self,
        job: F,
        items: impl IntoIterator<Item = F::Args>,
    ) -> Result<AsyncResult<Vec<F::Output>>>
    where
        F: Target<M>,
        F::Args: Serialize + DeserializeOwned + 'static,
        F::Output: Serialize + DeserializeOwned + 'static,
    {
        let items: Vec<F::Args> = items.into_iter().collect();
        let chunksize = self.default_chunksize(items.len());
        self.starmap_async_chunked(job, items, chunksize)
    }

    /// Like [`Pool::starmap`], with `chunksize` items per message (Python's
    /// `starmap(job, items, chunksize)`).
    pub fn starmap_chunked<M, F>(
        &self,
        job: F,
        items: impl IntoIterator<Item = F::Args>,
        chunksize: usize,
    ) -> Result<Vec<F::Output>>
    where
        F: Target<M>,
        F::Args: Serialize + DeserializeOwned + 'static,
        F::Output: Serialize + DeserializeOwned + 'static,
    {
        self.starmap_async_chunked(job, items, chunksize)?.get()
    }

    /// Like [`Pool::starmap_async`], with `chunksize` items per message
    /// (Python's `starmap_async(job, items, chunksize)`).
    pub fn starmap_async_chunked<M, F>(
        &self,
        job: F,
        items: impl IntoIterator<Item = F::Args>,
        chunksize: usize,
    ) -> Result<AsyncResult<Vec<F::Output>>>
    where
        F: Target<M>,
        F::Args: Serialize + DeserializeOwned + 'static,
        F::Output: Serialize + DeserializeOwned + 'static,
    {
        let items: Vec<F::Args> = items.into_iter().collect();
        let function = batch::remote_batch(findable(job)?);
        let chunks = self.submit_chunks(function, &items, chunksize)?;
        Ok(self.async_result(chunks, all_results::<F::Output>))
    }

    /// Like [`Pool::map`], but returns at once (Python's `map_async`); the
    /// [`AsyncResult`]'s `get` gives every result, in order, or the first
    /// failing item's error. Items travel in the same chunks as `map`'s.
    pub fn map_async<A, R>(
        &self,
        job: fn(A) -> R,
        items: impl IntoIterator<Item = A>,
    ) -> Result<AsyncResult<Vec<R>>>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        let items: Vec<A> = items.into_iter().collect();
        let chunksize = self.default_chunksize(items.len());
        self.map_async_chunked(job, items, chunksize)
    }

    /// Like [`Pool::map_async`], with `chunksize` items per message (Python's
    /// `map_async(job, items, chunksize)`).
    pub fn map_async_chunked<A, R>(
        &self,
        job: fn(A) -> R,
        items: impl IntoIterator<Item = A>,
        chunksize: usize,
    ) -> Result<AsyncResult<Vec<R>>>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        let items: Vec<A> = items.into_iter().collect();
        let chunks = self.submit_chunks(batch::remote_batch(job), &items, chunksize)?;
        Ok(self.async_result(chunks, all_results::<R>))
    }

    /// `map`'s chunk size for `len` items: `ceil(len / (4 × processes))`.
    fn default_chunksize(&self, len: usize) -> usize {
        len.div_ceil(4 * self.processes()).max(1)
    }

    fn async_result<T>(
        &self,
        chunks: Vec<Chunk>,
        decode: fn(&[Chunk], Read) -> Result<T>,
    ) -> AsyncResult<T> {
        AsyncResult {
            engine: Arc::clone(&self.engine),
            chunks,
            decode,
            filled: AtomicUsize::new(0),
        }
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
        let chunksize = self.default_chunksize(items.len());
        self.map_chunked(job, items, chunksize)
    }

    /// Like [`Pool::map`], with `chunksize` items per message (Python's
    /// `map(job, items, chunksize)`). Larger chunks cost fewer messages;
    /// smaller ones share uneven work out more evenly.
    #[doc(alias("chunksize"))]
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
        let chunks = self.submit_chunks(batch::remote_batch(job), &items, chunksize)?;
        let mut results = Vec::with_capacity(items.len());
        drop(items); // the workers have their own copies now
        // Take the chunks in order, each as soon as it is in: decoding one
        // overlaps with the workers' running the next.
        let mut first_error = None;
        for chunk in &chunks {
            self.engine.wait_for(None, || chunk.slot.is_filled())?;
            match chunk.slot.results::<R>(chunk.len, Read::Take).into_values() {
                Ok(values) if first_error.is_none() => results.extend(values),
                Ok(_) => {}
                Err(err) => {
                    first_error.get_or_insert(err);
                }
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
            chunks: self
                .submit_chunks(batch::remote_batch(job), &items, chunksize)?
                .into(),
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
        let finished = Arc::new(FinishLine::default());
        let function = batch::remote_batch(job);
        let chunks = self.submit_chunks_to(function, &items, chunksize, Some(&finished))?;
        Ok(IMapUnordered {
            engine: Arc::clone(&self.engine),
            items_left: items.len(),
            chunks_left: chunks.len(),
            chunks: chunks.into_iter().map(Some).collect(),
            finished,
            first_untaken: 0,
            ready: VecDeque::new(),
            _result: PhantomData,
        })
    }

    /// Starts `job(arg)` on a worker and returns at once (Python's
    /// `apply_async`); [`AsyncResult::get`] waits for the result.
    ///
    /// Python passes the arguments as a tuple, `apply_async(job, (2,))`; here
    /// a single argument goes as it is, none as `()`, and two to four as a
    /// tuple, for a function of that many arguments (see [`Target`]).
    pub fn apply_async<M, F>(&self, job: F, args: F::Args) -> Result<AsyncResult<F::Output>>
    where
        F: Target<M>,
        F::Args: Serialize + DeserializeOwned + 'static,
        F::Output: Serialize + DeserializeOwned + 'static,
    {
        // A task of one: the same path as a chunk of `map`.
        let function = batch::remote_batch(findable(job)?);
        let chunks = self.submit_chunks(function, std::slice::from_ref(&args), 1)?;
        Ok(self.async_result(chunks, first_result::<F::Output>))
    }

    /// Takes no more work (Python's `close`): submitting afterwards is
    /// [`ErrorKind::PoolClosed`]. Work already submitted still runs.
    pub fn close(&self) {
        self.engine.close();
    }

    /// Waits until all submitted work is done, then lets the workers exit and
    /// reaps them (Python's `join`). The results stay in their
    /// [`AsyncResult`]s. Python requires `close()` first; here `join` closes
    /// the pool itself.
    pub fn join(&self) -> Result<()> {
        self.engine.join()
    }

    /// Stops the workers at once, with `SIGKILL`, and reaps them (Python's
    /// `terminate`). Tasks that had not finished give [`ErrorKind::PoolClosed`].
    /// Dropping the pool does the same.
    pub fn terminate(&self) {
        self.engine.terminate();
    }

    /// The number of worker processes.
    pub fn processes(&self) -> usize {
        self.engine.size()
    }

    /// Cuts `items` into chunks and queues one task per chunk, each to be
    /// run by `function` (a batch function, which takes a chunk).
    fn submit_chunks<A: Serialize>(
        &self,
        function: RemoteFn,
        items: &[A],
        chunksize: usize,
    ) -> Result<Vec<Chunk>> {
        self.submit_chunks_to(function, items, chunksize, None)
    }

    /// [`Pool::submit_chunks`], each chunk's slot saying on `finish` (if
    /// given) when it is filled, under the chunk's number.
    fn submit_chunks_to<A: Serialize>(
        &self,
        function: RemoteFn,
        items: &[A],
        chunksize: usize,
        finish: Option<&Arc<FinishLine>>,
    ) -> Result<Vec<Chunk>> {
        if chunksize == 0 {
            return Err(ErrorKind::InvalidArgument(
                "a chunksize of 0 puts no item in a chunk; pass 1 or more",
            )
            .into());
        }
        let mut chunks = Vec::with_capacity(items.len().div_ceil(chunksize));
        if items.is_empty() {
            self.engine.ensure_open()?;
        }
        for items in items.chunks(chunksize) {
            let input = codec::to_bytes(items)?;
            if input.len() > MAX_FRAME {
                return Err(ErrorKind::MessageTooLarge {
                    len: input.len(),
                    max: MAX_FRAME,
                }
                .into());
            }
            let slot = Arc::new(match finish {
                Some(line) => ResultSlot::reporting_to(line, chunks.len()),
                None => ResultSlot::default(),
            });
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
        f.debug_struct("Pool")
            .field("processes", &self.processes())
            .finish_non_exhaustive()
    }
}

/// `job` as a function a worker can find, or the error that says why not.
fn findable<M, F: Target<M>>(job: F) -> Result<fn(F::Args) -> F::Output> {
    job.as_fn().ok_or_else(|| {
        ErrorKind::InvalidArgument(
            "a pool's task must be a plain fn (or a closure that captures nothing): a closure's \
             captured values live in this process only; pass them in the arguments instead",
        )
        .into()
    })
}

/// How many times, in this process, a pool's waiter has looked at a task's
/// result slot to see whether it is in. Not for programs: the crate's tests
/// count it to prove that a wait's work per result does not grow with the
/// number of tasks (a test that timed it could fail on a busy machine).
#[doc(hidden)]
pub fn slot_looks() -> u64 {
    slot::slot_looks()
}

/// A chunk, as its submitter sees it.
struct Chunk {
    slot: Arc<ResultSlot>,
    /// How many items it holds.
    len: usize,
}
