//! Starting a function in a child process: Python's `multiprocessing.Process`.

use std::any::Any;
use std::fmt;
use std::io::Write;
use std::marker::PhantomData;
use std::os::fd::RawFd;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

mod exit;
pub(crate) mod function;
mod spawn;
mod target;

use self::function::RemoteFn;
use crate::error::{Error, ErrorKind, Result, panic_message};
use crate::{codec, inherit, sys};

pub use self::spawn::init;
pub use self::target::{Outcome, Target};
pub use crate::sys::ExitStatus;

/// How a child process comes to life. Python has the same two (and a third,
/// forkserver, which this crate leaves out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StartMethod {
    /// The child is a copy of the parent, made by `fork()`: its memory, its open
    /// files, everything but the other threads. Fast. The default on Linux.
    #[cfg_attr(target_os = "linux", default)]
    Fork,
    /// The child is this same program started afresh; [`init`], called first in
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
/// it has ended (at the next `start` or [`active_children`]), and when the
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
    state: State,
}

#[derive(Debug, Clone, Copy)]
enum State {
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
            job: Some(Box::new(Call {
                target,
                args,
                _marker: PhantomData,
            })),
            state: State::Created,
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
            State::Created => None,
            State::Running(pid) | State::Ended(pid, _) => Some(pid as u32),
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
            StartMethod::Fork => fork_child(me, job, self.daemon)?,
            StartMethod::Spawn => spawn::spawn_child(me, job.as_ref(), self.daemon)?,
        };
        self.state = State::Running(pid);
        Ok(())
    }

    /// Waits for the child to end, reaps it, and returns how it ended
    /// (Python's `join()`, then `exitcode`). Joining an ended process again
    /// returns the same status.
    pub fn join(&mut self) -> Result<ExitStatus> {
        match self.state {
            State::Created => Err(ErrorKind::NotStarted {
                name: self.name.clone(),
            }
            .into()),
            State::Ended(_, status) => Ok(status),
            State::Running(pid) => {
                let status = sys::waitpid(pid, true)
                    .map_err(|e| Error::os("wait for a child process", e))?
                    .expect("a blocking waitpid returns a status");
                Ok(self.ended(pid, status))
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
            State::Created => Err(ErrorKind::NotStarted {
                name: self.name.clone(),
            }
            .into()),
            State::Ended(_, status) => Ok(Some(status)),
            State::Running(pid) => Ok(sys::waitpid(pid, false)
                .map_err(|e| Error::os("check on a child process", e))?
                .map(|status| self.ended(pid, status))),
        }
    }

    fn ended(&mut self, pid: libc::pid_t, status: ExitStatus) -> ExitStatus {
        self.state = State::Ended(pid, status);
        children().retain(|child| child.pid != pid);
        status
    }

    /// Whether the child has started and not yet ended (Python's `is_alive()`).
    pub fn is_alive(&mut self) -> bool {
        matches!(self.state, State::Running(_)) && matches!(self.try_join(), Ok(None))
    }

    /// How the child ended, if it has been joined (Python's `exitcode`).
    #[doc(alias("exitcode"))]
    pub fn exit_status(&self) -> Option<ExitStatus> {
        match self.state {
            State::Ended(_, status) => Some(status),
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
            State::Created => Err(ErrorKind::NotStarted {
                name: self.name.clone(),
            }
            .into()),
            State::Ended(..) => Ok(()), // already gone: nothing to stop
            State::Running(pid) => {
                sys::kill(pid, signal).map_err(|e| Error::os("signal a child process", e))
            }
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let State::Running(pid) = self.state else {
            return;
        };
        if self.kill_on_drop || std::thread::panicking() {
            let _ = sys::kill(pid, libc::SIGKILL);
            if let Ok(Some(status)) = sys::waitpid(pid, true) {
                self.ended(pid, status);
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
trait Job {
    /// Whether another process can find the target (it is no capturing closure).
    fn findable(&self) -> bool;
    /// Runs the target here (in a forked child): `Err` with its message if
    /// it returned one.
    fn run(self: Box<Self>) -> std::result::Result<(), String>;
    /// Describes the call for a spawned child: the function, and the argument's
    /// bytes with the file descriptors they name.
    fn encode(&self) -> Result<(RemoteFn, Vec<u8>, Vec<RawFd>)>;
}

struct Call<F: Target<M>, M> {
    target: F,
    args: F::Args,
    _marker: PhantomData<fn() -> M>,
}

/// A spawned child's entry for a target whose outcome matters: calls it and
/// ends the child if it returned an `Err` (see [`Outcome`]).
fn call_with_outcome<F: Target<M>, M>(args: F::Args)
where
    F::Output: Outcome,
{
    let target = F::zero_sized_fn().expect("checked before the child was spawned");
    if let Err(message) = target(args).into_failure() {
        fail_child(&message);
    }
}

impl<F, M> Job for Call<F, M>
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
fn not_findable() -> Error {
    ErrorKind::InvalidArgument(
        "a process's target must be a plain fn (or a closure that captures nothing): a closure's \
         captured values live in this process only; pass them in the arguments instead",
    )
    .into()
}

/// A child this process has started and not yet reaped.
struct Child {
    pid: libc::pid_t,
    name: String,
    /// Killed, not waited for, when this process ends.
    daemon: bool,
    /// Its `Process` was dropped while it ran: nobody else will reap it.
    dropped: bool,
}

/// The children this process has started and not yet reaped.
fn children() -> MutexGuard<'static, Vec<Child>> {
    static CHILDREN: Mutex<Vec<Child>> = Mutex::new(Vec::new());
    CHILDREN
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Who this process is, if it is a child started by this crate.
#[derive(Serialize, Deserialize)]
struct ChildInfo {
    parent: libc::pid_t,
    /// The parent's own name, for [`parent_process`].
    parent_name: String,
    name: String,
    /// See [`Process`]'s field of the same name.
    identity: String,
}

/// How many processes this process has made: numbers its children. Every
/// child starts counting afresh, as in Python.
static STARTED_HERE: AtomicUsize = AtomicUsize::new(0);

/// Who this process is: `None` in the main process.
///
/// A child copies its parent's memory, this static included, so it must be
/// rewritten in every child, at any depth: a `OnceLock` set in a child would
/// stay set, with the wrong name and parent, in that child's own children.
static CHILD: Identity = Identity(AtomicPtr::new(std::ptr::null_mut()));

/// A pointer to this process's [`ChildInfo`], replaced (never changed in
/// place) when a child starts.
struct Identity(AtomicPtr<ChildInfo>);

impl Identity {
    fn get(&self) -> Option<&'static ChildInfo> {
        // SAFETY: the pointer is null, or comes from `Box::into_raw` in `set`
        // and is never freed, so it is valid for the rest of the process.
        unsafe { self.0.load(Ordering::Acquire).as_ref() }
    }

    /// Makes `info` this process's identity. The value it replaces (the
    /// parent's, copied by fork) is leaked, not freed: `&'static` references
    /// to it may be alive. One small leak per process.
    fn set(&self, info: ChildInfo) {
        self.0
            .store(Box::into_raw(Box::new(info)), Ordering::Release);
    }
}

/// What a child's number starts with in this process: `""` in the main
/// process, `"1:"` in `Process-1` (see [`Process::named`]).
pub(crate) fn child_number_prefix() -> String {
    CHILD
        .get()
        .map_or(String::new(), |me| format!("{}:", me.identity))
}

/// The current process's name: `MainProcess`, or the name its parent gave it
/// (Python's `multiprocessing.current_process().name`).
pub fn current_process_name() -> &'static str {
    CHILD
        .get()
        .map_or("MainProcess", |child| child.name.as_str())
}

/// Whether another process could still wake a waiter of this one: a child
/// it started that has not ended (a pool's worker included: a forked one has
/// every static of its parent), or, in a child, its parent. Part of the one
/// rule in `sync/wait.rs` (`nobody_left`).
pub(crate) fn others_alive() -> bool {
    parent_alive() || children().iter().any(|child| !sys::has_exited(child.pid))
}

/// A process as another sees it: its name and pid. What
/// [`current_process`], [`parent_process`] and [`active_children`] return
/// (Python returns `Process` objects there; here a [`Process`] is the handle
/// that owns its child, so these are plain descriptions instead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    name: String,
    pid: u32,
    relation: Relation,
}

/// How a [`ProcessInfo`]'s process is related to the one holding it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relation {
    Current,
    Parent,
    Child,
}

impl ProcessInfo {
    /// The process's name (Python's `name`): `MainProcess`, `Process-N`, or
    /// the name given with [`Process::named`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The process's pid (Python's `pid`).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Whether the process is still running (Python's `is_alive()`), as far
    /// as this process can tell: the current process is; a parent is until
    /// it dies (then this process is handed to another parent); a child is
    /// until it ends, even before anyone joins it.
    pub fn is_alive(&self) -> bool {
        match self.relation {
            Relation::Current => true,
            Relation::Parent => sys::parent_pid() as u32 == self.pid,
            Relation::Child => !sys::has_exited(self.pid as libc::pid_t),
        }
    }
}

/// This process: its name and pid (Python's `multiprocessing.current_process()`).
///
/// The name is `MainProcess` in the program the user started, and in a child
/// the name its [`Process`] had (`Process-1`, `ForkPoolWorker-2`, …).
pub fn current_process() -> ProcessInfo {
    ProcessInfo {
        name: current_process_name().to_owned(),
        pid: sys::pid(),
        relation: Relation::Current,
    }
}

/// The process that started this one, or `None` in the main process
/// (Python's `multiprocessing.parent_process()`). It is still returned after
/// the parent died: ask [`ProcessInfo::is_alive`].
pub fn parent_process() -> Option<ProcessInfo> {
    CHILD.get().map(|child| ProcessInfo {
        name: child.parent_name.clone(),
        pid: child.parent as u32,
        relation: Relation::Parent,
    })
}

/// The children this process started that are still running (Python's
/// `multiprocessing.active_children()`), pool workers included, oldest first.
///
/// Python's version also reaps the children that have ended. Here the
/// [`Process`] handle reaps its own child (in `join`, or when dropped), so
/// an ended child is left out but stays for its handle to join.
pub fn active_children() -> Vec<ProcessInfo> {
    exit::reap_dropped();
    children()
        .iter()
        .filter(|child| !sys::has_exited(child.pid))
        .map(|child| ProcessInfo {
            name: child.name.clone(),
            pid: child.pid as u32,
            relation: Relation::Child,
        })
        .collect()
}

/// The number of CPUs this process may run on (Python's
/// `multiprocessing.cpu_count()`), and so the default size of a [`Pool`].
///
/// Python's `cpu_count()` counts every CPU of the machine; this counts those
/// the process is allowed to use (its CPU affinity and, on Linux, its
/// cgroup's quota), as Python 3.13's `os.process_cpu_count()` does, and as
/// `std::thread::available_parallelism` does, which it calls. At least 1.
///
/// [`Pool`]: crate::Pool
pub fn cpu_count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// In a child started by this crate: whether the process that started it is
/// still alive (once it dies, the child is handed to another parent).
/// `false` in the main process.
pub(crate) fn parent_alive() -> bool {
    CHILD
        .get()
        .is_some_and(|child| sys::parent_pid() == child.parent)
}

/// Forks a child that runs `job`; returns its pid.
fn fork_child(me: ChildInfo, job: Box<dyn Job>, daemon: bool) -> Result<libc::pid_t> {
    warn_if_threads(&me.name);
    install_child_panic_hook();
    // Allocate before forking: after the fork, every page either process
    // writes to is copied (copy-on-write), which is most of a fork's cost.
    // The list of children stays locked across the fork (`sys::fork` does the
    // same with stdout and stderr): another thread may be starting or joining
    // a process right now, and the child must not get a copy of the lock held
    // by a thread it does not have.
    let name = me.name.clone();
    let mut children = children();
    children.reserve(1);
    // SAFETY: the child runs only `run_child`, which runs the job and ends
    // the process with `sys::exit_child`, never returning here. The crate's
    // locks and the standard streams' are held across the fork (the list of
    // children above, the streams in `sys::fork`); any other thread's lock
    // is the program's, and `warn_if_threads` has said so when threads were
    // alive.
    match unsafe { sys::fork() }.map_err(|e| Error::os("fork a child process", e))? {
        sys::Fork::Child => {
            children.clear(); // the parent's children are not ours
            drop(children);
            run_child(me, || job.run())
        }
        sys::Fork::Parent(pid) => {
            children.push(Child {
                pid,
                name,
                daemon,
                dropped: false,
            });
            Ok(pid)
        }
    }
}

/// Prints a warning, once, when forking a process that has other threads:
/// the child gets a copy of the forking thread only, and a lock that another
/// thread held at that moment (a `Mutex` of the program's, a thread pool's)
/// stays locked forever in the child. The standard streams' locks and the
/// crate's own are safe: `fork_child` and `sys::fork` hold them across the
/// fork. Python 3.12 warns the same way.
fn warn_if_threads(name: &str) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if let Some(threads @ 2..) = sys::thread_count()
        && !WARNED.swap(true, Ordering::Relaxed)
    {
        // One write, so that the line stays whole beside other output.
        let line = format!(
            "warning: process {} has {threads} threads and forks '{name}': the child copies only \
             the forking thread and may hang on a lock another thread held (a Mutex, a thread \
             pool). Use StartMethod::Spawn in programs with threads.\n",
            std::process::id()
        );
        let _ = std::io::stderr().write_all(line.as_bytes());
    }
}

/// In a new child: runs `body`, ends its own children (see `exit.rs`), then
/// ends the process with code 0, or 1 if `body` panicked or returned an
/// error (as Python's child exits with 1 on an exception).
fn run_child(me: ChildInfo, body: impl FnOnce() -> std::result::Result<(), String>) -> ! {
    CHILD.set(me);
    STARTED_HERE.store(0, Ordering::Relaxed);
    exit::PANICKED.store(false, Ordering::Relaxed);
    match panic::catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => {
            exit::finish_children(false);
            sys::exit_child(0)
        }
        Ok(Err(message)) => fail_child(&message),
        Err(_) => {
            exit::finish_children(true);
            sys::exit_child(1)
        }
    }
}

/// Ends this child whose target returned `Err(message)`: one line on stderr,
/// "process 'Process-1' (pid 42) failed: …", its children ended, exit code 1.
fn fail_child(message: &str) -> ! {
    let line = format!(
        "process '{}' (pid {}) failed: {message}\n",
        current_process_name(),
        std::process::id()
    );
    let _ = std::io::stderr().write_all(line.as_bytes());
    exit::finish_children(false);
    sys::exit_child(1)
}

/// Installs, once and before the first child starts, a panic hook that speaks
/// for children: "process 'Process-1' (pid 42) panicked at src/main.rs:7:5: …",
/// without a backtrace (a learner wants the message, and capturing one is slow). In
/// the main process it hands over to the hook that was there before.
/// Installing it before the fork, not in the child, spares the child a write.
fn install_child_panic_hook() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| match CHILD.get() {
            Some(child) => {
                // One `write` for the whole line: two children panicking at
                // once then print two whole lines, never one mixed into the
                // other (a pipe keeps writes of up to PIPE_BUF bytes whole).
                // The place comes first, as in Rust's own panic message.
                let place = info
                    .location()
                    .map(|at| format!(" at {}:{}:{}", at.file(), at.line(), at.column()))
                    .unwrap_or_default();
                let line = format!(
                    "process '{}' (pid {}) panicked{place}: {}\n",
                    child.name,
                    std::process::id(),
                    panic_message(info.payload()),
                );
                let _ = std::io::stderr().write_all(line.as_bytes());
            }
            None => {
                if std::thread::current().name() == Some("main") {
                    exit::PANICKED.store(true, Ordering::Relaxed);
                }
                previous(info)
            }
        }));
    });
}
