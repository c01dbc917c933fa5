//! Where a queue's records wait: a ring of slots in shared memory, each a
//! record (see `mod.rs`) and a number that says whether it is there.
//!
//! Every message starts with a record: its length and, for a small message,
//! the message itself. The records do not go through the pipe. The holder
//! of the write lock copies a record into the slot at `tail`, the ring's
//! writing end, and then *publishes* it by writing the slot's `seq`. The
//! holder of the read lock finds the slot at `head` published, copies the
//! record out and moves `head` on, which frees the slot. Only a long
//! message's bytes go through the pipe, after its record. A small message
//! thus crosses with no system call at all, where a pipe costs a `write`
//! and a `read`.
//!
//! Only the write lock's holder writes `tail`, and only the read lock's
//! holder writes `head`: between them the ring is a queue with one producer
//! and one consumer, the simplest there is. A slot from `head` up to `tail`
//! holds a published record, which only a reader reads; a slot from `tail`
//! up to `head + SLOTS` is free, and only a writer writes it. Each side
//! releases what it did with a store and sees what the other did with a
//! load of the same word: the slot's `seq` for a record, `head` for a
//! freed slot.
//!
//! Why a number in each slot, rather than a reader looking at `tail`? On two
//! cores the cost of a small message is the cache lines that travel between
//! them. A record's own line has to travel; with its `seq` inside it, a
//! reader needs no other, and `tail` stays in the writers' cache. For the
//! same reason writers look at `head` only when the ring seemed full the last
//! time they looked (`room_until`).
//!
//! A process killed at any moment leaves the ring whole: a record copied in
//! but not yet published is not there (the next writer writes over it), and
//! a record copied out but not yet taken is still there (the next reader
//! gets it). Only a long message, halfway through the pipe, can leave the
//! queue out of step; `transfer.rs` looks after that.
//!
//! # Sleeping until something changes
//!
//! A reader that finds the ring empty looks at the slot at `head` a few
//! times, then sleeps on its `seq` with a futex (see `sync/wait.rs`) until a
//! writer publishes there. A writer that finds the ring full does the same on
//! `head`. Each side calls the kernel to wake sleepers only when some are
//! counted: the count and the word are both sequentially consistent, so
//! either the sleeper sees the new value and does not sleep, or the other side
//! sees the sleeper and wakes it. A sleeper killed while counted stays
//! counted, and every later message then costs one needless wake call:
//! slower, never wrong.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::RECORD;
use crate::region::InShared;
use crate::sync::wait::{futex_wait, futex_wake, look_a_while};

/// How many records the ring holds: as many small messages as a 1 MiB pipe
/// held when the records went through it. A power of two, so that a position
/// (a `u32` that wraps) maps to the same slot before and after it wraps.
pub(super) const SLOTS: usize = 1 << 14;

/// How many times a waiter looks before it sleeps, and the longest pause
/// between two looks in `spin_loop` hints: about 12 µs in all, about what
/// going to sleep and being woken costs (as in `sync/raw_lock.rs`).
const LOOKS: u32 = 12;
const LONGEST_PAUSE: u32 = 64;

/// One slot of the ring, alone on its cache line.
#[repr(C, align(64))]
pub(super) struct Slot {
    /// Once the record for position `p` is published in this slot, the lap
    /// of the ring it belongs to, counted from 1 ([`lap`]); the lap of an
    /// earlier record, or 0 in fresh memory, means it is not there (yet).
    seq: AtomicU32,
    record: UnsafeCell<[u8; RECORD]>,
}

// SAFETY: a slot's record is written only by the holder of the write lock
// while the slot is free, and read only by the holder of the read lock while
// it is published; `seq` and `head` order the two (see the module's docs).
unsafe impl Sync for Slot {}

// SAFETY: an atomic and plain bytes, for which zero is valid (a `seq` of 0
// is no lap: it publishes nothing); no pointer.
unsafe impl InShared for Slot {}

/// The ring's two ends and the counts of sleepers, each on its own 128
/// bytes: what one side writes for every message is never on a line the
/// other side reads for every message.
#[repr(C)]
pub(super) struct Ends {
    /// The next position to write. Written by the write lock's holder only.
    tail: Line,
    /// Writers only: `head + SLOTS` as last seen, so that a writer looks at
    /// `head` only once the ring seems full.
    room_until: Line,
    /// The next position to read. Written by the read lock's holder only.
    head: Line,
    /// How many readers sleep until a record is published.
    readers_asleep: Line,
    /// How many writers sleep until `head` moves.
    writers_asleep: Line,
}

#[repr(C, align(128))]
struct Line(AtomicU32);

impl Ends {
    /// The writers' end: where the next record goes. For the write lock's
    /// holder, who passes the ring's slots: a writer killed between
    /// publishing its record and moving `tail` on (see [`Ends::publish`])
    /// left `tail` one short, and this moves it on for them.
    pub(super) fn tail(&self, slots: &[Slot]) -> u32 {
        let tail = self.tail.0.load(Ordering::Relaxed);
        if !slot(slots, tail).holds(tail) {
            return tail;
        }
        let tail = tail.wrapping_add(1);
        self.tail.0.store(tail, Ordering::Relaxed);
        tail
    }

    /// The readers' end: the next record to take.
    pub(super) fn head(&self) -> u32 {
        self.head.0.load(Ordering::Relaxed)
    }

    /// About how many records are published and not yet taken: a record
    /// being written counts already, and one whose writer was killed before
    /// moving `tail` on counts only once the next writer has done it (which
    /// can leave `tail` behind `head` for a moment: that counts as none).
    pub(super) fn len(&self) -> u32 {
        let head = self.head.0.load(Ordering::Acquire);
        let len = self.tail.0.load(Ordering::Acquire).wrapping_sub(head);
        if len > SLOTS as u32 { 0 } else { len }
    }

    /// Whether a record is published at `head` right now.
    pub(super) fn has_record(&self, slots: &[Slot]) -> bool {
        let head = self.head();
        slot(slots, head).holds(head)
    }

    /// Whether the slot at `tail` is free (for the write lock's holder).
    pub(super) fn has_room(&self, tail: u32) -> bool {
        if tail != self.room_until.0.load(Ordering::Relaxed) {
            return true;
        }
        // `Acquire`: the reader that moved `head` has copied its record out.
        let room_until = self
            .head
            .0
            .load(Ordering::Acquire)
            .wrapping_add(SLOTS as u32);
        self.room_until.0.store(room_until, Ordering::Relaxed);
        tail != room_until
    }

    /// Publishes the record just written at `tail` in `slot`, moves `tail`
    /// on, and wakes any reader asleep. Published first: a writer killed
    /// before the one store has written nothing, and one killed between the
    /// two leaves a published record that [`Ends::tail`] finds.
    pub(super) fn publish(&self, slot: &Slot, tail: u32) {
        slot.seq.store(lap(tail), Ordering::SeqCst);
        self.tail.0.store(tail.wrapping_add(1), Ordering::Relaxed);
        if self.readers_asleep.0.load(Ordering::SeqCst) != 0 {
            futex_wake(&slot.seq, i32::MAX);
        }
    }

    /// Frees the slot at `head`, whose record was copied out, and wakes any
    /// writer asleep for room.
    pub(super) fn take(&self, head: u32) {
        self.head.0.store(head.wrapping_add(1), Ordering::SeqCst);
        if self.writers_asleep.0.load(Ordering::SeqCst) != 0 {
            futex_wake(&self.head.0, i32::MAX);
        }
    }

    /// Waits, for at most `timeout`, until a record is published at `head`
    /// (or `head` has moved on). May return early, and with nothing there.
    pub(super) fn wait_for_record(&self, slots: &[Slot], timeout: Duration) {
        let head = self.head();
        let slot = slot(slots, head);
        let seen = slot.seq.load(Ordering::Acquire);
        // `head` unchanged after the look: the record for `head` was not there
        // when `seen` was read, and its publication will change `seq`.
        if seen != lap(head) && self.head() == head {
            wait_while(&slot.seq, seen, &self.readers_asleep.0, timeout);
        }
    }

    /// Waits, for at most `timeout`, until `head` moves on from `head`: a
    /// writer's wait for room. May return early, and with no room.
    pub(super) fn wait_for_room(&self, head: u32, timeout: Duration) {
        wait_while(&self.head.0, head, &self.writers_asleep.0, timeout);
    }
}

/// Waits while `word` holds `seen`, for at most `timeout`: looks a few times,
/// then, where another CPU can bring the change, a while longer (see
/// `wait::look_a_while`), then sleeps, counted in `asleep`.
///
/// It does not yield the CPU. A yield once between the looks and the sleep
/// helped a reader that shares one CPU with its writer: 200,000 small
/// messages pinned to one CPU (`taskset -c 0 ... -- queue_messages`) took
/// 22-24 ms with it and take 147-152 ms without (the bare pipe writes:
/// 87-90 ms), for a reader woken for one record sleeps again, counted, and
/// every record after wakes it. But behind a program that never sleeps, a
/// yield waits out that program's time slice: a queue round trip between
/// two processes pinned to one CPU beside `yes > /dev/null` took 1.43 ms
/// with the yield and 37-45 µs without. On two CPUs the small messages take
/// 16.6-26.4 ms either way.
fn wait_while(word: &AtomicU32, seen: u32, asleep: &AtomicU32, timeout: Duration) {
    let mut pause = 1;
    for _ in 0..LOOKS {
        if word.load(Ordering::Relaxed) != seen {
            return;
        }
        for _ in 0..pause {
            std::hint::spin_loop();
        }
        pause = (pause * 2).min(LONGEST_PAUSE);
    }
    if look_a_while(|| word.load(Ordering::Relaxed) != seen) {
        return;
    }
    asleep.fetch_add(1, Ordering::SeqCst);
    if word.load(Ordering::SeqCst) == seen {
        futex_wait(word, seen, timeout);
    }
    asleep.fetch_sub(1, Ordering::SeqCst);
}

/// The slot for position `at`.
pub(super) fn slot(slots: &[Slot], at: u32) -> &Slot {
    &slots[at as usize % SLOTS]
}

/// The lap of the ring that position `at` is on, from 1: what a slot's `seq`
/// holds once the record for `at` is published there. Never 0, and never the
/// lap before, also where positions wrap (2^32 is a whole number of laps).
fn lap(at: u32) -> u32 {
    at / SLOTS as u32 + 1
}

impl Slot {
    /// Whether this slot holds the published record for position `at`.
    /// `Acquire`: its writer's bytes are then visible here.
    pub(super) fn holds(&self, at: u32) -> bool {
        self.seq.load(Ordering::Acquire) == lap(at)
    }

    /// Copies `record` in.
    ///
    /// # Safety
    /// The caller holds the queue's write lock, and the slot is free
    /// ([`Ends::has_room`] said so for its position).
    pub(super) unsafe fn put(&self, record: &[u8; RECORD]) {
        // SAFETY: the caller holds the write lock, so no other writer touches
        // this slot, and the slot is free, so no reader reads it until the
        // caller publishes it (a store of `seq` after this write).
        unsafe { *self.record.get() = *record };
    }

    /// Copies the record out.
    ///
    /// # Safety
    /// The caller holds the queue's read lock, and the slot holds a published
    /// record ([`Slot::holds`] said so for its position).
    pub(super) unsafe fn get(&self) -> [u8; RECORD] {
        // SAFETY: the caller holds the read lock, so no other reader frees
        // this slot, and its record is published, so no writer writes it until
        // the caller frees it (a store of `head` after this read); the
        // `Acquire` load of `seq` that saw it published makes its bytes
        // visible here.
        unsafe { *self.record.get() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::region::Region;

    // SAFETY: atomics only, for which zero is valid (an empty ring); no pointer.
    unsafe impl InShared for Ends {}

    fn ring() -> Region<Ends, Slot> {
        Region::new("a test ring", SLOTS, |_, _| {}).unwrap()
    }

    fn record(byte: u8) -> [u8; RECORD] {
        [byte; RECORD]
    }

    /// What a writer killed at each step of `put` then `publish` leaves, as
    /// the next writer and reader find it (this test plays every part itself,
    /// alone with the memory, as the holder of both locks).
    #[test]
    fn a_writer_killed_anywhere_leaves_the_ring_whole() {
        let ring = ring();
        let (ends, slots) = (ring.header(), ring.slots());

        // Killed after copying its record in, before publishing it: there is
        // nothing to read, and the next writer writes in the same slot.
        let tail = ends.tail(slots);
        // SAFETY: this test holds both locks, in effect; the slot is free.
        unsafe { slot(slots, tail).put(&record(1)) };
        assert!(!slot(slots, ends.head()).holds(ends.head()));
        assert_eq!(ends.tail(slots), tail);

        // Killed between publishing and moving `tail` on: the reader finds
        // the record and takes it, with `tail` now behind `head` (an empty
        // queue all the same), and the next writer moves `tail` past it.
        slot(slots, tail).seq.store(lap(tail), Ordering::SeqCst);
        let head = ends.head();
        assert!(ends.has_record(slots));
        // SAFETY: as above; the record at `head` is published.
        assert_eq!(unsafe { slot(slots, head).get() }, record(1));
        ends.take(head);
        assert!(!ends.has_record(slots));
        assert_eq!(ends.len(), 0);
        assert_eq!(ends.tail(slots), tail + 1);
        assert_eq!(ends.len(), 0);

        // And a whole publish goes on from there.
        let next = ends.tail(slots);
        assert!(ends.has_room(next));
        // SAFETY: as above; the slot at `next` is free.
        unsafe { slot(slots, next).put(&record(2)) };
        ends.publish(slot(slots, next), next);
        assert_eq!(ends.len(), 1);
        assert!(ends.has_record(slots));
        // SAFETY: as above.
        assert_eq!(unsafe { slot(slots, ends.head()).get() }, record(2));
    }

    /// Positions wrap at 2^32, and a slot's stale number from an earlier lap
    /// never passes for the record of a later one.
    #[test]
    fn positions_wrap_and_old_laps_are_not_records() {
        let ring = ring();
        let (ends, slots) = (ring.header(), ring.slots());
        let start = u32::MAX - 2;
        ends.tail.0.store(start, Ordering::Relaxed);
        ends.head.0.store(start, Ordering::Relaxed);
        for (i, at) in (0..6u32).map(|i| (i, start.wrapping_add(i))) {
            assert!(ends.has_room(ends.tail(slots)));
            assert_eq!(ends.tail(slots), at);
            // SAFETY: this test holds both locks, in effect; the slot is free.
            unsafe { slot(slots, at).put(&record(i as u8)) };
            ends.publish(slot(slots, at), at);
            assert!(slot(slots, at).holds(at));
            // SAFETY: as above; published.
            assert_eq!(unsafe { slot(slots, at).get() }, record(i as u8));
            ends.take(at);
            // The same slot, one lap on: not a record yet.
            let lap = at.wrapping_add(SLOTS as u32);
            assert!(!slot(slots, lap).holds(lap));
        }
        assert_eq!(ends.len(), 0);
    }
}
