//! The typed view every primitive has of its shared memory: one header `H`
//! at the start, then a table of `slots` values of `S` (none for most).
//!
//! ```text
//! a Semaphore's memory:  [ Header | padding | HolderSlot | HolderSlot | ... ]
//! a Lock's memory:       [ RawLock ]                       (no table)
//! ```
//!
//! A primitive never casts its memory's address itself: it asks its
//! [`Region`] for `&H` or `&[S]`. The `unsafe` that turns shared bytes into
//! those references is here, argued once, and so is the check that memory
//! received from another process is large enough for what it is said to hold.

use std::alloc::Layout;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU32, AtomicU64};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, ErrorKind, Result};
use crate::shm::SharedMemory;

/// A type that can live in shared memory and be used there through `&Self`
/// by many threads and processes at once.
///
/// # Safety
///
/// Implement only for a `repr(C)` type such that:
/// - all-zero bytes followed by [`InShared::init`] make a valid value;
/// - every field is made for use through a shared reference from many
///   threads and processes: atomics, process-shared locks, data that only a
///   lock's holder touches (in an `UnsafeCell`), or plain numbers written
///   before any other process can see the memory and never after;
/// - it holds no pointer (which would mean nothing in another process).
pub(crate) unsafe trait InShared: Sync {
    /// Finishes a zeroed value in place: makes its locks. Nothing by default.
    ///
    /// # Safety
    ///
    /// `at` is zeroed, aligned, valid for writes, and not yet seen by any
    /// other thread or process.
    unsafe fn init(at: *mut Self) -> Result<()> {
        let _ = at;
        Ok(())
    }

    /// Whether a thread of this process holds a lock in this value, which
    /// then must stay mapped in this process for good, even once no handle is
    /// left: see [`Region`]'s `Drop`. No by default.
    fn held_by_this_process(&self) -> bool {
        false
    }
}

// SAFETY: no bytes at all: nothing to share.
unsafe impl InShared for () {}

// SAFETY: an atomic is made for use from many threads (and, in shared memory,
// processes) at once, and zero is a valid value of it.
unsafe impl InShared for AtomicU32 {}
// SAFETY: as for `AtomicU32`.
unsafe impl InShared for AtomicU64 {}

/// Shared memory holding a header `H` at offset 0 and `slots` values of `S`
/// after it, each initialized. Cloning shares the same memory.
pub(crate) struct Region<H: InShared, S: InShared = ()> {
    memory: SharedMemory,
    /// How many slots follow the header, fixed when the region is made.
    slots: usize,
    /// Where the first slot starts.
    offset: usize,
    _types: PhantomData<fn() -> (H, S)>,
}

/// Where the slots start, and how many bytes the whole region needs.
fn layout<H, S>(slots: usize) -> Option<(usize, usize)> {
    let (layout, offset) = Layout::new::<H>()
        .extend(Layout::array::<S>(slots).ok()?)
        .ok()?;
    // Shared memory is page-aligned; a type aligned to more cannot be placed.
    (layout.align() <= 4096).then_some((offset, layout.size()))
}

impl<H: InShared, S: InShared> Region<H, S> {
    /// Makes zeroed shared memory for a header and `slots` slots, named
    /// `what` in errors, and initializes each value ([`InShared::init`]).
    /// Then `setup` may write the header's and the slots' plain fields: it
    /// runs before any other thread or process can see the memory. It must
    /// not move or replace a lock.
    pub(crate) fn new(
        what: &'static str,
        slots: usize,
        setup: impl FnOnce(&mut H, &mut [S]),
    ) -> Result<Self> {
        let (offset, size) = layout::<H, S>(slots).ok_or(Error::new(
            ErrorKind::InvalidArgument("a shared object that large does not fit in memory"),
        ))?;
        let memory = SharedMemory::new(what, size)?;
        let base = memory.as_ptr();
        // SAFETY: the memory is fresh, zeroed, page-aligned, `size` bytes long
        // and ours alone: the header at offset 0 and `slots` slots from
        // `offset` (aligned by `Layout::extend`) lie inside it, aligned, and
        // nobody else can see them until this returns.
        unsafe {
            let header = base.cast::<H>();
            H::init(header)?;
            let first = base.add(offset).cast::<S>();
            for i in 0..slots {
                S::init(first.add(i))?;
            }
            setup(&mut *header, std::slice::from_raw_parts_mut(first, slots));
        }
        Ok(Region {
            memory,
            slots,
            offset,
            _types: PhantomData,
        })
    }

    /// The header.
    pub(crate) fn header(&self) -> &H {
        // SAFETY: `new` put an initialized `H` at the start of this memory
        // (and a received region was checked to be large enough for one);
        // the memory is mapped as long as `self` lives, and `H: InShared`
        // makes it fit for shared references from many processes at once.
        unsafe { &*self.memory.as_ptr().cast::<H>() }
    }

    /// The table of slots.
    pub(crate) fn slots(&self) -> &[S] {
        // SAFETY: as in `header`: `new` initialized `slots` values of `S`
        // from `offset`, inside the memory (checked again on receipt).
        unsafe {
            std::slice::from_raw_parts(
                self.memory.as_ptr().add(self.offset).cast::<S>(),
                self.slots,
            )
        }
    }

    /// The memory itself: for a guard to keep mapped, or to compare.
    pub(crate) fn memory(&self) -> &SharedMemory {
        &self.memory
    }

    /// The same region, keeping its memory mapped but not its file open
    /// (see [`SharedMemory::mapping_only`]).
    pub(crate) fn mapping_only(&self) -> Self {
        Region {
            memory: self.memory.mapping_only(),
            slots: self.slots,
            offset: self.offset,
            _types: PhantomData,
        }
    }
}

/// A guard leaked with `mem::forget` leaves its lock held, and glibc keeps a
/// held robust mutex on a list of its thread's held locks, which it writes to
/// at every later lock and unlock, and which the kernel reads when the thread
/// ends. Unmapping that memory would send those writes to whatever is mapped
/// there next. So a region whose lock is held by this process when one of its
/// handles goes keeps its memory mapped for good (not its file): the guard's
/// leak leaks the mapping too. Guards borrow a handle, so while one is alive
/// no handle is the last; a handle dropped while another thread holds the
/// lock the usual way keeps the mapping too (once, however often).
impl<H: InShared, S: InShared> Drop for Region<H, S> {
    fn drop(&mut self) {
        if self.header().held_by_this_process() {
            self.memory.keep_mapped_for_good();
        }
    }
}

impl<H: InShared, S: InShared> Clone for Region<H, S> {
    fn clone(&self) -> Self {
        Region {
            memory: self.memory.clone(),
            slots: self.slots,
            offset: self.offset,
            _types: PhantomData,
        }
    }
}

/// A region goes to a spawned child as its memory's file and its number of
/// slots, in the child's start arguments.
impl<H: InShared, S: InShared> Serialize for Region<H, S> {
    fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        (&self.memory, self.slots).serialize(s)
    }
}

/// The one size check of memory received from another process: it must hold
/// the header and every slot it is said to have, or it is an error, never a
/// read past the end of the mapping.
impl<'de, H: InShared, S: InShared> Deserialize<'de> for Region<H, S> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (memory, slots) = <(SharedMemory, usize)>::deserialize(d)?;
        Region::received(memory, slots).ok_or_else(|| {
            serde::de::Error::custom("a shared object's memory is smaller than what it holds")
        })
    }
}

impl<H: InShared, S: InShared> Region<H, S> {
    /// Memory received from another process, said to hold a header and
    /// `slots` slots: `None` unless it is large enough for them.
    fn received(memory: SharedMemory, slots: usize) -> Option<Self> {
        let (offset, size) = layout::<H, S>(slots)?;
        (size <= memory.len()).then_some(Region {
            memory,
            slots,
            offset,
            _types: PhantomData,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;

    #[repr(C)]
    struct TestHeader {
        count: AtomicU32,
        fixed: u32,
    }
    // SAFETY: an atomic and a number written only by `setup`.
    unsafe impl InShared for TestHeader {}

    #[test]
    fn the_header_and_the_slots_are_where_they_were_put() {
        let region = Region::<TestHeader, AtomicU64>::new("test", 3, |h, _| h.fixed = 7).unwrap();
        assert_eq!(region.header().fixed, 7);
        region.header().count.store(5, Ordering::Relaxed);
        region.slots()[2].store(9, Ordering::Relaxed);
        let clone = region.clone();
        assert_eq!(clone.header().count.load(Ordering::Relaxed), 5);
        assert_eq!(clone.slots().len(), 3);
        assert_eq!(clone.slots()[2].load(Ordering::Relaxed), 9);
        let offset = clone.slots().as_ptr() as usize - clone.memory().as_ptr() as usize;
        assert_eq!(offset, 8, "slots of 8 bytes after a header of 8");
    }

    #[test]
    fn received_memory_too_small_for_its_slots_is_refused() {
        let region = Region::<TestHeader, AtomicU64>::new("test", 3, |_, _| {}).unwrap();
        let memory = region.memory().clone();
        assert!(Region::<TestHeader, AtomicU64>::received(memory.clone(), 1 << 20).is_none());
        assert!(Region::<TestHeader, AtomicU64>::received(memory.clone(), usize::MAX).is_none());
        let back = Region::<TestHeader, AtomicU64>::received(memory, 3).expect("its own size");
        assert_eq!(back.slots().len(), 3);
        let tiny = SharedMemory::new("test", 4).unwrap();
        // Memory is at least a page: four bytes asked for, a page mapped.
        let pages = tiny.len() / size_of::<AtomicU64>();
        assert!(Region::<TestHeader, AtomicU64>::received(tiny, pages).is_none());
    }
}
