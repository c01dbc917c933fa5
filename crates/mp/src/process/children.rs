//! The children this process has started and not yet reaped: one list, kept
//! by the parent. `Process` adds and removes its child; `exit.rs` reaps
//! what is left; `active_children` and the crate's "is anybody left" rule
//! read it.

use std::sync::{Mutex, MutexGuard};

use super::identity::parent_alive;
use crate::sys;

/// A child this process has started and not yet reaped.
pub(super) struct Child {
    pub(super) pid: libc::pid_t,
    pub(super) name: String,
    /// Killed, not waited for, when this process ends.
    pub(super) daemon: bool,
    /// Its `Process` was dropped while it ran: nobody else will reap it.
    pub(super) dropped: bool,
}

/// The children this process has started and not yet reaped.
pub(super) fn children() -> MutexGuard<'static, Vec<Child>> {
    static CHILDREN: Mutex<Vec<Child>> = Mutex::new(Vec::new());
    CHILDREN
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Whether another process could still wake a waiter of this one: a child
/// it started that has not ended (a pool's worker included: a forked one has
/// every static of its parent), or, in a child, its parent. Part of the one
/// rule in `sync/wait.rs` (`nobody_left`).
pub(crate) fn others_alive() -> bool {
    parent_alive() || children().iter().any(|child| !sys::has_exited(child.pid))
}
