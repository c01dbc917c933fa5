//! Starting a child as a copy of this process (the fork start method), and
//! the warning when this process has other threads that the copy would lack.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use super::child::{install_child_panic_hook, run_child};
use super::children::{Child, children};
use super::handle::Job;
use super::identity::ChildInfo;
use crate::error::{Error, Result};
use crate::sys;

/// Forks a child that runs `job`; returns its pid.
pub(super) fn fork_child(me: ChildInfo, job: Box<dyn Job>, daemon: bool) -> Result<libc::pid_t> {
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
