//! Who this process is: the main process, or a child started by this crate,
//! with its name, its number among its parent's children and its parent.
//! A child sets it first thing; every other part of `process` reads it.

use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};

use crate::sys;

/// Who this process is, if it is a child started by this crate.
#[derive(Serialize, Deserialize)]
pub(super) struct ChildInfo {
    pub(super) parent: libc::pid_t,
    /// The parent's own name, for [`parent_process`](super::parent_process).
    pub(super) parent_name: String,
    pub(super) name: String,
    /// See [`Process`](super::Process)'s field of the same name.
    pub(super) identity: String,
}

/// How many processes this process has made: numbers its children. Every
/// child starts counting afresh, as in Python.
pub(super) static STARTED_HERE: AtomicUsize = AtomicUsize::new(0);

/// Who this process is: `None` in the main process.
///
/// A child copies its parent's memory, this static included, so it must be
/// rewritten in every child, at any depth: a `OnceLock` set in a child would
/// stay set, with the wrong name and parent, in that child's own children.
pub(super) static CHILD: Identity = Identity(AtomicPtr::new(std::ptr::null_mut()));

/// A pointer to this process's [`ChildInfo`], replaced (never changed in
/// place) when a child starts.
pub(super) struct Identity(AtomicPtr<ChildInfo>);

impl Identity {
    pub(super) fn get(&self) -> Option<&'static ChildInfo> {
        // SAFETY: the pointer is null, or comes from `Box::into_raw` in `set`
        // and is never freed, so it is valid for the rest of the process.
        unsafe { self.0.load(Ordering::Acquire).as_ref() }
    }

    /// Makes `info` this process's identity. The value it replaces (the
    /// parent's, copied by fork) is leaked, not freed: `&'static` references
    /// to it may be alive. One small leak per process.
    pub(super) fn set(&self, info: ChildInfo) {
        self.0
            .store(Box::into_raw(Box::new(info)), Ordering::Release);
    }
}

/// What a child's number starts with in this process: `""` in the main
/// process, `"1:"` in `Process-1` (see [`Process::named`](super::Process::named)).
pub(crate) fn child_number_prefix() -> String {
    CHILD
        .get()
        .map_or(String::new(), |me| format!("{}:", me.identity))
}

/// In a child started by this crate: whether the process that started it is
/// still alive (once it dies, the child is handed to another parent).
/// `false` in the main process.
pub(crate) fn parent_alive() -> bool {
    CHILD
        .get()
        .is_some_and(|child| sys::parent_pid() == child.parent)
}
