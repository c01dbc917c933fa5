//! Handing file descriptors to a spawned child through its start arguments.
//!
//! With fork, a child simply inherits the parent's memory and open files: a
//! `Queue` in the arguments is the same object on both sides. With spawn, the
//! child is a fresh program, so the arguments are serialized. Objects that own
//! a file descriptor (a `Queue`'s pipe, a `Value`'s shared memory) serialize
//! the descriptor's *number*; the parent keeps that descriptor open across
//! `exec` for this one child, and the child picks it up by number.
//!
//! Outside a start, there is no child to inherit anything, so serializing such
//! an object is an error ([`ErrorKind::NotInStartArguments`]): a `Queue` cannot
//! travel inside a `Queue` message. Python refuses the same thing.

use std::cell::{Cell, RefCell};
use std::os::fd::{OwnedFd, RawFd};

use serde::{Deserialize, Deserializer, Serializer};

use crate::error::{Error, ErrorKind, Result};
use crate::sys;

thread_local! {
    /// While a spawned child's arguments are serialized: the descriptors they name.
    static OUTGOING: RefCell<Option<Vec<RawFd>>> = const { RefCell::new(None) };
    /// While a spawned child deserializes its arguments: the descriptors it inherited.
    static INCOMING: RefCell<Option<Vec<RawFd>>> = const { RefCell::new(None) };
    /// The type of the last shared object that refused to be serialized outside
    /// a start. Serde formats may drop an error's text (postcard does), so
    /// `codec::to_bytes` looks here to report the real cause.
    static REFUSED: Cell<Option<&'static str>> = const { Cell::new(None) };
    /// Set by [`keep_incoming`]: the inherited descriptors have a new owner,
    /// and [`with_incoming`] must not close them.
    static KEPT: Cell<bool> = const { Cell::new(false) };
}

/// Takes (and clears) the type of the shared object that last refused to be
/// serialized outside a start, if any.
pub(crate) fn take_refused() -> Option<&'static str> {
    REFUSED.take()
}

/// Runs `serialize` (which turns start arguments into bytes) and returns, with
/// its result, every descriptor the arguments named: the child must inherit them.
pub(crate) fn collect_outgoing<R>(serialize: impl FnOnce() -> R) -> (R, Vec<RawFd>) {
    OUTGOING.with(|cell| *cell.borrow_mut() = Some(Vec::new()));
    let result = serialize();
    let fds = OUTGOING
        .with(|cell| cell.borrow_mut().take())
        .unwrap_or_default();
    (result, fds)
}

/// Runs `deserialize` in a spawned child, letting it take the inherited
/// descriptors `fds`; afterwards closes the originals (what the arguments
/// use, they have duplicated).
pub(crate) fn with_incoming<R>(fds: &[RawFd], deserialize: impl FnOnce() -> R) -> R {
    INCOMING.with(|cell| *cell.borrow_mut() = Some(fds.to_vec()));
    let result = deserialize();
    INCOMING.with(|cell| *cell.borrow_mut() = None);
    if KEPT.replace(false) {
        return result; // `keep_incoming` owns them now
    }
    for &fd in fds {
        // SAFETY: `fd` was inherited from the parent for the arguments only; every
        // argument that needed it has made its own duplicate, so nothing else
        // uses this number.
        unsafe { libc::close(fd) };
    }
    result
}

/// While a spawned child deserializes its arguments: takes every inherited
/// descriptor, for bytes that will be decoded later (a pool's initializer
/// argument, see `pool/init.rs`), so that [`with_incoming`] leaves them
/// open. A second call in the same deserialization gets none.
pub(crate) fn keep_incoming() -> Vec<OwnedFd> {
    if KEPT.replace(true) {
        return Vec::new();
    }
    let fds = INCOMING
        .with(|cell| cell.borrow().clone())
        .unwrap_or_default();
    fds.into_iter()
        .map(|fd| {
            // SAFETY: `fd` was inherited for the start arguments, is open, and
            // is owned by nothing else: `with_incoming` would have closed it,
            // and KEPT now tells it not to.
            unsafe { std::os::fd::FromRawFd::from_raw_fd(fd) }
        })
        .collect()
}

/// Like [`with_incoming`], in a process that owns `fds` itself (a forked
/// child decoding bytes it made from its own copy of an object): the
/// deserialized objects take duplicates, and the originals stay open.
pub(crate) fn with_own<R>(fds: &[RawFd], deserialize: impl FnOnce() -> R) -> R {
    INCOMING.with(|cell| *cell.borrow_mut() = Some(fds.to_vec()));
    let result = deserialize();
    INCOMING.with(|cell| *cell.borrow_mut() = None);
    result
}

/// Serializes descriptor `fd` of an object of type `what`: allowed only inside
/// a spawned child's start arguments.
pub(crate) fn serialize_fd<S: Serializer>(
    fd: RawFd,
    what: &'static str,
    s: S,
) -> Result<S::Ok, S::Error> {
    let allowed = OUTGOING.with(|cell| match cell.borrow_mut().as_mut() {
        Some(fds) => {
            if !fds.contains(&fd) {
                fds.push(fd);
            }
            true
        }
        None => false,
    });
    if !allowed {
        REFUSED.set(Some(what));
        let err = Error::new(ErrorKind::NotInStartArguments { what });
        return Err(serde::ser::Error::custom(err));
    }
    s.serialize_i32(fd)
}

/// Deserializes a descriptor written by [`serialize_fd`] in the parent: a
/// duplicate of the inherited descriptor, owned by the new object.
pub(crate) fn deserialize_fd<'de, D: Deserializer<'de>>(d: D) -> Result<OwnedFd, D::Error> {
    let fd = i32::deserialize(d)?;
    let inherited =
        INCOMING.with(|cell| cell.borrow().as_ref().is_some_and(|fds| fds.contains(&fd)));
    if !inherited {
        return Err(serde::de::Error::custom(
            "a shared object's file descriptor arrived outside a spawned child's start arguments",
        ));
    }
    sys::dup(fd).map_err(serde::de::Error::custom)
}

/// Clears close-on-exec on `fds` so that the spawned program keeps them.
/// Called in the forked child just before `exec`: only that child is affected.
/// (Linux spawns with `sys::spawn_keeping`, which keeps them itself.)
#[cfg(not(target_os = "linux"))]
pub(crate) fn keep_across_exec(fds: &[RawFd]) -> std::io::Result<()> {
    fds.iter().try_for_each(|&fd| sys::set_cloexec(fd, false))
}
