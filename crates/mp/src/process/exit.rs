//! The children a program leaves behind: Python joins its non-daemon
//! children when the program ends and terminates its daemons. So does this
//! crate, so that `Process::new(job, x).start()` without keeping the handle,
//! or a handle rebound in a loop, lets the child run on beside the others.
//!
//! A dropped [`Process`](super::Process) whose child still runs leaves the
//! child in this process's list of children, marked *dropped*. From then on:
//!
//! - a dropped child that has ended is reaped the next time this process
//!   starts a child or asks for [`active_children`](super::active_children),
//!   as Python's `start()` and `active_children()` do: no zombies pile up;
//! - when the program ends (`main` returns, or `std::process::exit`), an
//!   exit handler, registered with the C library's `atexit` by `mp::init` or
//!   by the first `start`, waits for every child still running and reaps it,
//!   after killing the daemons;
//! - a child process started by this crate does the same for its own
//!   children when its target returns, before it exits;
//! - if `main` (or a child's target) panicked, every child is killed, then
//!   reaped, rather than waited for. Python joins even then; but a child
//!   waiting for a parent that has just failed would make the program hang
//!   at exit, and a panic is a bug to report, not a moment to wait.
//!
//! Why `atexit` rather than a guard: a guard must be kept alive in `main` by
//! the caller (one more line in every port, and forgotten in the rest), while
//! the C library runs `atexit` handlers on every normal end of the program,
//! after `main` returns, a panicking `main` included (Rust's runtime turns
//! that panic into exit code 101 and returns from the C `main`). What it
//! cannot cover: `std::process::abort`, a signal that kills the parent, and
//! `panic = "abort"`; the children then become orphans, as Python's do.

use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use super::children::children;
use crate::sys;

/// Set by the panic hook when a panic starts in the main thread of the main
/// process, or in a child's target: the children are then killed at the end.
pub(super) static PANICKED: AtomicBool = AtomicBool::new(false);

/// Registers the exit handler, once per program.
pub(super) fn install() {
    static HANDLER_INSTALLED: Once = Once::new();
    HANDLER_INSTALLED.call_once(|| {
        // SAFETY: `at_exit` is a plain `extern "C"` function that never
        // unwinds (it catches panics), and lives for the whole program.
        // atexit fails only when its table is full; then children are left to
        // the operating system, as without this handler.
        unsafe { libc::atexit(at_exit) };
    });
}

extern "C" fn at_exit() {
    let _ = std::panic::catch_unwind(|| finish_children(PANICKED.load(Ordering::Relaxed)));
}

/// Ends this process's children before it exits: kills the daemons (all
/// of them if `kill_all`), waits for the others, and reaps every one.
pub(super) fn finish_children(kill_all: bool) {
    // A snapshot: the list is not kept locked while waiting.
    let left: Vec<(libc::pid_t, bool)> = children()
        .iter()
        .map(|child| (child.pid, child.daemon))
        .collect();
    for &(pid, daemon) in &left {
        if daemon || kill_all {
            let _ = sys::kill(pid, libc::SIGKILL);
        }
    }
    for (pid, _) in left {
        if let Ok(Some(_)) = sys::waitpid(pid, true) {
            children().retain(|child| child.pid != pid);
        }
    }
}

/// Reaps the dropped children that have ended (see the module's docs).
pub(super) fn reap_dropped() {
    let dropped: Vec<libc::pid_t> = children()
        .iter()
        .filter(|child| child.dropped)
        .map(|child| child.pid)
        .collect();
    for pid in dropped {
        if let Ok(Some(_)) = sys::waitpid(pid, false) {
            children().retain(|child| child.pid != pid);
        }
    }
}
