//! Counting permits between processes: Python's `multiprocessing.Semaphore`
//! and `BoundedSemaphore`.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::region::{InShared, Region};
use crate::sync::holders::{self, HolderSlot};
use crate::sync::raw_lock::NotSend;
use crate::sync::release_check;
use crate::sync::wait::{Waited, futex_wake, wait_on};

mod kept;

/// The most holders a semaphore tracks (see "A holder that dies").
const MAX_SLOTS: usize = 1024;
/// The fewest it tracks, so that a `Semaphore(0)` used as a signal still can.
const MIN_SLOTS: usize = 16;

/// A semaphore shared between processes (and threads): a number of permits;
/// [`acquire`](Semaphore::acquire) takes one, waiting while there are none,
/// and dropping the guard it returns gives it back (Python's
/// `multiprocessing.Semaphore`).
///
/// ```
/// let pool_slots = mp::Semaphore::new(2)?; // at most two at a time
/// {
///     let _permit = pool_slots.acquire()?; // Python: with sem:
///     assert_eq!(pool_slots.value(), 1);
/// } // the permit goes back here
/// assert_eq!(pool_slots.value(), 2);
/// # Ok::<(), mp::Error>(())
/// ```
///
/// A clone is the same semaphore; pass it to a process in its start
/// arguments (fork or spawn), or to a thread.
///
/// # A bare release
///
/// As in Python, [`release`](Semaphore::release) adds a permit without a
/// guard: it lets one process or thread signal another (a semaphore made
/// with 0 permits, released by a producer and acquired by a consumer). To
/// hand a permit taken with `acquire` to someone else to release, call
/// [`SemaphoreGuard::forget`]. A plain `Semaphore` takes any number of
/// releases; see [`BoundedSemaphore`] for one that refuses extra ones.
///
/// # A holder that dies
///
/// Python's semaphore loses the permit of a process that dies holding it:
/// the others may wait forever. Here a thread that takes a permit counts it
/// in a holder slot of its own, one of a table in the semaphore's memory,
/// whose robust lock (see `sync/holders.rs`) it holds. When the thread ends
/// for any reason, the kernel marks that lock "owner died"; a process that
/// finds no permit left (in `try_acquire`, or every 50 ms while it waits in
/// `acquire`) tries those locks and gives back each dead holder's permits.
/// A thread keeps its slot between permits (`semaphore/kept.rs`): a permit
/// then costs two atomic operations and two stores, not a robust lock and
/// unlock. What is not recovered:
///
/// - a permit whose thread found no free slot: the table has
///   `max(16, n)` slots (at most 1024); a thread gives its slot back after
///   each permit once half of them are kept, so only more threads holding
///   permits at once than there are slots (a plain `Semaphore` released
///   beyond its start) can be left without one;
/// - a permit whose holder dies within the few instructions between taking
///   the permit and counting it in its slot, or between counting it out and
///   putting it back (then the permit is lost, as in Python: it is never
///   counted twice).
///
/// A guard leaked with `mem::forget` keeps its permit while its thread
/// lives; when the thread ends, the permit comes back like a dead holder's.
///
/// # When `acquire` gives up
///
/// A waiting `acquire` checks every 50 ms whether anybody is left who could
/// release: another thread of its process, a child process it started that
/// is still running, or (in a child) its parent. If none is, it returns
/// [`ErrorKind::WaitAbandoned`]. [`Semaphore::acquire_timeout`] never gives
/// up early: it runs to its timeout, then returns `None`, as Python's
/// `acquire(timeout=...)` returns `False`.
#[derive(Clone, Serialize, Deserialize)]
pub struct Semaphore {
    permits: Permits,
}

/// A semaphore that refuses to be released more times than it was acquired
/// (Python's `multiprocessing.BoundedSemaphore`): a
/// [`release`](BoundedSemaphore::release) that would raise its value past the
/// number it was made with returns [`ErrorKind::ReleasedTooOften`].
///
/// Everything else is as for [`Semaphore`], including what happens to a
/// holder that dies (every holder is tracked, up to 1024).
///
/// A guard's drop cannot return an error: when a bare `release` has already
/// filled the semaphore to its bound, the guard's permit is not added again
/// (the bare release was the extra one).
#[derive(Clone, Serialize, Deserialize)]
pub struct BoundedSemaphore {
    permits: Permits,
}

/// Holding this is holding one permit of a [`Semaphore`] or
/// [`BoundedSemaphore`]; dropping it gives the permit back.
///
/// `!Send`, like [`LockGuard`](crate::LockGuard): its permit is counted in
/// a holder slot that its thread keeps (see "A holder that dies"), and only
/// that thread may count it out.
#[must_use = "the permit is given back as soon as the guard is dropped"]
pub struct SemaphoreGuard<'a> {
    header: &'a SemaphoreHeader,
    /// The holder slot of this thread that counts the permit, if the table
    /// had one free.
    slot: Option<kept::Counted<'a>>,
    /// Set by [`SemaphoreGuard::forget`]: the permit is not given back.
    forgotten: bool,
    _not_send: NotSend,
}

/// The shared part of both semaphores: a header, and a table of holders.
#[derive(Clone, Serialize, Deserialize)]
struct Permits {
    region: Region<SemaphoreHeader, HolderSlot>,
}

/// A semaphore's state in shared memory, followed by its holder slots.
#[repr(C)]
struct SemaphoreHeader {
    /// The permits free now; the futex word that waiters sleep on.
    value: AtomicU32,
    /// The largest value: the initial one for a bounded semaphore; i32::MAX otherwise.
    bound: u32,
    /// Whether `release` past `bound` is an error (1) or merely impossible (0).
    bounded: u32,
    /// How many waiters may be asleep on `value`: a release makes the wake-up
    /// system call only when this is not 0. (A waiter killed while asleep
    /// leaves it too high, which costs wake-ups that find nobody, nothing more.)
    sleepers: AtomicU32,
    /// Names this semaphore for `release_check`, in every process: the
    /// maker's pid and its count of semaphores made, never 0.
    id: u64,
    /// How many holder slots threads keep (see `kept.rs`): once half the
    /// table, a thread gives its slot back after each permit.
    kept: AtomicU32,
}

// SAFETY: atomics, for which zero is a valid value, and plain numbers
// written by `Permits::new` before the memory is shared, never after.
unsafe impl InShared for SemaphoreHeader {}

impl SemaphoreHeader {
    /// Puts a permit back, unless the value is at its bound; wakes a waiter.
    fn put_back(&self) -> bool {
        // SeqCst here and in `acquire`: either the waiter sees the new value
        // before it sleeps, or this sees the waiter and wakes it.
        let added = self
            .value
            .fetch_update(Ordering::SeqCst, Ordering::Relaxed, |v| {
                (v < self.bound).then_some(v + 1)
            })
            .is_ok();
        if added && self.sleepers.load(Ordering::SeqCst) != 0 {
            futex_wake(&self.value, 1);
        }
        added
    }

    /// One kept holder slot fewer (see `kept.rs`).
    fn slot_given_back(&self) {
        let _ = self
            .kept
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }
}

/// A name for a new semaphore, unique among those any process makes while
/// this one lives: this process's pid, and how many it made before.
fn next_id() -> u64 {
    static MADE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let count = MADE.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
    (u64::from(crate::sys::pid()) << 32) | u64::from(count)
}

impl Permits {
    fn new(value: usize, bounded: bool) -> Result<Self> {
        if value > i32::MAX as usize {
            return Err(ErrorKind::InvalidArgument(
                "a semaphore's value must be below 2^31 (2,147,483,648)",
            )
            .into());
        }
        let what = if bounded {
            "BoundedSemaphore"
        } else {
            "Semaphore"
        };
        let slots = value.clamp(MIN_SLOTS, MAX_SLOTS);
        let region = Region::new(what, slots, |header: &mut SemaphoreHeader, _| {
            header.value = AtomicU32::new(value as u32);
            header.bound = if bounded {
                value as u32
            } else {
                i32::MAX as u32
            };
            header.bounded = bounded as u32;
            header.id = next_id();
        })?;
        Ok(Permits { region })
    }

    fn header(&self) -> &SemaphoreHeader {
        self.region.header()
    }

    fn value(&self) -> usize {
        self.header().value.load(Ordering::Relaxed) as usize
    }

    /// Takes a permit if one is free now.
    fn take(&self) -> bool {
        let value = &self.header().value;
        value
            .fetch_update(Ordering::Acquire, Ordering::Relaxed, |v| v.checked_sub(1))
            .is_ok()
    }

    /// Puts a permit back, unless the value is at its bound; wakes a waiter.
    fn put_back(&self) -> bool {
        self.header().put_back()
    }

    /// Gives back the permits of holders that died: their slots' locks say
    /// "owner died". Returns whether any came back.
    fn recover_dead_holders(&self) -> bool {
        let mut recovered = false;
        holders::free_the_dead(self.region.slots(), None, |held| {
            for _ in 0..held {
                recovered |= self.put_back();
            }
            self.header().slot_given_back();
        });
        recovered
    }

    /// This semaphore's name for `release_check` (see [`SemaphoreHeader::id`]).
    fn id(&self) -> u64 {
        self.header().id
    }

    fn guard(&self) -> SemaphoreGuard<'_> {
        let header = self.header();
        release_check::acquired(header.id);
        SemaphoreGuard {
            header,
            slot: kept::count_in(self),
            forgotten: false,
            _not_send: std::marker::PhantomData,
        }
    }

    fn try_acquire(&self) -> SemaphoreGuardOption<'_> {
        if self.take() || (self.recover_dead_holders() && self.take()) {
            Some(self.guard())
        } else {
            None
        }
    }

    fn acquire(
        &self,
        timeout: Option<Duration>,
        what: &'static str,
    ) -> Result<SemaphoreGuardOption<'_>> {
        let header = self.header();
        let value = &header.value;
        if self.take() {
            return Ok(Some(self.guard()));
        }
        /// Counts this waiter among the sleepers while it exists.
        struct Sleeper<'a>(&'a AtomicU32);
        impl Drop for Sleeper<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        header.sleepers.fetch_add(1, Ordering::SeqCst);
        // Orders the count before the waiter's first look at `value`.
        std::sync::atomic::fence(Ordering::SeqCst);
        let _sleeper = Sleeper(&header.sleepers);
        let ready = |v: u32| {
            (v > 0
                && value
                    .compare_exchange(v, v - 1, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok())
            .then_some(())
        };
        let idle = || {
            self.recover_dead_holders();
            None
        };
        match wait_on(value, timeout, ready, idle) {
            Waited::Ready(()) => Ok(Some(self.guard())),
            Waited::TimedOut => Ok(None),
            Waited::Abandoned => Err(ErrorKind::WaitAbandoned { what }.into()),
        }
    }

    fn release(&self) -> Result<()> {
        if release_check::released_by_its_guard(self.id()) {
            return Err(ErrorKind::ReleasedByItsGuard.into());
        }
        if self.put_back() {
            return Ok(());
        }
        let header = self.header();
        Err(if header.bounded == 1 {
            ErrorKind::ReleasedTooOften {
                bound: header.bound as usize,
            }
            .into()
        } else {
            Error::new(ErrorKind::InvalidArgument(
                "a Semaphore's value cannot go past 2^31 - 1: is something releasing in a loop?",
            ))
        })
    }
}

type SemaphoreGuardOption<'a> = Option<SemaphoreGuard<'a>>;

impl SemaphoreGuard<'_> {
    /// Keeps the permit taken (Python's acquire without a matching
    /// release here): it is no longer given back on drop, nor when this
    /// thread ends. Someone calls `release` for it later, or it is gone.
    pub fn forget(mut self) {
        if let Some(counted) = self.slot.take() {
            kept::count_out(self.header, counted);
        }
        self.forgotten = true;
    }
}

impl Drop for SemaphoreGuard<'_> {
    fn drop(&mut self) {
        if self.forgotten {
            return;
        }
        release_check::guard_dropped(self.header.id);
        // Counted out before the permit goes back: a holder that dies between
        // the two loses its permit, rather than have it counted twice.
        let counted = self
            .slot
            .is_none_or(|counted| kept::count_out(self.header, counted));
        if counted {
            self.header.put_back();
        }
    }
}

impl fmt::Debug for SemaphoreGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreGuard")
            .field("tracked", &self.slot.is_some())
            .finish()
    }
}

macro_rules! semaphore_methods {
    ($name:ident, $python:literal) => {
        impl $name {
            /// The number of permits free right now (Python's `get_value()`).
            /// Another process may take or give one a moment later. The
            /// permits of holders that died are counted: they are taken back
            /// first (Python's stay lost).
            #[doc(alias = "get_value")]
            pub fn value(&self) -> usize {
                self.permits.recover_dead_holders();
                self.permits.value()
            }

            #[doc = concat!("Takes a permit, waiting while there is none (Python's `", $python, ".acquire()`);")]
            /// the guard gives it back when dropped. Returns
            /// [`ErrorKind::WaitAbandoned`] when nobody is left who could
            /// release one (see [`Semaphore`]).
            pub fn acquire(&self) -> Result<SemaphoreGuard<'_>> {
                self.permits
                    .acquire(None, concat!(stringify!($name), "::acquire"))
                    .map(|guard| guard.expect("a wait without a timeout does not time out"))
            }

            /// Takes a permit if one is free now (Python's `acquire(False)`);
            /// `None` if not. Before it says no, it looks for holders that
            /// died, and takes a permit one of them held. It cannot fail.
            #[doc(alias("acquire"))]
            pub fn try_acquire(&self) -> Option<SemaphoreGuard<'_>> {
                self.permits.try_acquire()
            }

            /// Takes a permit, waiting at most `timeout` for one (Python's
            /// `acquire(timeout=...)`): `Ok(None)` if none came in time. It
            /// runs to its timeout even when nobody is left who could release.
            #[doc(alias("acquire"))]
            pub fn acquire_timeout(&self, timeout: Duration) -> Result<Option<SemaphoreGuard<'_>>> {
                self.permits
                    .acquire(Some(timeout), concat!(stringify!($name), "::acquire_timeout"))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("value", &self.value())
                    .finish()
            }
        }
    };
}

semaphore_methods!(Semaphore, "Semaphore");
semaphore_methods!(BoundedSemaphore, "BoundedSemaphore");

impl Semaphore {
    /// Makes a semaphore with `value` permits (Python's `Semaphore(value)`).
    /// A value of 2³¹ or more is an [`ErrorKind::InvalidArgument`].
    pub fn new(value: usize) -> Result<Self> {
        Ok(Semaphore {
            permits: Permits::new(value, false)?,
        })
    }

    /// Adds a permit (Python's `release()`), waking one waiter. Any number
    /// of releases is allowed, up to a value of 2³¹ - 1, but one: right
    /// after this thread dropped a guard of this semaphore (which gave its
    /// permit back), a release is [`ErrorKind::ReleasedByItsGuard`]. That is
    /// Python's `sem.acquire(); ...; sem.release()` ported word for word,
    /// which would leave a `Semaphore(1)` at 2:
    ///
    /// ```
    /// let sem = mp::Semaphore::new(1)?;
    /// # #[allow(unused_must_use)]
    /// # {
    /// sem.acquire()?; // the guard is dropped here: the permit is back already
    /// # }
    /// assert!(sem.release().is_err()); // refused: it would make 2
    /// let permit = sem.acquire()?; // the Rust way: keep the guard...
    /// drop(permit); // ...and drop it where Python calls release()
    /// assert_eq!(sem.value(), 1);
    /// # Ok::<(), mp::Error>(())
    /// ```
    pub fn release(&self) -> Result<()> {
        self.permits.release()
    }
}

impl BoundedSemaphore {
    /// Makes a bounded semaphore with `value` permits, which is also the
    /// most it can ever have (Python's `BoundedSemaphore(value)`).
    pub fn new(value: usize) -> Result<Self> {
        Ok(BoundedSemaphore {
            permits: Permits::new(value, true)?,
        })
    }

    /// Adds a permit (Python's `release()`), waking one waiter; past the
    /// semaphore's bound, returns [`ErrorKind::ReleasedTooOften`] and adds nothing.
    pub fn release(&self) -> Result<()> {
        self.permits.release()
    }
}
