//! Python's `multiprocessing`, in Rust, on Unix.
//!
//! This crate gives Rust programs the vocabulary of Python's
//! `multiprocessing` module — [`Process`], [`Queue`], [`Pool`], [`Value`],
//! [`Array`], [`Lock`] — so that the lessons of a Python tutorial can be
//! ported line for line. It is small on purpose: read its source to see how
//! processes, pipes, shared memory and process-shared locks really work.
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
//! Unix only: Windows has no `fork`, and this crate says so at compile time.

#[cfg(not(unix))]
compile_error!(
    "the mp crate needs Unix (fork, pipes, process-shared mutexes); Windows is not supported"
);

// The ground: system calls, and the one error type. They import nothing of
// the crate above them (`error` only takes `ExitStatus` from `sys`).
mod error;
mod sys;

// Plumbing shared by everything above: memory every process maps, and file
// descriptors handed to a spawned child.
mod inherit;
mod shm;

// The concepts, lowest first: each module imports only those listed before it.
pub mod ipc;
pub mod pool;
pub mod process;
pub mod shared;
pub mod sync;

pub use error::{Error, ErrorKind, Result};
pub use ipc::Queue;
pub use pool::{AsyncResult, IMap, IMapUnordered, Pool, PoolBuilder};
pub use process::{
    ExitStatus, Process, ProcessInfo, StartMethod, active_children, cpu_count, current_process,
    current_process_name, init, parent_process,
};
pub use shared::{Array, ArrayGuard, AtomicPlain, AtomicValue, Plain, Value, ValueGuard};
pub use sync::{Lock, LockGuard, LockResult, OwnerDied};
