//! Who waits on a [`Condition`](crate::Condition), so that a notify wakes
//! exactly the waiters it picks: Python's `notify()` wakes one.
//!
//! Each waiting thread takes a *slot* in shared memory: a robust lock it
//! holds while it waits (its death then shows as "owner died", as for a
//! semaphore's holder) and a state word it sleeps on. A notify turns up to
//! `n` waiting slots into notified ones and wakes each one's sleeper; a
//! waiter returns "notified" only when its own slot says so. A waiter whose
//! time runs out takes its slot back, unless a notify picked it first (then it
//! was notified, as in Python). A notify skips the slots of waiters that died
//! and frees them.
//!
//! Waiters beyond the table's [`SLOTS`] wait the old way: on one shared word
//! that every notify bumps, and any notify that found too few slotted waiters
//! wakes them all (they may then return more than one per notify).

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::error::Result;
use crate::sync::raw_lock::{Acquired, Held, RawLock};
use crate::sync::wait::{Waited, futex_wake, wait_on};

/// How many waiters the table tracks at once.
pub(crate) const SLOTS: usize = 64;

const FREE: u32 = 0;
const WAITING: u32 = 1;
const NOTIFIED: u32 = 2;

#[repr(C)]
struct WaiterSlot {
    /// Held by the waiting thread for as long as it waits.
    lock: RawLock,
    /// FREE, WAITING or NOTIFIED: the futex word the waiter sleeps on.
    state: AtomicU32,
}

/// The table, in shared memory (zeroed, then [`Waiters::init`]).
#[repr(C)]
pub(crate) struct Waiters {
    slots: [WaiterSlot; SLOTS],
    /// Bumped by a notify that could not pick enough slotted waiters: the
    /// word the waiters without a slot sleep on.
    overflow: AtomicU32,
    /// How many waiters are waiting without a slot.
    overflowing: AtomicU32,
}

/// A waiter's place, from [`Waiters::enter`] to [`Waiters::wait`].
pub(crate) enum Place<'a> {
    Slot(Held<'a>, &'a AtomicU32),
    Overflow { seen: u32 },
}

impl Waiters {
    /// Makes the slots' locks.
    ///
    /// # Safety
    /// `at` must point to zeroed memory, valid for writes of a `Waiters`,
    /// aligned, and not yet used by any thread or process.
    pub(crate) unsafe fn init(at: *mut Waiters) -> Result<()> {
        for i in 0..SLOTS {
            // SAFETY: in bounds of the memory the caller vouched for.
            unsafe { RawLock::init(&raw mut (*at).slots[i].lock)? };
        }
        Ok(())
    }

    /// Counts the calling thread as a waiter. Call it holding the
    /// condition's lock, so that a notify made after the caller lets go of
    /// it sees this waiter.
    pub(crate) fn enter(&self) -> Place<'_> {
        // Start at a place that differs between processes.
        let start = crate::sys::pid() as usize % SLOTS;
        for i in 0..SLOTS {
            let slot = &self.slots[(start + i) % SLOTS];
            match slot.lock.try_lock() {
                Ok(None) => continue, // its waiter is alive, or a notify looks at it
                // Free, or left by a waiter that died: ours now.
                Ok(Some(_)) => {
                    slot.state.store(WAITING, Ordering::Release);
                    return Place::Slot(Held::new(&slot.lock), &slot.state);
                }
                Err(err) => panic!("{err}"),
            }
        }
        self.overflowing.fetch_add(1, Ordering::AcqRel);
        Place::Overflow {
            seen: self.overflow.load(Ordering::Acquire),
        }
    }

    /// Waits in `place` until notified, for at most `timeout`. `Ready` means
    /// notified; `TimedOut` and `Abandoned` as in `wait_on` (a notify that came
    /// just as the time ran out counts: then it is `Ready`).
    pub(crate) fn wait(&self, place: Place<'_>, timeout: Option<Duration>) -> Waited<()> {
        match place {
            Place::Slot(held, state) => {
                let notified = |v: u32| (v == NOTIFIED).then_some(());
                let mut outcome = wait_on(state, timeout, notified, || None);
                // Take the slot back, unless a notify picked it meanwhile.
                if !matches!(outcome, Waited::Ready(()))
                    && state
                        .compare_exchange(WAITING, FREE, Ordering::AcqRel, Ordering::Acquire)
                        .is_err()
                {
                    outcome = Waited::Ready(());
                }
                state.store(FREE, Ordering::Release);
                drop(held);
                outcome
            }
            Place::Overflow { seen } => {
                let outcome = wait_on(
                    &self.overflow,
                    timeout,
                    |v| (v != seen).then_some(()),
                    || None,
                );
                self.overflowing.fetch_sub(1, Ordering::AcqRel);
                outcome
            }
        }
    }

    /// Wakes up to `n` waiters; returns how many slotted waiters it picked.
    pub(crate) fn notify(&self, n: usize) -> usize {
        let mut picked = 0;
        for slot in &self.slots {
            if picked == n {
                break;
            }
            if slot.state.load(Ordering::Acquire) != WAITING {
                continue;
            }
            match slot.lock.try_lock() {
                // Held: its waiter is alive and waiting (or just leaving,
                // and then the exchange fails).
                Ok(None) => {
                    if slot
                        .state
                        .compare_exchange(WAITING, NOTIFIED, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
                    {
                        futex_wake(&slot.state, 1);
                        picked += 1;
                    }
                }
                Ok(Some(acquired)) => {
                    let held = Held::new(&slot.lock);
                    // Its waiter died waiting: free the slot.
                    if let Acquired::OwnerDied(_) = acquired {
                        slot.state.store(FREE, Ordering::Release);
                    }
                    drop(held);
                }
                Err(err) => panic!("{err}"),
            }
        }
        if picked < n && self.overflowing.load(Ordering::Acquire) > 0 {
            self.overflow.fetch_add(1, Ordering::Release);
            futex_wake(&self.overflow, i32::MAX);
        }
        picked
    }
}
