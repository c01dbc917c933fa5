//! Who is who, as a program asks it: this process, its parent, its running
//! children (each a [`ProcessInfo`]: name, pid, alive or not), and how many
//! CPUs it may use. Python's `current_process()`, `parent_process()`,
//! `active_children()` and `cpu_count()`.

use super::children::children;
use super::exit;
use super::identity::CHILD;
use crate::sys;

/// The current process's name: `MainProcess`, or the name its parent gave it
/// (Python's `multiprocessing.current_process().name`).
pub fn current_process_name() -> &'static str {
    CHILD
        .get()
        .map_or("MainProcess", |child| child.name.as_str())
}

/// A process as another sees it: its name and pid. What
/// [`current_process`], [`parent_process`] and [`active_children`] return
/// (Python returns `Process` objects there; here a [`Process`](super::Process) is the handle
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
    /// the name given with [`Process::named`](super::Process::named).
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
/// the name its [`Process`](super::Process) had (`Process-1`, `ForkPoolWorker-2`, …).
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
/// Like Python's, it first reaps every child whose [`Process`](super::Process)
/// was dropped and that has ended, and lists the rest: a child left out is
/// reaped, never left a zombie. A dropped child that ends just after that
/// look is listed once more (as in Python); the next call reaps it. A child
/// whose `Process` still exists is listed while it runs and left, once it has
/// ended, for its handle's `join`.
pub fn active_children() -> Vec<ProcessInfo> {
    exit::reap_dropped();
    children()
        .iter()
        // A dropped child still here was running when `reap_dropped` looked:
        // a second look could see it ended, leave it out, and leave it unreaped.
        .filter(|child| child.dropped || !sys::has_exited(child.pid))
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
