//! Python's `multiprocessing`, in Rust, on Unix.
//!
//! This crate gives Rust programs the vocabulary of Python's
//! `multiprocessing` module — [`Process`], [`Queue`], [`Pool`], [`Value`],
//! [`Array`], [`Lock`] and the rest (the map below) — so that the lessons of
//! a Python tutorial can be ported line for line. It is small on purpose:
//! read its source to see how processes, pipes, shared memory and
//! process-shared locks really work.
//!
//! ```
//! use mp::{Process, Queue};
//!
//! fn job(q: Queue<u64>) {
//!     let result: u64 = (0..1000).map(|i| i + i * i).sum();
//!     q.put(result).unwrap();
//! }
//!
//! fn main() -> mp::Result<()> {
//!     mp::init(); // Rust's `if __name__ == '__main__':`
//!     let q = Queue::new()?;
//!     let mut p1 = Process::new(job, q.clone());
//!     p1.start()?;
//!     p1.join()?;
//!     assert_eq!(q.get()?, 333_333_000);
//!     Ok(())
//! }
//! ```
//!
//! # Python's rules, and why they hold here too
//!
//! - **Targets are plain functions**: `fn` items, never closures that capture.
//!   Python requires targets to be picklable; here a function crosses to
//!   another process as its position in the executable, which means the same
//!   thing in both processes, while a closure's captured data does not.
//! - **Arguments and results are serialized** (with serde), as Python pickles
//!   them. Shared objects (`Queue`, `Value`, `Array`, `Lock`) are the exception:
//!   they are handed over as what they are, shared memory and pipes.
//! - **`mp::init()` comes first in `main`**: Rust's `if __name__ == '__main__':`.
//!   See [`init`] and [`StartMethod`].
//!
//!
//! # From Python's names to this crate's
//!
//! Python's names, Rust's habits: a constructor returns a [`Result`], a lock
//! gives a guard that unlocks when dropped, a timeout is a
//! [`Duration`](std::time::Duration) in a method of its own (`get_timeout`,
//! `join_timeout`), and Python's `*_nowait` calls are Rust's `try_*`. Every
//! shared object is `Clone` (another handle to the same thing) and goes to a
//! child in its start arguments. Nothing here waits forever once nobody is
//! left who could wake it: where Python hangs, this crate returns an error
//! that says why.
//!
//! ## Processes
//!
//! | Python `multiprocessing` | `mp` | note |
//! |---|---|---|
//! | `Process(target=job, args=(a, b))` | [`Process::new`]`(job, (a, b))` | a plain `fn job(a: A, b: B)` of 0 to 4 arguments ([`Target`]); `()` for none, one argument as it is; it may return `Result<(), E>`, whose `Err` exits with code 1 |
//! | `p.start()`, `p.join()`, `p.join(timeout)` | [`Process::start`], [`Process::join`], [`Process::join_timeout`] | `join` returns the [`ExitStatus`] |
//! | `p.name`, `p.pid`, `p.daemon = True` | [`Process::name`] ([`Process::named`]), [`Process::pid`], [`Process::daemon`] | |
//! | `p.exitcode`, `p.is_alive()` | [`Process::exit_status`], [`Process::is_alive`] | Python's `-9` is [`ExitStatus::Signal`]`(9)` |
//! | `p.terminate()`, `p.kill()` | [`Process::terminate`], [`Process::kill`] | |
//! | `p.close()`, `Process(...).start()` with no handle kept | dropping the [`Process`] | it does not wait: the child runs on; at the program's end the children still running are joined and the daemons killed, as in Python (all killed if `main` panicked) |
//! | `current_process()`, `parent_process()` | [`current_process`], [`parent_process`] | a [`ProcessInfo`]: name, pid, `is_alive` |
//! | `active_children()` | [`active_children`] | does not reap: each child's [`Process`] does |
//! | `cpu_count()` | [`cpu_count`] | the CPUs this process may use, like Python 3.13's `os.process_cpu_count()` |
//! | `set_start_method(m)`, `get_context(m)` | [`Process::start_method`], [`PoolBuilder::start_method`] | chosen per process or pool, never globally; [`StartMethod`] |
//! | `if __name__ == '__main__':`, `freeze_support()` | [`init`], first in `main` | a spawned child is this program run again; `init` sends it to its target |
//!
//! ## Passing messages
//!
//! | Python `multiprocessing` | `mp` | note |
//! |---|---|---|
//! | `Queue()`, `SimpleQueue()` | [`Queue::new`] | one type for both: no feeder thread, `put` puts the message in the queue itself |
//! | `q.put(x)`, `q.get()`, `q.get(timeout=t)` | [`Queue::put`], [`Queue::get`], [`Queue::get_timeout`] | a timed `get` runs to its timeout, then fails with `queue.Empty`'s [`ErrorKind::QueueEmpty`] |
//! | `q.put_nowait(x)`, `q.get_nowait()` | [`Queue::try_put`], [`Queue::try_get`] | `queue.Full` is [`TryPutError::Full`], which gives the item back (its kind: [`ErrorKind::QueueFull`]); `queue.Empty` is [`ErrorKind::QueueEmpty`] |
//! | `q.qsize()`, `q.empty()`, `q.full()` | [`Queue::qsize`], [`Queue::empty`], [`Queue::full`] | as in Python, true only at the moment of asking |
//! | `q.close()` | [`Queue::close`] | then `empty()` is an error; `join_thread` and `cancel_join_thread` have nothing to do: there is no feeder thread |
//! | `JoinableQueue()`: `task_done()`, `join()` | [`JoinableQueue`]: [`JoinableQueue::task_done`], [`JoinableQueue::join`] | `join` gives up when nobody is left who could call `task_done` |
//! | `Pipe(duplex=True)` | [`pipe`]`(duplex)` | two [`Connection`]s: [`Connection::send`], [`Connection::recv`], [`Connection::recv_timeout`], [`Connection::poll`], [`Connection::close`] (this process's handle, as in Python; [`Connection::shutdown`] for every process) |
//! | `conn.send_bytes(b)`, `conn.recv_bytes()` | a [`Connection`]`<Vec<u8>>` | every message is typed; bytes are one type among others |
//!
//! ## Synchronizing
//!
//! | Python `multiprocessing` | `mp` | note |
//! |---|---|---|
//! | `Lock()`: `acquire()`, `release()`, `with lock:` | [`Lock::new`], [`Lock::lock`] | the [`LockGuard`] releases when dropped; a holder that died is reported ([`LockError::OwnerDied`]); a lock taken again by its own thread is an error ([`LockError::AlreadyHeld`]), where Python's hangs |
//! | `lock.acquire(block=False)` | [`Lock::try_lock`] | |
//! | `RLock()` | [`RLock::new`], [`RLock::lock`] | re-entrant for one thread of one process; robust like [`Lock`] |
//! | `Semaphore(n)`, `BoundedSemaphore(n)` | [`Semaphore::new`]`(n)`, [`BoundedSemaphore::new`]`(n)` | [`Semaphore::acquire`] gives a [`SemaphoreGuard`]; [`Semaphore::release`] alone is Python's bare release (refused right after this thread's guard of it gave its permit back: `sem.acquire()?; ...; sem.release()?` ported word for word is [`ErrorKind::ReleasedByItsGuard`]); past its bound, [`ErrorKind::ReleasedTooOften`] |
//! | `sem.acquire(block=False)`, `sem.acquire(timeout=t)` | [`Semaphore::try_acquire`], [`Semaphore::acquire_timeout`] | `None` where Python returns `False`; the timed one runs to its timeout |
//! | `sem.get_value()` | [`Semaphore::value`] | a dead holder's permit counts at once (Python's is lost) |
//! | `Event()`: `set`, `clear`, `is_set`, `wait` | [`Event`]: [`Event::set`], [`Event::clear`], [`Event::is_set`], [`Event::wait`] | [`Event::wait_timeout`] says whether it was set, at its timeout at the latest |
//! | `Condition()`: `wait`, `wait_for`, `notify`, `notify(n)`, `notify_all` | [`Condition::lock`], [`Condition::wait`], [`Condition::wait_timeout`], [`Condition::wait_while`], [`Condition::notify`] (one waiter), [`Condition::notify_n`], [`Condition::notify_all`] | `wait_for(pred)` is `wait_while(guard, \|\| !pred())`, as with `std::sync::Condvar` |
//! | `Barrier(n)`: `wait`, `abort`, `broken` | [`Barrier::new`]`(n)`: [`Barrier::wait`], [`Barrier::abort`], [`Barrier::is_broken`] | a party that dies or times out breaks it for all |
//! | `barrier.wait(timeout)`, `parties`, `n_waiting` | [`Barrier::wait_timeout`], [`Barrier::parties`], [`Barrier::n_waiting`] | |
//!
//! ## Sharing memory
//!
//! | Python `multiprocessing` | `mp` | note |
//! |---|---|---|
//! | `Value('i', 0)` | [`Value::new`]`(0i32)` | the Rust type replaces the type code; [`Value::get`] and [`Value::set`] each take its lock, and return a `Result` whose one error is that lock held already by this thread (inside a [`Value::lock`]) |
//! | `v.get_lock()`, `with v.get_lock(): v.value += 1` | [`Value::lock`] | a [`ValueGuard`]: a locked read-modify-write |
//! | `Array('i', [1, 2, 3])` | [`Array::new`]`(&[1, 2, 3])` | [`Array::lock`] for the whole array at once |
//! | `RawValue('i', 0)` | [`AtomicValue::new`]`(0)` | no lock, but atomic: `fetch_add` cannot lose an update |
//! | `RawArray` | [`Array`], or [`SharedSlice`] for data written once and then only read | an `Array` keeps its lock, which costs little when nobody else holds it; a `SharedSlice` has none, since nobody can write it, so any number of processes read it at once |
//!
//! ## Pools
//!
//! | Python `multiprocessing` | `mp` | note |
//! |---|---|---|
//! | `Pool(3)` | [`Pool::new`]`(3)` | dropping it terminates it, like leaving `with Pool(3) as pool:` |
//! | `Pool(processes, initializer, initargs, maxtasksperchild)` | [`Pool::builder`]: [`PoolBuilder::processes`], [`PoolBuilder::initializer`], [`PoolBuilder::max_tasks_per_child`] | the default size is [`cpu_count`]; `initargs` may hold a `Lock`, `Queue` or `Value`, as in Python |
//! | `pool.apply(f, (x,))`, `pool.apply_async(f, (x,))` | [`Pool::apply`], [`Pool::apply_async`] | `()` for none, one argument as it is, two to four as a tuple, for a `fn` of that many |
//! | `pool.map(f, xs)`, `pool.map(f, xs, chunksize)` | [`Pool::map`], [`Pool::map_chunked`] | |
//! | `pool.map_async(f, xs)` | [`Pool::map_async`] | an [`AsyncResult`] of the whole list |
//! | `pool.starmap(f, pairs)`, `pool.starmap_async(f, pairs)` | [`Pool::starmap`], [`Pool::starmap_async`] | for a `fn` of two to four arguments |
//! | `pool.imap(f, xs)`, `pool.imap_unordered(f, xs)` | [`Pool::imap`], [`Pool::imap_unordered`] | iterators of `Result`s |
//! | `pool.close()`, `pool.join()`, `pool.terminate()` | [`Pool::close`], [`Pool::join`], [`Pool::terminate`] | `join` closes the pool itself |
//! | `res.get()`, `res.get(timeout)` | [`AsyncResult::get`], [`AsyncResult::get_timeout`] | |
//! | `res.ready()`, `res.wait()`, `res.wait(timeout)`, `res.successful()` | [`AsyncResult::ready`], [`AsyncResult::wait`], [`AsyncResult::wait_timeout`], [`AsyncResult::successful`] | `successful` is `None` where Python raises `ValueError` |
//!
//! ## Errors
//!
//! One [`Error`] type whose [`ErrorKind`] tells the cases apart, instead of
//! Python's exceptions, one kind for each: `TimeoutError` is
//! [`ErrorKind::Timeout`]; `queue.Empty` (from `get_nowait()` or a timed
//! `get`) and `queue.Full`, [`ErrorKind::QueueEmpty`] and [`ErrorKind::QueueFull`];
//! `BrokenBarrierError`, [`ErrorKind::BrokenBarrier`]; `JoinableQueue`'s
//! `ValueError` for a `task_done` too many, [`ErrorKind::TaskDoneTooOften`];
//! a task's exception, [`ErrorKind::TaskPanicked`]; and so on. Some have no
//! Python counterpart because Python hangs instead: [`ErrorKind::WorkerDied`],
//! [`ErrorKind::QueueAbandoned`], [`ErrorKind::WaitAbandoned`],
//! [`ErrorKind::OwnerDied`]. Those are returned only by waits *without* a
//! timeout: a wait with one runs to its timeout and says so the way Python
//! does. Who counts as "somebody left" is one rule for the whole crate:
//! another thread of the waiting process, a child it started that still runs
//! (a pool's workers included), or, in a child, its parent.
//!
//! # What this crate leaves out, on purpose
//!
//! | Python | why not here | the Rust way |
//! |---|---|---|
//! | `Manager()` and its proxies (`manager.dict()`, `manager.list()`, `Namespace`) | a server process that holds Python objects and answers every access over a socket: slow, and the objects are Python's | between threads, `Arc<Mutex<HashMap<K, V>>>`; between processes, plain data in a [`Value`] or [`Array`], or one process that owns the map and answers requests that come on a [`Queue`] |
//! | the `forkserver` start method, `set_forkserver_preload` | it exists so that a program with threads need not fork itself | [`StartMethod::Spawn`]: it inherits nothing by accident (and forking with threads alive prints a warning) |
//! | `shared_memory.SharedMemory`, `ShareableList` | untyped bytes under a name that must be unlinked by hand, or they outlive every process | [`Array<T>`](Array) and [`Value<T>`](Value): typed, locked, and freed by the kernel when the last process lets go; [`SharedSlice<T>`](SharedSlice) for big data written once and read by every process without a lock; between threads, borrow with `std::thread::scope` |
//! | `Listener`, `Client`, `connection.wait`, `authkey` | connections between unrelated programs, with authentication: networking, not a parent and its children | `std::net::TcpListener` or `std::os::unix::net::UnixListener` with serde; to wait on many sources, a thread per source feeding a channel, or `crossbeam_channel::select!` |
//! | `Pool(...)` `callback=` and `error_callback=` | the pool has no thread of its own to call them from | [`AsyncResult::get`] where the result is needed, or [`Pool::imap_unordered`] to handle each result as it comes |
//! | `multiprocessing.pool.ThreadPool`, `multiprocessing.dummy` | threads need no serialization and no processes | `std::thread::scope`, or rayon's `par_iter()` |
//! | `Queue(maxsize)`, `put(timeout=...)`, `Lock.acquire(timeout=...)` | a queue holds 16,384 messages (of long ones, what its pipe holds); a robust lock here waits or tries | [`Queue::full`] or [`Queue::qsize`] before putting, or a [`Semaphore`] to bound the work in flight; [`Lock::try_lock`] |
//! | `Process.run()` overridden in a subclass, `sentinel` | Rust has no subclassing; a pidfd is not exposed | the target `fn` is the run; [`Process::join_timeout`] and [`Process::is_alive`] |
//! | `set_executable()`, `reducer`, `allow_connection_pickling` | a spawned child must be this very executable: a function crosses as its place in the code | nothing to set |
//! | `Barrier(parties, action, timeout)`, `barrier.reset()` | an action and a default timeout kept in shared memory would have to be a `fn` and a number every party agrees on, for little gain; `reset` while parties wait is racy in Python too | the party whose [`Barrier::wait`] returns index 0 runs the action (`if barrier.wait()? == 0 { action() }`; the others do not wait for it: add a second `wait` if they must); [`Barrier::wait_timeout`] on each wait; a new [`Barrier`] instead of `reset()` |
//! | `Condition(lock)`, `Value(..., lock=l)`, `Array(..., lock=l)` | each primitive keeps its lock in its own shared memory, beside what it guards | guard shared state with the [`Condition`]'s own lock ([`Condition::lock`]); keep values that change together in one [`Array`], or in [`AtomicValue`]s changed only while one [`Lock`] is held |
//! | `log_to_stderr()`, `get_logger()` | not the crate's business | the `log` or `tracing` crates; a child's panic is printed with its name and pid |
//!
//! Unix only: Windows has no `fork`, and this crate says so at compile time.

#[cfg(not(unix))]
compile_error!(
    "the mp crate needs Unix (fork, pipes, process-shared mutexes); Windows is not supported"
);

// The ground: system calls, and the one error type. They import nothing of
// the crate above them, with one exception: error names ExitStatus, a plain
// value of process kept in a file that depends on nothing (process/status.rs).
mod error;
mod sys;

// Plumbing shared by everything above: memory every process maps, the typed
// view of it (a header and a table of slots) that every primitive uses, file
// descriptors handed to a spawned child, and the codec that turns values into
// the bytes every message carries.
mod codec;
mod inherit;
mod region;
mod shm;

// The concepts, from the ground up: each module imports only the modules of its
// own layer and the layers listed before it, never one after it (a test,
// tests/layering.rs, keeps it so). rustfmt sorts consecutive `mod` lines, so
// each layer stands alone.

// Processes: start, join, fork and spawn, who is who.
pub mod process;

// Locks, and every primitive that waits (built on them and on `process`).
pub mod sync;

// Plain data in shared memory, each value or array with its lock.
pub mod shared;

// Messages between processes: queues, pipes, the framed channel.
pub mod ipc;

// The pool of worker processes, built on all of the above.
pub mod pool;

pub use error::{Error, ErrorKind, OsError, Result};
pub use ipc::{Connection, Fd, JoinableQueue, Queue, TryPutError, pipe};
pub use pool::{AsyncResult, IMap, IMapUnordered, Pool, PoolBuilder};
pub use process::{
    ExitStatus, Outcome, Process, ProcessInfo, StartMethod, Target, active_children, cpu_count,
    current_process, current_process_name, init, parent_process,
};
pub use shared::{
    Array, ArrayGuard, AtomicInteger, AtomicPlain, AtomicValue, Plain, SharedSlice, Value,
    ValueGuard,
};
pub use sync::{
    Barrier, BoundedSemaphore, Condition, ConditionGuard, Event, Lock, LockError, LockGuard,
    LockResult, OwnerDied, RLock, RLockGuard, Semaphore, SemaphoreGuard, WaitError, WaitResult,
};
