//! The part of a queue that lives in shared memory before its ring of
//! records: a lock for each side (writing, reading), whether a side's holder
//! is partway through a long message, whether a holder that died there left
//! the queue broken, and the ring's two ends.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::ring::Ends;
use crate::error::{Error, ErrorKind, Result};
use crate::region::InShared;
use crate::sync::raw_lock::{Acquired, Held, RawLock};
use crate::sync::wait::look_a_while;

/// The part of a queue that lives in shared memory.
#[repr(C)]
pub(super) struct Control {
    pub(super) write: Side,
    pub(super) read: Side,
    /// Set once a process died halfway through a message: the stream is out
    /// of step, and the queue can no longer be used.
    pub(super) broken: Padded<AtomicBool>,
    /// Where the ring of records begins and ends (see `ring.rs`).
    pub(super) ends: Ends,
}

/// The lock of one side (writing or reading), and whether its holder is
/// partway through a message.
///
/// Each side gets its own 128 bytes, so a producer and a consumer taking their
/// own locks on two cores do not keep stealing one cache line from each other.
#[repr(C, align(128))]
pub(super) struct Side {
    pub(super) lock: RawLock,
    /// True while the lock's holder is partway through a long message: it
    /// moved the record (a writer published it, a reader took it), and not
    /// all of the rest has gone through the pipe. If the holder dies then,
    /// the pipe is left in the middle of a message.
    pub(super) busy: AtomicBool,
    /// True while the lock's holder (a writer) waits for room, in the ring
    /// or in the pipe: the queue is full. A `try_put` that finds the lock
    /// taken then gives up at once instead of waiting behind it (see
    /// [`Control::lock_unless_full`]).
    pub(super) waiting: AtomicBool,
}

// SAFETY: two process-shared locks, made by `init`, and atomics, for which
// zero is valid (`false`; both ends of the ring at 0: empty).
unsafe impl InShared for Control {
    unsafe fn init(at: *mut Self) -> Result<()> {
        // SAFETY: the caller's promise covers these fields.
        unsafe {
            RawLock::init(&raw mut (*at).write.lock)?;
            RawLock::init(&raw mut (*at).read.lock)
        }
    }
}

/// A value alone on its 128 bytes (see [`Side`]).
#[repr(C, align(128))]
pub(super) struct Padded<T>(pub(super) T);

// The flags below use `Relaxed`: `busy` is only read and written by the holder
// of its side's lock, which orders it; `broken` only ever goes from false to
// true and guards no other data, so whenever it is seen true, it is true;
// `waiting` is written by the holder and read by others as a hint, which at
// worst says the queue was full a moment ago.
impl Control {
    pub(super) fn is_broken(&self) -> bool {
        self.broken.0.load(Ordering::Relaxed)
    }

    pub(super) fn set_broken(&self) {
        self.broken.0.store(true, Ordering::Relaxed);
    }

    /// Takes `side`'s lock. If its previous holder died partway through a
    /// message, the queue is broken from now on.
    pub(super) fn lock<'a>(&'a self, side: &'a Side) -> Result<Held<'a>> {
        let acquired = side.lock.lock()?;
        Ok(self.after_locking(side, acquired))
    }

    /// Takes `side`'s lock, unless its holder waits for room: then `None`,
    /// at once. A holder that does not wait lets go soon (it is copying a
    /// record, or writing a long message into a pipe with room); meanwhile
    /// this thread looks a while for the lock to come free (see
    /// `wait::look_a_while`), then naps, each nap twice as long up to a
    /// millisecond, so that a long message, or a holder that is stopped,
    /// does not keep a CPU busy. It never yields: behind a program that
    /// never sleeps, each yield can wait out that program's time slice. For
    /// `try_put`, which must not wait for a reader.
    pub(super) fn lock_unless_full<'a>(&'a self, side: &'a Side) -> Result<Option<Held<'a>>> {
        let mut looked = false;
        let mut nap = Duration::from_micros(10);
        loop {
            if let Some(acquired) = side.lock.try_lock()? {
                return Ok(Some(self.after_locking(side, acquired)));
            }
            if side.waiting.load(Ordering::Relaxed) {
                return Ok(None);
            }
            if !looked {
                looked = true;
                look_a_while(|| !side.lock.is_held() || side.waiting.load(Ordering::Relaxed));
            } else {
                std::thread::sleep(nap);
                nap = (nap * 2).min(Duration::from_millis(1));
            }
        }
    }

    pub(super) fn after_locking<'a>(&'a self, side: &'a Side, acquired: Acquired) -> Held<'a> {
        if let Acquired::OwnerDied(_) = acquired {
            // A holder that died waiting for room waits no more.
            side.waiting.store(false, Ordering::Relaxed);
            if side.busy.swap(false, Ordering::Relaxed) {
                self.set_broken();
            }
        }
        Held::new(&side.lock)
    }

    /// Marks `side`'s holder (the caller) as waiting for room until the
    /// returned guard is dropped.
    pub(super) fn waiting<'a>(&self, side: &'a Side) -> Waiting<'a> {
        side.waiting.store(true, Ordering::Relaxed);
        Waiting(&side.waiting)
    }

    pub(super) fn truncated(&self) -> Error {
        self.set_broken();
        Error::new(ErrorKind::MessageTruncated)
    }
}

/// A writer waiting for room, while it lives (see [`Control::waiting`]).
pub(super) struct Waiting<'a>(&'a AtomicBool);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Relaxed);
    }
}
