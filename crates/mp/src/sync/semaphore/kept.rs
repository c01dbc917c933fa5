//! The holder slots a thread keeps between permits.
//!
//! A semaphore records who holds its permits in a table of holder slots (see
//! `sync/holders.rs`), each a robust lock that the kernel marks "owner died"
//! when its holder's thread ends. Taking a slot's lock for every permit and
//! releasing it after costs two robust-lock operations, several times what
//! the permit itself costs (62 ns against 10 ns for the count's two atomic
//! operations, in `cargo bench -p mp --bench overhead -- semaphore
//! raw_atomic_take`; 28 ns now). So a thread takes a slot the first time it acquires a
//! semaphore and keeps it, its lock held, counting its permits in it with
//! plain stores. A permit then costs the count's two atomic operations, a
//! look in a thread-local list and two stores.
//!
//! A thread gives a kept slot back:
//!
//! - when it ends, with whatever permits the slot still counts (guards leaked
//!   with `mem::forget`): they come back, as a dead holder's would;
//! - when it would keep more than [`KEEP`] idle slots (holding no
//!   permit), the oldest first;
//! - after each of its permits, once half the table is kept: a semaphore that
//!   many threads use keeps slots free for those that hold a permit now.
//!
//! The list holds the semaphore's memory mapped while the slot is kept: the
//! C library's list of the thread's robust locks points into it, and must
//! never point at memory that is gone. It does not hold its file open.

use std::cell::{Cell, RefCell};
use std::sync::atomic::Ordering;

use super::{Permits, SemaphoreHeader};
use crate::region::Region;
use crate::sync::holders::{self, HolderSlot};
use crate::sys;

/// How many idle slots (holding no permit) a thread keeps.
const KEEP: usize = 4;

thread_local! {
    /// The slots this thread keeps, oldest first.
    static KEPT: RefCell<Vec<KeptSlot>> = const { RefCell::new(Vec::new()) };
    /// The kept slot this thread counted a permit in last: looked at before
    /// the list, and cheaper to reach (plain values, nothing to drop).
    static LAST: Cell<Last> = const { Cell::new(Last::NONE) };
}

/// Which kept slot [`LAST`] names.
#[derive(Clone, Copy)]
struct Last {
    header: *const SemaphoreHeader,
    index: usize,
    keep: bool,
    /// The process it was noted in: a forked child's copy is its parent's.
    pid: u32,
}

impl Last {
    const NONE: Last = Last {
        header: std::ptr::null(),
        index: 0,
        keep: false,
        pid: 0,
    };
}

/// A holder slot that this thread keeps, its lock held.
struct KeptSlot {
    /// The semaphore's memory, mapped while the slot is kept.
    region: Region<SemaphoreHeader, HolderSlot>,
    /// Where its header is: its name in this process, since no other
    /// memory can be mapped at that address while this keeps it mapped.
    header: *const SemaphoreHeader,
    index: usize,
    /// The process that took the slot. In a child forked since, this is a
    /// copy of the parent's list: the lock is the parent's thread's.
    pid: u32,
    /// Whether to keep the slot once it holds no permit (not when the table
    /// was crowded as it was taken).
    keep: bool,
}

impl KeptSlot {
    fn slot(&self) -> &HolderSlot {
        &self.region.slots()[self.index]
    }
}

impl Drop for KeptSlot {
    /// Gives the slot back: its permits to the semaphore, then its lock.
    fn drop(&mut self) {
        if self.pid != sys::pid() {
            return; // the parent's: not this process's to give back
        }
        let _ = LAST.try_with(|last| {
            if std::ptr::eq(last.get().header, self.header) {
                last.set(Last::NONE);
            }
        });
        let slot = self.slot();
        let leaked = slot.taken();
        // Cleared before the permits go back, as a guard does (see
        // `SemaphoreGuard::drop`): a thread that dies between the two loses
        // them rather than have them counted twice.
        slot.set_taken(0);
        let header = self.region.header();
        for _ in 0..leaked {
            header.put_back();
        }
        header.slot_given_back();
        slot.release();
    }
}

/// A permit counted in a slot of this thread (see [`count_in`]).
#[derive(Clone, Copy)]
pub(super) struct Counted<'a> {
    slot: &'a HolderSlot,
    /// The slot is to be kept once it holds no permit.
    keep: bool,
}

/// Counts one more permit in this thread's slot of `permits`, taking a slot
/// if the thread keeps none; `None` if the table has no slot free (the
/// permit goes untracked) or the thread is ending.
pub(super) fn count_in(permits: &Permits) -> Option<Counted<'_>> {
    let header = permits.header();
    let last = LAST.try_with(Cell::get).unwrap_or(Last::NONE);
    let (index, keep) = if std::ptr::eq(last.header, header) && last.pid == sys::pid() {
        (last.index, last.keep)
    } else {
        from_the_list(permits)?
    };
    let slot = &permits.region.slots()[index];
    slot.set_taken(slot.taken() + 1);
    Some(Counted { slot, keep })
}

/// This thread's kept slot of `permits` (its index, and whether to keep
/// it): found in the list, or taken now.
fn from_the_list(permits: &Permits) -> Option<(usize, bool)> {
    KEPT.try_with(|kept| {
        let mut kept = kept.borrow_mut();
        let me = sys::pid();
        if kept.first().is_some_and(|slot| slot.pid != me) {
            // Forked since: the parent's slots are not ours.
            kept.retain(|slot| slot.pid == me);
        }
        let header = permits.header();
        let found = kept.iter().find(|slot| std::ptr::eq(slot.header, header));
        let (index, keep) = match found {
            Some(slot) => (slot.index, slot.keep),
            None => {
                let slot = take(permits)?;
                let found = (slot.index, slot.keep);
                // The oldest idle slots go, beyond the few kept.
                let mut idle = kept.iter().filter(|slot| slot.slot().taken() == 0).count();
                while idle >= KEEP {
                    if let Some(oldest) = kept.iter().position(|slot| slot.slot().taken() == 0) {
                        kept.remove(oldest);
                    }
                    idle -= 1;
                }
                kept.push(slot);
                found
            }
        };
        let _ = LAST.try_with(|last| {
            last.set(Last {
                header,
                index,
                keep,
                pid: me,
            })
        });
        Some((index, keep))
    })
    .ok()
    .flatten()
}

/// Counts one permit fewer in the slot `counted` names (from [`count_in`]):
/// `false` if it counts none, its permits having gone back already when its
/// thread's list was dropped (a guard that outlived it). Gives the slot back
/// if it holds no permit now and is not to be kept.
#[inline]
pub(super) fn count_out(header: &SemaphoreHeader, counted: Counted<'_>) -> bool {
    let Counted { slot, keep } = counted;
    let taken = slot.taken();
    if taken == 0 {
        return false;
    }
    slot.set_taken(taken - 1);
    if taken == 1 && !keep {
        let _ = KEPT.try_with(|kept| {
            let mut kept = kept.borrow_mut();
            if let Some(at) = kept
                .iter()
                .position(|kept| std::ptr::eq(kept.header, header))
            {
                kept.remove(at);
            }
        });
    }
    true
}

/// Takes a free slot of `permits`'s table for this thread. A dead holder
/// found in it gives back what it held first.
fn take(permits: &Permits) -> Option<KeptSlot> {
    let slots = permits.region.slots();
    let start = sys::pid() as usize;
    let (index, died) = holders::claim(slots, start, 0)?;
    let header = permits.header();
    if let Some(held) = died {
        // A kept slot whose thread died: its permits come back, and it is
        // kept no more.
        for _ in 0..held {
            header.put_back();
        }
        header.slot_given_back();
    }
    let kept_before = header.kept.fetch_add(1, Ordering::Relaxed);
    Some(KeptSlot {
        region: permits.region.mapping_only(),
        header,
        index,
        pid: sys::pid(),
        keep: (kept_before as usize) < slots.len() / 2,
    })
}

#[cfg(test)]
mod tests {
    use super::super::Semaphore;
    use super::*;

    /// How many threads keep a slot of `sem`.
    fn kept(sem: &Semaphore) -> u32 {
        sem.permits.header().kept.load(Ordering::Relaxed)
    }

    /// A thread that used more semaphores than it keeps idle slots for gave
    /// the oldest back, and gives back the rest as it ends. (Joined with
    /// `join`, which waits for the thread's thread-local values to be
    /// dropped; a scoped thread counts as done before that.)
    #[test]
    fn a_thread_keeps_a_few_idle_slots_and_gives_them_back_as_it_ends() {
        let sems: Vec<Semaphore> = (0..KEEP + 2).map(|_| Semaphore::new(1).unwrap()).collect();
        let theirs = sems.clone();
        std::thread::spawn(move || {
            for sem in &theirs {
                drop(sem.acquire().unwrap());
            }
            let now: Vec<u32> = theirs.iter().map(kept).collect();
            assert_eq!(now[..2], [0, 0], "the two oldest went back");
            assert!(now[2..].iter().all(|&n| n == 1), "{now:?}");
        })
        .join()
        .unwrap();
        assert!(
            sems.iter().all(|sem| kept(sem) == 0),
            "given back at the end"
        );
        assert!(sems.iter().all(|sem| sem.value() == 1));
    }
}
