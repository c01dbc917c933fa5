//! Catches Python's way of using a semaphore, ported word for word:
//! `sem.acquire()?; ...; sem.release()?;`. In Rust the first line takes a
//! permit and gives it back at once (the guard is dropped at the end of the
//! statement); the `release` then adds a permit nobody took, and a
//! `Semaphore(1)` lets two in.
//!
//! So each thread remembers the semaphore whose guard it dropped last, until
//! it acquires from that semaphore again. A bare `release` of that very
//! semaphore by that thread in between is this mistake, and is refused with
//! [`ErrorKind::ReleasedByItsGuard`](crate::ErrorKind::ReleasedByItsGuard).
//! A `release` that stands for a permit taken elsewhere (another thread or
//! process, or a guard kept with [`SemaphoreGuard::forget`](crate::SemaphoreGuard::forget))
//! is not affected.

use std::cell::Cell;

thread_local! {
    /// The semaphore (its id, see `semaphore/mod.rs`) whose
    /// guard this thread dropped last, if it has not acquired from it since.
    static DROPPED: Cell<u64> = const { Cell::new(0) };
}

/// A guard of the semaphore `id` gave its permit back.
#[inline]
pub(super) fn guard_dropped(id: u64) {
    DROPPED.set(id);
}

/// This thread took a permit of the semaphore `id` (or handed one on).
#[inline]
pub(super) fn acquired(id: u64) {
    if DROPPED.get() == id {
        DROPPED.set(0);
    }
}

/// Whether a bare release of the semaphore `id` would give back, a
/// second time, the permit of a guard this thread dropped.
pub(super) fn released_by_its_guard(id: u64) -> bool {
    DROPPED.get() == id
}
