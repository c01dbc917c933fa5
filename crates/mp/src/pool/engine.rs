//! The parent's side of the pool: the engine that hands tasks to workers,
//! collects their answers, and replaces those that die.
//!
//! It has no thread of its own. Whoever waits on the pool (`get`, `map`, an
//! `imap` iterator, `join`) drives it for as long as they wait: one thread at
//! a time, the *driver*, while any others sleep on a condition variable until
//! their result is in or the driver steps down. See `pool/mod.rs` for why.

use std::collections::VecDeque;
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::batch::Part;
use super::init::{InitSpec, Initializer};
use super::slot::{ResultSlot, TaskOutcome};
use super::worker::{Order, Reply, WorkerArgs, worker_main};
use crate::codec;
use crate::error::{Error, ErrorKind, Result};
use crate::ipc::channel::{FrameReader, FrameWriter, MAX_FRAME};
use crate::process::function::RemoteFn;
use crate::process::{Process, StartMethod};
use crate::sync::wait::look_a_while;
use crate::sys::{self, PollSet};

/// The most workers a pool may ask for: Linux's highest possible `pid_max`
/// (2^22). No system can run more processes at once, so a larger number is a
/// mistake (`usize::MAX`, say), not a wish.
const MAX_WORKERS: usize = 1 << 22;

/// How many tasks a worker may have at once: the one it runs, and the next,
/// waiting in its pipe. With the next one there already, a worker that ends
/// a task starts the next at once, instead of waiting a round trip for the
/// parent to hear of it and send one.
///
/// A busy worker is handed a task only if the task's frame fits in its pipe
/// whole. A bigger one would make the parent wait, writing, for the worker
/// to read, while the worker may be waiting for the parent to read its
/// results: each would wait for the other for ever. It waits for a worker
/// that is idle, and so reading.
const AHEAD: usize = 2;

/// Everything the pool shares with its handles (`AsyncResult`, the `imap`
/// iterators), which drive it too.
pub(super) struct Engine {
    state: Mutex<EngineState>,
    /// Signalled when results are stored, and when the driver steps down so
    /// that another waiting thread can take over.
    changed: Condvar,
}

/// How a pool is set up (see `PoolBuilder`).
pub(super) struct Settings {
    /// How many workers the pool keeps running.
    pub(super) size: usize,
    pub(super) method: StartMethod,
    /// The initializer and its argument, run once in every worker.
    pub(super) init: Option<Initializer>,
    /// A worker is replaced after this many tasks (Python's `maxtasksperchild`).
    pub(super) max_tasks: Option<usize>,
}

/// What the engine knows, behind its lock.
struct EngineState {
    /// How many workers the pool keeps running.
    size: usize,
    method: StartMethod,
    init: Option<Initializer>,
    max_tasks: Option<usize>,
    workers: Vec<Worker>,
    /// Tasks no worker has yet, oldest first.
    pending: VecDeque<Task>,
    /// No new work is taken.
    closed: bool,
    /// The workers are gone, joined or terminated: nothing will run any more.
    ended: bool,
    /// Some thread is driving the pool: only it reads the result channels.
    driving: bool,
    /// How many threads sleep on `Engine::changed`: waking them costs a
    /// system call, made only when there is somebody to wake.
    sleeping: usize,
    /// What the driver waits with, kept from one wait to the next (see
    /// [`Watching`]).
    watching: Watching,
    /// The last order sent to a worker, encoded: the next one reuses its room.
    order: Vec<u8>,
}

struct Worker {
    process: Process,
    pid: u32,
    tasks: FrameWriter,
    /// How many bytes its task pipe holds (see [`AHEAD`]).
    task_room: usize,
    results: FrameReader,
    /// Readable once the worker has ended (a pidfd; `None` where the system
    /// has none). Its result channel cannot tell that alone: a process the
    /// worker's task started may hold the pipe open long after the worker died.
    ended: Option<Arc<File>>,
    /// The tasks it has, oldest first: the one it runs (or whose results are
    /// coming in), then those waiting in its pipe. Empty when idle.
    running: VecDeque<Running>,
    /// A task could not be written to it: it has died, and its end-of-file
    /// will come up on the result channel. Give it nothing more meanwhile.
    broken: bool,
    /// Tasks it has finished, for `max_tasks`.
    completed: usize,
}

/// The workers as the driver sees them while it waits without the pool's
/// lock, and what it waits with. Kept in the state from one wait to the
/// next (and taken out of it for the wait), so that a round trip allocates
/// nothing here once the vectors have grown. (With the other buffers kept
/// for reuse, the encoded order here and the frames' heads, a round trip of
/// `apply_async` allocates 6 times in the parent instead of 13, and 4 times
/// in the worker instead of 8; each side runs 28% fewer instructions, by
/// callgrind.)
#[derive(Default)]
struct Watching {
    watched: Vec<Watched>,
    /// Their result pipes and pidfds, to wait on together.
    polled: PollSet,
}

/// A worker, watched. The `Arc<File>`s keep its descriptors open while the
/// driver waits, even if the pool is terminated meanwhile.
struct Watched {
    pid: u32,
    /// Its result pipe.
    results: Arc<File>,
    /// Its pidfd, where the system has them.
    ended: Option<Arc<File>>,
    /// It has a task, and so may answer.
    busy: bool,
    /// After the wait: its result pipe is readable.
    answered: bool,
    /// After the wait: it has ended.
    died: bool,
}

impl Watching {
    /// Watches `workers`, each as it is now.
    fn watch(&mut self, workers: &[Worker]) {
        self.watched.extend(workers.iter().map(|w| Watched {
            pid: w.pid,
            results: w.results.file(),
            ended: w.ended.clone(),
            busy: !w.running.is_empty(),
            answered: false,
            died: false,
        }));
    }

    /// Waits, for at most `timeout`, until some watched worker answers or
    /// dies, and marks which.
    fn wait(&mut self, timeout: Option<Duration>) -> std::io::Result<()> {
        // A small task's answer comes within microseconds: look for it a
        // while before sleeping (see `wait::look_a_while`). A worker's death
        // shows up in the `poll` after, should nothing come.
        let answered = timeout != Some(Duration::ZERO)
            && look_a_while(|| {
                let mut any = false;
                for worker in &mut self.watched {
                    if worker.busy && sys::has_bytes(worker.results.as_fd()) {
                        worker.answered = true;
                        any = true;
                    }
                }
                any
            });
        if answered {
            return Ok(());
        }
        self.polled.clear();
        for worker in &self.watched {
            self.polled.add(worker.results.as_fd());
            if let Some(ended) = &worker.ended {
                self.polled.add(ended.as_fd());
            }
        }
        self.polled.wait(timeout)?;
        // The descriptors in the order they were added.
        let mut next = 0;
        for worker in &mut self.watched {
            worker.answered = self.polled.is_ready(next);
            next += 1;
            if worker.ended.is_some() {
                worker.died = self.polled.is_ready(next);
                next += 1;
            }
        }
        Ok(())
    }
}

/// A task a worker has, and its results so far. The task is kept whole until
/// it is done: should its worker die before starting it, it goes to another.
struct Running {
    task: Task,
    /// The pieces of results received, in order (see `batch::Part`).
    parts: Vec<Part>,
}

/// A unit of work for one worker: a chunk of items for one function.
pub(super) struct Task {
    pub(super) function: RemoteFn,
    /// The chunk's items, serialized as a `Vec<A>`.
    pub(super) input: Vec<u8>,
    pub(super) slot: Arc<ResultSlot>,
}

impl Engine {
    /// Starts a pool's `size` workers.
    pub(super) fn start(settings: Settings) -> Result<Arc<Engine>> {
        if settings.size > MAX_WORKERS {
            return Err(ErrorKind::InvalidArgument(
                "a pool of more than 4,194,304 processes cannot run: no system has pids for \
                 that many (Linux's highest pid_max); one per CPU is \
                 std::thread::available_parallelism()",
            )
            .into());
        }
        let engine = Arc::new(Engine {
            state: Mutex::new(EngineState {
                size: settings.size,
                method: settings.method,
                init: settings.init,
                max_tasks: settings.max_tasks,
                workers: Vec::new(),
                pending: VecDeque::new(),
                closed: false,
                ended: false,
                driving: false,
                sleeping: 0,
                watching: Watching::default(),
                order: Vec::new(),
            }),
            changed: Condvar::new(),
        });
        let started = engine.lock().refill();
        if let Err(err) = started {
            engine.terminate(); // those that did start
            return Err(err);
        }
        Ok(engine)
    }

    /// How many workers the pool keeps running.
    pub(super) fn size(&self) -> usize {
        self.lock().size
    }

    /// Takes no more work.
    pub(super) fn close(&self) {
        self.lock().closed = true;
    }

    /// Closes the pool, waits until all its work is done, then ends the
    /// workers: each gets a stop order, finishes, and is reaped.
    pub(super) fn join(&self) -> Result<()> {
        self.close();
        self.wait_until(None, EngineState::all_done)?;
        self.stop_workers();
        Ok(())
    }

    /// Waits until `done` holds, driving the pool meanwhile (or sleeping while
    /// another thread drives it). `Ok(false)` if `deadline` passed first.
    pub(super) fn wait_for(
        &self,
        deadline: Option<Instant>,
        done: impl Fn() -> bool,
    ) -> Result<bool> {
        self.wait_until(deadline, |_| done())
    }

    fn lock(&self) -> MutexGuard<'_, EngineState> {
        // If a thread panicked while holding the lock, go on with the state as
        // it is: refusing would hang every later caller instead.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `Ok` if the pool takes new work.
    pub(super) fn ensure_open(&self) -> Result<()> {
        if self.lock().closed {
            return Err(ErrorKind::PoolClosed.into());
        }
        Ok(())
    }

    /// Queues `task` and gives it to an idle worker, if there is one.
    pub(super) fn submit(&self, task: Task) -> Result<()> {
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
            self.wake_sleepers(state);
        }
        Ok(())
    }

    /// Collects whatever results are in, without waiting, unless another
    /// thread is driving already (then it collects them). For
    /// `AsyncResult::ready`, which must not wait.
    pub(super) fn poll(&self) {
        let mut state = self.lock();
        if state.driving || state.ended {
            return;
        }
        state.driving = true;
        // An error here (a replacement that cannot start) comes up again
        // where someone waits.
        let (mut state, _) = self.step(state, Some(Duration::ZERO));
        state.driving = false;
        self.wake_sleepers(state);
    }

    /// Like [`Engine::wait_for`], with a condition on the whole pool.
    fn wait_until(
        &self,
        deadline: Option<Instant>,
        done: impl Fn(&EngineState) -> bool,
    ) -> Result<bool> {
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
                state.sleeping += 1;
                state = match timeout {
                    None => self.changed.wait(state).unwrap_or_else(|p| p.into_inner()),
                    Some(timeout) => match self.changed.wait_timeout(state, timeout) {
                        Ok((state, _)) => state,
                        Err(poisoned) => poisoned.into_inner().0,
                    },
                };
                state.sleeping -= 1;
                continue;
            }
            state.driving = true;
            let (next, stepped) = self.step(state, timeout);
            state = next;
            state.driving = false;
            // Wake the other waiters: their result may be in, and one of them
            // may have to drive now.
            if state.sleeping > 0 {
                self.changed.notify_all();
            }
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
        mut state: MutexGuard<'a, EngineState>,
        timeout: Option<Duration>,
    ) -> (MutexGuard<'a, EngineState>, Result<()>) {
        if let Err(err) = state.refill() {
            return (state, Err(err));
        }
        state.dispatch();
        // Watch every worker, idle ones too: its result channel for answers, and
        // its pidfd (where there is one) for its death.
        let mut watching = std::mem::take(&mut state.watching);
        watching.watch(&state.workers);
        if watching.watched.is_empty() {
            state.watching = watching;
            return (state, Ok(()));
        }
        drop(state);
        let waited = watching.wait(timeout);
        let mut state = self.lock();
        let result = match waited {
            Ok(()) => {
                state.take_answers(&watching.watched);
                Ok(())
            }
            Err(err) => Err(Error::os("wait for the pool's workers", err)),
        };
        watching.watched.clear(); // lets go of their descriptors
        state.watching = watching;
        (state, result)
    }

    /// Ends the workers of a pool whose work is all done.
    fn stop_workers(&self) {
        let mut state = self.lock();
        if state.ended {
            return;
        }
        state.ended = true;
        let stop = codec::to_bytes(&Order::Stop).unwrap_or_default();
        for worker in &mut state.workers {
            // A worker that died meanwhile cannot read it; join still reaps it.
            let _ = worker.tasks.send(&stop, &[]);
        }
        for mut worker in state.workers.drain(..) {
            let _ = worker.process.join();
        }
        self.wake_sleepers(state);
    }

    /// Kills and reaps every worker; every unfinished task is cancelled.
    pub(super) fn terminate(&self) {
        let mut state = self.lock();
        state.closed = true;
        state.ended = true;
        for task in state.pending.drain(..) {
            task.slot.fill(TaskOutcome::Failed(ErrorKind::PoolClosed));
        }
        // Kill them all first, then reap: they die in parallel.
        for worker in &state.workers {
            let _ = worker.process.kill();
        }
        for mut worker in state.workers.drain(..) {
            let _ = worker.process.join();
            for running in worker.running.drain(..) {
                running
                    .task
                    .slot
                    .fill(TaskOutcome::Failed(ErrorKind::PoolClosed));
            }
        }
        self.wake_sleepers(state);
    }

    /// Lets go of the state and wakes the threads that sleep on `changed`,
    /// if any. (A thread counts itself in `sleeping` and goes to sleep under
    /// the lock, so none can be on its way to sleep unseen.)
    fn wake_sleepers(&self, state: MutexGuard<'_, EngineState>) {
        let anybody = state.sleeping > 0;
        drop(state);
        if anybody {
            self.changed.notify_all();
        }
    }
}

impl EngineState {
    /// After a wait: collects the answers of the `watched` workers whose
    /// result pipes are readable, and buries those that have ended.
    fn take_answers(&mut self, watched: &[Watched]) {
        for worker in watched {
            // Only the driver removes workers, and only a terminated pool
            // (which starts none) removes them behind its back: a pid still
            // in the list is the worker we watched.
            let find = |state: &EngineState| state.workers.iter().position(|w| w.pid == worker.pid);
            if worker.died {
                // The worker is gone: what it wrote before it died is all
                // there will ever be. Read all of that without waiting for
                // more (a process it started may keep the pipe open for long):
                // it may finish a task before the one it died in. Each read
                // takes a frame, until the end, where `collect` buries it; the
                // task it had not answered fails.
                let _ = sys::set_nonblocking(worker.results.as_fd());
                while let Some(position) = find(self) {
                    self.collect(position);
                }
            } else if worker.answered
                && let Some(position) = find(self)
            {
                self.collect(position);
            }
        }
        self.dispatch();
    }

    /// Whether all submitted work is done (`join`'s condition).
    fn all_done(&self) -> bool {
        self.pending.is_empty() && self.workers.iter().all(|w| w.running.is_empty())
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
        sys::enlarge_pipe(task_writer.as_fd(), crate::ipc::queue::PIPE_SIZE);
        // The results come through a pipe, the big ones through a socket
        // pair beside it (see `FrameWriter::with_bulk`).
        let (result_reader, result_writer) = pipe(())?;
        let (bulk_reader, bulk_writer) =
            sys::socketpair().map_err(|e| Error::os("make a socket pair for a pool worker", e))?;
        // A forked worker gets a copy of every descriptor the parent holds,
        // the parent's ends of every worker's pipes included. It closes them
        // first thing, or one worker's copy of another's task pipe would keep
        // that pipe open after the parent has gone.
        let mut inherited: Vec<RawFd> = self
            .workers
            .iter()
            .flat_map(|w| {
                let ended = w.ended.as_ref().map(|f| f.as_raw_fd());
                let results = w.results.fds().map(|fd| fd.as_raw_fd());
                std::iter::once(w.tasks.fd().as_raw_fd())
                    .chain(results)
                    .chain(ended)
            })
            .collect();
        inherited.extend([
            task_writer.as_raw_fd(),
            result_reader.as_raw_fd(),
            bulk_reader.as_raw_fd(),
        ]);
        let args = WorkerArgs {
            tasks: task_reader,
            results: result_writer,
            bulk: bulk_writer,
            inherited,
            init: self.init.clone().map(InitSpec::Given),
        };
        let kind = match self.method {
            StartMethod::Fork => "Fork",
            StartMethod::Spawn => "Spawn",
        };
        // Numbered as Python numbers them: by the counter that numbers every
        // process this one makes (`Process-2`, then a pool's `ForkPoolWorker-3`
        // and `-4`, then `Process-5`), after the number of the process that
        // made the pool: the first worker made in `Process-1` is
        // `ForkPoolWorker-1:1`.
        let process = Process::new(worker_main, args);
        let name = format!("{kind}PoolWorker-{}", process.identity());
        let mut process = process
            .named(name)
            .start_method(self.method)
            .daemon(true)
            .kill_on_drop();
        // Starting consumes `args`: the parent's copies of the worker's ends
        // close here, so the worker is the only writer of its result channel, and
        // its death reads as end of file.
        process.start()?;
        let pid = process.pid().expect("a started process has a pid");
        // The worker is our child and not reaped: its pid cannot be reused
        // before the pidfd is made.
        let ended = sys::pidfd(pid as libc::pid_t).map(|fd| Arc::new(File::from(fd)));
        // Reading a result ends at once if the worker dies mid-frame, where
        // the system tells a death apart from the pipe's end of file.
        let results = match &ended {
            Some(ended) => {
                FrameReader::watching(result_reader, Some(bulk_reader), Arc::clone(ended))
                    .map_err(|e| Error::os("watch a pool worker's result channel", e))?
            }
            None => FrameReader::new(result_reader, Some(bulk_reader)),
        };
        // Writing a task ends at once if the worker dies with its pipe full,
        // where a process it started may hold the pipe's reading end.
        let task_room = sys::pipe_capacity(task_writer.as_fd());
        let mut tasks = FrameWriter::new(task_writer);
        if let Some(ended) = &ended {
            tasks
                .watch(Arc::clone(ended))
                .map_err(|e| Error::os("watch a pool worker's task pipe", e))?;
        }
        self.workers.push(Worker {
            process,
            pid,
            task_room,
            tasks,
            results,
            ended,
            running: VecDeque::new(),
            broken: false,
            completed: 0,
        });
        Ok(())
    }

    /// Gives pending tasks to workers, oldest task first: to idle workers
    /// first, then a next task to each busy one (see [`AHEAD`]), never more
    /// than a worker may still do before `max_tasks` retires it.
    fn dispatch(&mut self) {
        for has in 0..AHEAD {
            for index in 0..self.workers.len() {
                if self.pending.is_empty() {
                    return;
                }
                let worker = &self.workers[index];
                let quota = self
                    .max_tasks
                    .is_some_and(|max| worker.completed + worker.running.len() >= max);
                if worker.running.len() == has && !worker.broken && !quota && !self.give(index) {
                    // The oldest task is too big for a busy worker's pipe:
                    // it waits for an idle one, and no younger task passes it.
                    return;
                }
            }
        }
    }

    /// Sends the oldest pending task to worker `index`. `false` if the worker
    /// is busy and the task's frame does not fit in its pipe (see [`AHEAD`]):
    /// the task stays first in the queue.
    fn give(&mut self, index: usize) -> bool {
        let Some(task) = self.pending.pop_front() else {
            return true;
        };
        let order = match codec::to_bytes_into(&Order::Run(task.function), &mut self.order) {
            Ok(()) => &self.order,
            Err(err) => {
                let failure = ErrorKind::Serialize(err.to_string());
                task.slot.fill(TaskOutcome::Failed(failure));
                return true;
            }
        };
        let worker = &mut self.workers[index];
        let frame = FrameWriter::frame_len(order, &task.input);
        if !worker.running.is_empty() && frame > worker.task_room {
            self.pending.push_front(task);
            return false;
        }
        // No SIGPIPE if the worker has died: the host program may have put
        // its default action (death) back.
        match worker.tasks.send(order, &task.input) {
            Ok(()) => worker.running.push_back(Running {
                task,
                parts: Vec::new(),
            }),
            Err(_) => {
                // Nobody reads this pipe: the worker is dead. The task never
                // reached it, so it goes back to the front.
                worker.broken = true;
                self.pending.push_front(task);
            }
        }
        true
    }

    /// Reads what worker `index` has to say: some of its task's results, the
    /// end of its task, or its death. Reads one frame, and those after it
    /// whose first bytes were read with it (no `poll` would announce them).
    fn collect(&mut self, index: usize) {
        loop {
            let worker = &mut self.workers[index];
            let frame = match worker.results.recv() {
                Ok(Some(frame)) => frame,
                // End of file, or a frame cut short: the worker has died.
                Ok(None) | Err(_) => return self.bury(index),
            };
            let (Some(running), Ok(reply)) = (
                worker.running.front_mut(),
                postcard::from_bytes::<Reply>(frame.head),
            ) else {
                // Garbled, or an answer nobody asked for: only a broken
                // worker sends that. Stop trusting it; its task fails as it dies.
                return self.bury(index);
            };
            let pid = worker.pid;
            let outcome = match reply {
                Reply::Values(count) => {
                    let bytes = frame.payload;
                    running.parts.push(Part::Values { count, bytes });
                    None
                }
                Reply::Raw => {
                    running.parts.push(Part::Raw(frame.payload));
                    None
                }
                Reply::Done { count, panics } => {
                    let mut parts = std::mem::take(&mut running.parts);
                    let bytes = frame.payload;
                    parts.push(Part::Values { count, bytes });
                    Some(TaskOutcome::Done { pid, parts, panics })
                }
                Reply::Panicked(message) => Some(TaskOutcome::Failed(ErrorKind::TaskPanicked {
                    pid,
                    message,
                })),
                Reply::Serialize(message) => {
                    Some(TaskOutcome::Failed(ErrorKind::Serialize(message)))
                }
                Reply::Deserialize(message) => {
                    Some(TaskOutcome::Failed(ErrorKind::Deserialize(message)))
                }
                Reply::TooLarge(len) => Some(TaskOutcome::Failed(ErrorKind::MessageTooLarge {
                    len: len as usize,
                    max: MAX_FRAME,
                })),
                Reply::InitFailed(message) => {
                    Some(TaskOutcome::Failed(ErrorKind::InitializerFailed {
                        pid,
                        message,
                    }))
                }
            };
            if let Some(outcome) = outcome {
                let running = worker.running.pop_front().expect("matched above");
                running.task.slot.fill(outcome);
                worker.completed += 1;
                if self.max_tasks.is_some_and(|max| worker.completed >= max) {
                    return self.retire(index);
                }
            }
            if !self.workers[index].results.has_buffered() {
                return;
            }
        }
    }

    /// Ends worker `index`, idle after its last task, and reaps it: it has
    /// done `max_tasks`. The next [`EngineState::refill`] replaces it.
    fn retire(&mut self, index: usize) {
        let mut worker = self.workers.swap_remove(index);
        let stop = codec::to_bytes(&Order::Stop).unwrap_or_default();
        // A worker that died meanwhile cannot read it; the join reaps it all the same.
        let _ = worker.tasks.send(&stop, &[]);
        let _ = worker.process.join();
    }

    /// Reaps a dead worker and fails the task it was running. The tasks
    /// waiting in its pipe never started (a worker runs its tasks one after
    /// the other): they go back to the front of the queue, in order, for
    /// another worker. The next [`EngineState::refill`] replaces it.
    fn bury(&mut self, index: usize) {
        let mut worker = self.workers.swap_remove(index);
        // It is dead or dying; should it be alive but talking nonsense, end it.
        let _ = worker.process.kill();
        let failure = match worker.process.join() {
            Ok(status) => ErrorKind::WorkerDied {
                pid: worker.pid,
                status,
            },
            // The worker died, and could not even be waited for.
            Err(err) => match err.kind() {
                ErrorKind::Os { source, .. } => ErrorKind::Os {
                    what: "wait for a pool worker that died",
                    source: source.clone(),
                },
                other => other.clone(),
            },
        };
        if let Some(running) = worker.running.pop_front() {
            running.task.slot.fill(TaskOutcome::Failed(failure));
        }
        for waiting in worker.running.drain(..).rev() {
            self.pending.push_front(waiting.task);
        }
    }
}
