//! Setting a pool up before it starts (`Pool::builder`): how many workers,
//! how they start, what each runs first, how many tasks each may run.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Pool;
use super::engine::{Engine, Settings};
use super::init::Initializer;
use crate::error::{ErrorKind, Result};
use crate::process::{StartMethod, cpu_count};

/// How a pool is set up, before it starts: [`Pool::builder`]. Each setting
/// has Python's name for it in its docs.
#[derive(Debug)]
#[must_use = "a builder does nothing until `build` starts the pool"]
pub struct PoolBuilder {
    pub(super) processes: Option<usize>,
    pub(super) method: StartMethod,
    pub(super) init: Option<Initializer>,
    pub(super) max_tasks: Option<usize>,
}

impl PoolBuilder {
    /// How many worker processes (Python's `processes`); the default is one
    /// per CPU this process may use, [`crate::cpu_count`].
    pub fn processes(mut self, processes: usize) -> Self {
        self.processes = Some(processes);
        self
    }

    /// How the workers start (Python's `get_context("spawn").Pool(...)`);
    /// the default is [`StartMethod::default`].
    pub fn start_method(mut self, method: StartMethod) -> Self {
        self.method = method;
        self
    }

    /// Runs `initializer(arg)` once in every worker before its first task,
    /// replacement workers included (Python's `initializer` and `initargs`).
    /// Several arguments go as one tuple.
    ///
    /// The argument may hold shared objects, as Python's `initargs` may: a
    /// `Lock`, a `Queue`, a `Value`, with fork and spawn alike. Python's
    /// documented way to give every worker a lock:
    ///
    /// ```
    /// use std::sync::OnceLock;
    ///
    /// static LOCK: OnceLock<mp::Lock> = OnceLock::new();
    ///
    /// fn init(lock: mp::Lock) {
    ///     LOCK.set(lock).expect("once per worker");
    /// }
    ///
    /// fn job(x: u64) -> u64 {
    ///     let _guard = LOCK.get().expect("set by init").lock().unwrap();
    ///     x * x
    /// }
    ///
    /// fn main() -> mp::Result<()> {
    ///     mp::init();
    ///     let lock = mp::Lock::new()?;
    ///     let pool = mp::Pool::builder().processes(2).initializer(init, lock).build()?;
    ///     assert_eq!(pool.map(job, 0..4)?, [0, 1, 4, 9]);
    ///     Ok(())
    /// }
    /// ```
    ///
    /// If the initializer panics in a worker, that worker runs no task: every
    /// task given to it fails with [`ErrorKind::InitializerFailed`] and the
    /// panic's message. (Python's worker dies, and its pool starts a new one
    /// again and again.)
    #[doc(alias("initargs"))]
    pub fn initializer<A>(mut self, initializer: fn(A), arg: A) -> Self
    where
        A: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        self.init = Some(Initializer::new(initializer, arg));
        self
    }

    /// Replaces each worker with a fresh process once it has done `tasks`
    /// tasks (Python's `maxtasksperchild`); by default a worker lives as long
    /// as the pool. A task is one call of [`Pool::apply_async`], or one chunk
    /// of a `map`, as in Python.
    #[doc(alias("maxtasksperchild"))]
    pub fn max_tasks_per_child(mut self, tasks: usize) -> Self {
        self.max_tasks = Some(tasks);
        self
    }

    /// Starts the pool's workers.
    pub fn build(self) -> Result<Pool> {
        let size = self.processes.unwrap_or_else(cpu_count);
        if size == 0 {
            return Err(ErrorKind::InvalidArgument(
                "Pool::new(0): a pool needs at least one worker process; \
                 ask for 1 or more (one per CPU is mp::cpu_count())",
            )
            .into());
        }
        if self.max_tasks == Some(0) {
            return Err(ErrorKind::InvalidArgument(
                "max_tasks_per_child(0): a worker must be allowed at least one task; \
                 pass 1 or more, or leave it out for workers that live as long as the pool",
            )
            .into());
        }
        Ok(Pool {
            engine: Engine::start(Settings {
                size,
                method: self.method,
                init: self.init,
                max_tasks: self.max_tasks,
            })?,
        })
    }
}
