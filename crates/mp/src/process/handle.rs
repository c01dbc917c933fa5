//! The `Process` handle: one child process, made from a target and its
//! arguments, started by fork or spawn, then joined, asked about, or
//! signalled (Python's `multiprocessing.Process`).

use std::any::Any;
use std::fmt;
use std::marker::PhantomData;
use std::os::fd::RawFd;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::child::{fail_child, install_child_panic_hook};
use super::children::children;
use super::function::RemoteFn;
use super::identity::{ChildInfo, STARTED_HERE, child_number_prefix};
use super::info::current_process_name;
use super::status::decode_status;
use super::{ExitStatus, Outcome, Target, exit, fork, spawn};
use crate::error::{Error, ErrorKind, Result};
use crate::{codec, inherit, sys};

/// How a child process comes to life. Python has the same two (and a third,
/// forkserver, which this crate leaves out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StartMethod {
    /// The child is a copy of the parent, made by `fork()`: its memory, its open
    /// files, everything but the other threads. Fast. The default on Linux.
    #[cfg_attr(target_os = "linux", default)]
    Fork,
    /// The child is this same program started afresh; [`init`](super::init), called first in
    /// `main`, sends it to its target function. Slower, but it inherits nothing
    /// by accident, so it is safe in a program with threads. The default on macOS.
    #[cfg_attr(not(target_os = "linux"), default)]
    Spawn,
}

/// A function to run in a child process, with its argument: Python's
/// `multiprocessing.Process(target=job, args=(...,))`.
///
/// The target is a plain `fn`, not a closure (see the crate docs); several
/// arguments travel as one tuple. Start it, then join it:
///
/// ```
/// fn job(n: u64) {
///     println!("child {} got {n}", std::process::id());
/// }
///
/// fn main() -> mp::Result<()> {
///     mp::init(); // first line of main: needed by the spawn start method
///     let mut p = mp::Process::new(job, 7);
///     p.start()?;
///     assert!(p.join()?.success());
///     Ok(())
/// }
/// ```
///
/// A `Process` dropped while its child still runs does not wait: the child
/// runs on beside the others, as in Python, where `Process(...).start()`
/// keeps no handle. The crate keeps the child in its list: it is reaped once
/// it has ended (at the next `start` or [`active_children`](super::active_children)), and when the
/// program ends the children still running are waited for, the daemons (see
/// [`Process::daemon`]) killed, and all reaped, as Python does at exit. If
/// `main` panicked, every child is killed and reaped instead. A `Process`
/// dropped while its own thread is panicking kills and reaps its child. Never
/// a zombie, never an orphan: see `process/exit.rs` for how and when.
pub struct Process {
    name: String,
    /// Python's `_identity`: the child's number among the children of its
    /// parent, after the parent's own identity: `"1:2"` for `Process-1:2`.
    identity: String,
    method: StartMethod,
    daemon: bool,
    /// Kill and reap the child when this is dropped (a pool's workers).
    kill_on_drop: bool,
    job: Option<Box<dyn Job + Send>>,
    state: ProcessState,
}

#[derive(Debug, Clone, Copy)]
enum ProcessState {
    Created,
    Running(libc::pid_t),
    Ended(libc::pid_t, ExitStatus),
}

impl Process {
    /// A process that will run `target` on `args`; nothing starts until
    /// [`Process::start`] (Python's `Process(target=job, args=(...))`).
    ///
    /// `target` is a plain `fn` of zero to four arguments (see [`Target`]),
    /// and `args` Python's `args` tuple: `()` for none, the value itself for
    /// one, `(a, b)` for two, up to four. It may return nothing, or a
    /// `Result<(), E>` whose `Err` ends the child with exit code 1 and its
    /// message on stderr, as an uncaught exception does in Python; so `?`
    /// works inside it.
    ///
    /// ```
    /// fn add(results: mp::Queue<u64>, a: u64, b: u64) -> mp::Result<()> {
    ///     results.put(a + b)?; // `?` in a target: an Err ends the child with code 1
    ///     Ok(())
    /// }
    ///
    /// fn main() -> mp::Result<()> {
    ///     mp::init();
    ///     let results = mp::Queue::new()?;
    ///     // Python: Process(target=add, args=(results, 2, 3))
    ///     let mut p = mp::Process::new(add, (results.clone(), 2, 3));
    ///     p.start()?;
    ///     p.join()?;
    ///     assert_eq!(results.get()?, 5);
    ///     Ok(())
    /// }
    /// ```
    ///
    /// Arguments are serialized, so they own their data: a `String`, not a
    /// `&str`; a `Vec`, not a slice. A borrowed argument does not compile,
    /// and the compiler's words for it are "implementation of `Deserialize`
    /// is not general enough": read them as "use `String`".
    ///
    /// ```compile_fail
    /// fn greet(name: &str) {
    ///     println!("hello {name}");
    /// }
    /// let _ = mp::Process::new(greet, "bob"); // use `String` and `"bob".to_owned()`
    /// ```
    pub fn new<M, F>(target: F, args: F::Args) -> Self
    where
        M: 'static,
        F: Target<M>,
        F::Args: Serialize + DeserializeOwned + Send + 'static,
        F::Output: Outcome,
    {
        let n = STARTED_HERE.fetch_add(1, Ordering::Relaxed) + 1;
        // Python numbers a child after its parent: the first child of
        // `Process-1` is `Process-1:1`.
        let identity = format!("{}{n}", child_number_prefix());
        Process {
            name: format!("Process-{identity}"),
            identity,
            method: StartMethod::default(),
            daemon: false,
            kill_on_drop: false,
            job: Some(Box::new(TargetCall {
                target,
                args,
                _marker: PhantomData,
            })),
            state: ProcessState::Created,
        }
    }

    /// Names the process (Python's `name=`). The default is `Process-N` for
    /// the N-th process made here, and, as in Python, a child's children
    /// carry its number first: the first child of `Process-2` is `Process-2:1`.
    #[doc(alias("name"))]
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Chooses how the child starts: [`StartMethod::Fork`] or [`StartMethod::Spawn`].
    #[doc(alias("set_start_method", "get_context"))]
    pub fn start_method(mut self, method: StartMethod) -> Self {
        self.method = method;
        self
    }

    /// A daemon process is killed, not waited for, when the program ends
    /// (Python's `daemon=True`). Dropping its `Process` does not kill it.
    pub fn daemon(mut self, daemon: bool) -> Self {
        self.daemon = daemon;
        self
    }

    /// Makes dropping this `Process` kill and reap its child at once: for
    /// the pool's workers, which the pool owns.
    pub(crate) fn kill_on_drop(mut self) -> Self {
        self.kill_on_drop = true;
        self
    }

    /// The process's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its number among the processes this one made (Python's `_identity`):
    /// `"3"` for `Process-3`, `"1:2"` for `Process-1:2`, whatever its name.
    pub(crate) fn identity(&self) -> &str {
        &self.identity
    }

    /// The child's pid, once started.
    pub fn pid(&self) -> Option<u32> {
        match self.state {
            ProcessState::Created => None,
            ProcessState::Running(pid) | ProcessState::Ended(pid, _) => Some(pid as u32),
        }
    }

    /// Starts the child (Python's `start()`). A process starts once.
    pub fn start(&mut self) -> Result<()> {
        let Some(job) = self.job.take() else {
            return Err(ErrorKind::AlreadyStarted {
                name: self.name.clone(),
            }
            .into());
        };
        if !job.findable() {
            return Err(not_findable());
        }
        exit::install();
        exit::reap_dropped();
        // Also with spawn only: the hook is what tells `exit.rs` that `main`
        // panicked, so that its children are killed, not waited for.
        install_child_panic_hook();
        let me = ChildInfo {
            parent: sys::pid() as libc::pid_t,
            parent_name: current_process_name().to_owned(),
            name: self.name.clone(),
            identity: self.identity.clone(),
        };
        let pid = match self.method {
            StartMethod::Fork => fork::fork_child(me, job, self.daemon)?,
            StartMethod::Spawn => spawn::spawn_child(me, job.as_ref(), self.daemon)?,
        };
        self.state = ProcessState::Running(pid);
        Ok(())
    }

    /// Waits for the child to end, reaps it, and returns how it ended
    /// (Python's `join()`, then `exitcode`). Joining an ended process again
    /// returns the same status.
    pub fn join(&mut self) -> Result<ExitStatus> {
        match self.state {
            ProcessState::Created => Err(ErrorKind::NotStarted {
                name: self.name.clone(),
            }
            .into()),
            ProcessState::Ended(_, status) => Ok(status),
            ProcessState::Running(pid) => {
                let status = sys::waitpid(pid, true)
                    .map_err(|e| Error::os("wait for a child process", e))?
                    .expect("a blocking waitpid returns a status");
                Ok(self.ended(pid, decode_status(status)))
            }
        }
    }

    /// Like [`Process::join`], but gives up after `timeout`: `Ok(None)` if the
    /// child is still running then (Python's `join(timeout)`).
    #[doc(alias("join"))]
    pub fn join_timeout(&mut self, timeout: Duration) -> Result<Option<ExitStatus>> {
        let Some(deadline) = Instant::now().checked_add(timeout) else {
            // Later than any clock can tell (`Duration::MAX`): no limit.
            return self.join().map(Some);
        };
        let mut pause = Duration::from_micros(50);
        loop {
            if let Some(status) = self.try_join()? {
                return Ok(Some(status));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            std::thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(Duration::from_millis(5));
        }
    }

    /// Reaps the child if it has ended; `Ok(None)` if it is still running.
    fn try_join(&mut self) -> Result<Option<ExitStatus>> {
        match self.state {
            ProcessState::Created => Err(ErrorKind::NotStarted {
                name: self.name.clone(),
            }
            .into()),
            ProcessState::Ended(_, status) => Ok(Some(status)),
            ProcessState::Running(pid) => Ok(sys::waitpid(pid, false)
                .map_err(|e| Error::os("check on a child process", e))?
                .map(|status| self.ended(pid, decode_status(status)))),
        }
    }

    fn ended(&mut self, pid: libc::pid_t, status: ExitStatus) -> ExitStatus {
        self.state = ProcessState::Ended(pid, status);
        children().retain(|child| child.pid != pid);
        status
    }

    /// Whether the child has started and not yet ended (Python's `is_alive()`).
    pub fn is_alive(&mut self) -> bool {
        matches!(self.state, ProcessState::Running(_)) && matches!(self.try_join(), Ok(None))
    }

    /// How the child ended, if it has been joined (Python's `exitcode`).
    #[doc(alias("exitcode"))]
    pub fn exit_status(&self) -> Option<ExitStatus> {
        match self.state {
            ProcessState::Ended(_, status) => Some(status),
            _ => None,
        }
    }

    /// Asks the child to stop: sends `SIGTERM` (Python's `terminate()`). Join it afterwards.
    pub fn terminate(&self) -> Result<()> {
        self.signal(libc::SIGTERM)
    }

    /// Stops the child at once: sends `SIGKILL` (Python's `kill()`). Join it afterwards.
    pub fn kill(&self) -> Result<()> {
        self.signal(libc::SIGKILL)
    }

    fn signal(&self, signal: libc::c_int) -> Result<()> {
        match self.state {
            ProcessState::Created => Err(ErrorKind::NotStarted {
                name: self.name.clone(),
            }
            .into()),
            ProcessState::Ended(..) => Ok(()), // already gone: nothing to stop
            ProcessState::Running(pid) => {
                sys::kill(pid, signal).map_err(|e| Error::os("signal a child process", e))
            }
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let ProcessState::Running(pid) = self.state else {
            return;
        };
        if self.kill_on_drop || std::thread::panicking() {
            let _ = sys::kill(pid, libc::SIGKILL);
            if let Ok(Some(status)) = sys::waitpid(pid, true) {
                self.ended(pid, decode_status(status));
            }
        } else if let Some(child) = children().iter_mut().find(|child| child.pid == pid) {
            // It runs on; `exit.rs` reaps it (see the type's docs).
            child.dropped = true;
        }
    }
}

impl fmt::Debug for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Process")
            .field("name", &self.name)
            .field("pid", &self.pid())
            .field("method", &self.method)
            .field("exit_status", &self.exit_status())
            .finish()
    }
}

/// A target with its argument, type-erased so that `Process` needs no type parameter.
pub(super) trait Job {
    /// Whether another process can find the target (it is no capturing closure).
    fn findable(&self) -> bool;
    /// Runs the target here (in a forked child): `Err` with its message if
    /// it returned one.
    fn run(self: Box<Self>) -> std::result::Result<(), String>;
    /// Describes the call for a spawned child: the function, and the argument's
    /// bytes with the file descriptors they name.
    fn encode(&self) -> Result<(RemoteFn, Vec<u8>, Vec<RawFd>)>;
}

struct TargetCall<F: Target<M>, M> {
    target: F,
    args: F::Args,
    _marker: PhantomData<fn() -> M>,
}

/// A spawned child's entry for a target whose outcome matters: calls it and
/// ends the child if it returned an `Err` (see [`Outcome`]).
pub(super) fn call_with_outcome<F: Target<M>, M>(args: F::Args)
where
    F::Output: Outcome,
{
    let target = F::zero_sized_fn().expect("checked before the child was spawned");
    if let Err(message) = target(args).into_failure() {
        fail_child(&message);
    }
}

impl<F, M> Job for TargetCall<F, M>
where
    M: 'static,
    F: Target<M>,
    F::Args: Serialize + DeserializeOwned + 'static,
    F::Output: Outcome,
{
    fn findable(&self) -> bool {
        self.target.as_fn().is_some()
    }

    fn run(self: Box<Self>) -> std::result::Result<(), String> {
        self.target.call(self.args).into_failure()
    }

    fn encode(&self) -> Result<(RemoteFn, Vec<u8>, Vec<RawFd>)> {
        let (bytes, fds) = inherit::collect_outgoing(|| codec::to_bytes(&self.args));
        let plain = self.target.as_fn();
        // A target that returns nothing is called as it is; one that returns
        // a `Result` goes through a function that looks at it.
        let returns_nothing = plain
            .as_ref()
            .and_then(|plain| (plain as &dyn Any).downcast_ref::<fn(F::Args)>());
        let function = match returns_nothing {
            Some(&plain) => RemoteFn::new(plain),
            None if F::zero_sized_fn().is_some() => RemoteFn::new(call_with_outcome::<F, M>),
            None => return Err(not_findable()),
        };
        Ok((function, bytes?, fds))
    }
}

/// The error for a target that another process cannot find.
pub(super) fn not_findable() -> Error {
    ErrorKind::InvalidArgument(
        "a process's target must be a plain fn (or a closure that captures nothing): a closure's \
         captured values live in this process only; pass them in the arguments instead",
    )
    .into()
}
