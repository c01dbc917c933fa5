//! A table of holders: how a primitive sees that a process holding part of
//! it died, where nothing else would tell. A `Semaphore` keeps one slot per
//! thread that holds permits (see `semaphore/kept.rs`), a `Barrier` one per
//! waiting party.
//!
//! Each slot is a robust lock (see `raw_lock.rs`) and a count, `taken`, of
//! what its holder holds. A holder takes a free slot's lock and keeps it for
//! as long as it holds whatever the slot stands for; when its thread ends for
//! any reason, the kernel marks that lock "owner died". Anybody can then try
//! the locks of the taken slots: a busy lock is a live holder, and one that
//! comes back "owner died" is a dead holder, whose share the primitive takes
//! back.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::Result;
use crate::region::InShared;
use crate::sync::raw_lock::{Acquired, Held, RawLock, impossible};

/// One holder's slot.
#[repr(C)]
pub(crate) struct HolderSlot {
    /// Held by the slot's holder's thread for as long as it holds.
    lock: RawLock,
    /// How much its holder holds: a barrier's party 1, a semaphore's
    /// thread its permits. Only its lock's holder changes it, apart from
    /// whoever finds that holder dead.
    taken: AtomicU32,
}

impl HolderSlot {
    /// What the slot's holder holds now.
    pub(crate) fn taken(&self) -> u32 {
        self.taken.load(Ordering::Relaxed)
    }

    /// Sets what the slot's holder holds; only that holder calls this, so a
    /// store does what a read-modify-write would, with no locked instruction.
    pub(crate) fn set_taken(&self, taken: u32) {
        self.taken.store(taken, Ordering::Relaxed);
    }

    /// Lets go of the slot's lock: what dropping a [`Holding`] does, for a
    /// holder that keeps the lock without one (the caller's thread holds it).
    pub(crate) fn release(&self) {
        self.lock.release();
    }
}

// SAFETY: a process-shared lock, made by `init`, and an atomic, for which
// zero is a valid value.
unsafe impl InShared for HolderSlot {
    unsafe fn init(at: *mut Self) -> Result<()> {
        // SAFETY: the caller's promise covers this field.
        unsafe { RawLock::init(&raw mut (*at).lock) }
    }
}

/// A slot this thread holds. Dropping it releases the slot's lock; its
/// `taken` flag stays as it is until [`Holding::clear`].
pub(crate) struct Holding<'a> {
    slot: &'a HolderSlot,
    _held: Held<'a>,
}

impl<'a> Holding<'a> {
    /// The slot.
    pub(crate) fn slot(&self) -> &'a HolderSlot {
        self.slot
    }

    /// Marks the slot free: what it stood for is given back. Its lock is
    /// released when the `Holding` is dropped; a holder that dies between
    /// the two has given back nothing twice.
    pub(crate) fn clear(&self) {
        self.slot.taken.store(0, Ordering::Relaxed);
    }
}

/// Takes a free slot of `slots` for the calling thread and marks it taken,
/// trying them from `start` on (processes that start at different places
/// do not all fight over the first). Also says whether the slot had been
/// left taken by a holder that died: its share is the caller's to take back.
/// `None` when no slot is free.
pub(crate) fn take(slots: &[HolderSlot], start: usize) -> Option<(Holding<'_>, bool)> {
    let (index, died) = claim(slots, start, 1)?;
    let slot = &slots[index];
    let held = Held::new(&slot.lock);
    Some((
        Holding { slot, _held: held },
        died.is_some_and(|taken| taken > 0),
    ))
}

/// Takes a free slot of `slots` as [`take`] does, with `taken` as its count,
/// and leaves its lock held with no guard: the caller's thread releases it
/// ([`HolderSlot::release`]). Gives the slot's index and, if the slot's last
/// holder died in it, what that holder held (perhaps 0).
pub(crate) fn claim(
    slots: &[HolderSlot],
    start: usize,
    taken: u32,
) -> Option<(usize, Option<u32>)> {
    let start = start.checked_rem(slots.len())?;
    let order = (start..slots.len()).chain(0..start);
    for index in order {
        let slot = &slots[index];
        if slot.taken() != 0 {
            continue;
        }
        match slot.lock.try_lock() {
            Ok(None) => continue,
            Ok(Some(acquired)) => {
                let died = matches!(acquired, Acquired::OwnerDied(_))
                    .then(|| slot.taken.swap(0, Ordering::Relaxed));
                slot.set_taken(taken);
                return Some((index, died));
            }
            Err(err) => impossible(err),
        }
    }
    None
}

/// Looks for taken slots whose holder died (their lock, tried, says "owner
/// died"), skipping `mine`: frees each and calls `dead` once for it, with
/// what its holder held. A live holder's lock is busy and is left alone.
pub(crate) fn free_the_dead(
    slots: &[HolderSlot],
    mine: Option<&HolderSlot>,
    mut dead: impl FnMut(u32),
) {
    for slot in slots {
        if mine.is_some_and(|mine| std::ptr::eq(slot, mine))
            || slot.taken.load(Ordering::Relaxed) == 0
        {
            continue;
        }
        match slot.lock.try_lock() {
            // Busy: its holder is alive.
            Ok(None) => {}
            Ok(Some(acquired)) => {
                let held = Held::new(&slot.lock);
                // Clean: the holder let go just now, and cleared the flag
                // itself; only a dead holder's share comes back here.
                if let Acquired::OwnerDied(_) = acquired {
                    let taken = slot.taken.swap(0, Ordering::Relaxed);
                    if taken > 0 {
                        dead(taken);
                    }
                }
                drop(held);
            }
            Err(err) => impossible(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::region::Region;

    /// A table with no slot (memory received for a primitive that was made
    /// with none, or a forged start argument) has nothing to take: `None`,
    /// never a division by zero when picking where to start.
    #[test]
    fn an_empty_table_has_no_slot_to_take() {
        assert!(take(&[], 7).is_none());
        free_the_dead(&[], None, |_| panic!("nobody is in an empty table"));
    }

    /// A slot taken and let go is free again; one held is skipped.
    #[test]
    fn a_taken_slot_is_skipped_until_it_is_cleared() {
        let region = Region::<(), HolderSlot>::new("test", 2, |_, _| {}).unwrap();
        let (first, dead) = take(region.slots(), 0).unwrap();
        assert!(!dead);
        let (second, _) = take(region.slots(), 0).unwrap();
        assert!(!std::ptr::eq(first.slot(), second.slot()));
        assert!(take(region.slots(), 0).is_none(), "both slots are taken");
        first.clear();
        drop(first);
        let (again, _) = take(region.slots(), 0).expect("the cleared slot is free");
        assert!(std::ptr::eq(again.slot(), &region.slots()[0]));
        free_the_dead(region.slots(), None, |_| panic!("both holders are alive"));
    }
}
