//! A meeting point for a fixed number of parties: Python's `multiprocessing.Barrier`.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::region::{InShared, Region};
use crate::sync::holders::{self, HolderSlot};
use crate::sync::raw_lock::{Acquired, Held, RawLock, impossible};
use crate::sync::wait::{Waited, futex_wake, wait_on};

/// A barrier for `n` parties, threads or processes: each party's
/// [`wait`](Barrier::wait) sleeps until all `n` have called it, then all
/// go on together (Python's `multiprocessing.Barrier`). Then it is ready
/// for the next round.
///
/// ```
/// use mp::{Barrier, Process};
///
/// fn job(barrier: Barrier) {
///     // ... phase one ...
///     barrier.wait().unwrap();
///     // ... phase two: every party has finished phase one ...
/// }
///
/// fn main() -> mp::Result<()> {
///     mp::init();
///     let barrier = Barrier::new(3)?;
///     let mut children: Vec<_> = (0..2).map(|_| Process::new(job, barrier.clone())).collect();
///     for p in &mut children {
///         p.start()?;
///     }
///     let index = barrier.wait()?; // 0, 1 or 2: a different one for each party
///     assert!(index < 3);
///     for p in &mut children {
///         p.join()?;
///     }
///     Ok(())
/// }
/// ```
///
/// # Broken for everyone
///
/// A barrier *breaks* when a party's [`wait_timeout`](Barrier::wait_timeout)
/// runs out, when someone calls [`abort`](Barrier::abort), or when a party
/// dies while waiting at it. Every party waiting then, and every later `wait`,
/// returns [`ErrorKind::BrokenBarrier`] at once: nobody is left waiting for a
/// party that will never come. A broken barrier stays broken (Python's
/// `reset()` is left out: make a new barrier).
///
/// How a dead party is noticed: each party waiting at the barrier holds a
/// robust lock of its own (see `sync/holders.rs`), and the kernel releases it,
/// marked "owner died", when its thread ends for any reason. The other
/// waiters try those locks every 50 ms. A party that dies *before* it reaches
/// the barrier holds nothing yet, so it cannot be told apart from a slow one
/// — except when nobody else is left at all (no other thread, no running
/// child, no parent: see [`ErrorKind::WaitAbandoned`]), which also breaks the
/// barrier. For the rest, give `wait_timeout` a limit.
#[derive(Clone, Serialize, Deserialize)]
pub struct Barrier {
    /// The state, and one holder slot per party (see `sync/holders.rs`).
    region: Region<BarrierHeader, HolderSlot>,
}

/// The barrier's state, in shared memory, followed by one holder slot per party.
#[repr(C)]
struct BarrierHeader {
    /// Guards `arrived` and the slots' `taken` flags, and every change of `round`.
    lock: RawLock,
    /// How many parties the barrier waits for; set once, at creation.
    parties: u32,
    /// How many parties are waiting in this round.
    arrived: AtomicU32,
    /// The futex word waiters sleep on: the round number times two, plus one
    /// once the barrier is broken. Every round that completes adds two.
    round: AtomicU32,
}

// SAFETY: a process-shared lock, made by `init`; atomics, for which zero is
// valid; and `parties`, written by `Barrier::new` before anyone sees it.
unsafe impl InShared for BarrierHeader {
    unsafe fn init(at: *mut Self) -> Result<()> {
        // SAFETY: the caller's promise covers this field.
        unsafe { RawLock::init(&raw mut (*at).lock) }
    }
}

const BROKEN: u32 = 1;
const NEXT_ROUND: u32 = 2;

impl Barrier {
    /// Makes a barrier for `parties` parties (Python's `Barrier(parties)`).
    /// Zero parties is an error.
    pub fn new(parties: usize) -> Result<Self> {
        let invalid = || {
            Error::new(ErrorKind::InvalidArgument(
                "a Barrier needs at least one party (and fewer than 2^31)",
            ))
        };
        if parties == 0 || parties > i32::MAX as usize {
            return Err(invalid());
        }
        let region = Region::new("Barrier", parties, |header: &mut BarrierHeader, _| {
            header.parties = parties as u32;
        })?;
        Ok(Barrier { region })
    }

    fn header(&self) -> &BarrierHeader {
        self.region.header()
    }

    /// The number of parties the barrier waits for (Python's `parties`).
    pub fn parties(&self) -> usize {
        self.header().parties as usize
    }

    /// How many parties are waiting at the barrier now (Python's `n_waiting`).
    pub fn n_waiting(&self) -> usize {
        self.header().arrived.load(Ordering::Relaxed) as usize
    }

    /// Whether the barrier is broken (Python's `broken`).
    #[doc(alias("broken"))]
    pub fn is_broken(&self) -> bool {
        self.header().round.load(Ordering::Acquire) & BROKEN != 0
    }

    /// Breaks the barrier (Python's `abort()`): every party waiting now, and
    /// every later `wait`, gets [`ErrorKind::BrokenBarrier`].
    pub fn abort(&self) {
        let _held = self.lock_state();
        self.break_barrier();
    }

    /// Waits until all parties have called `wait` (Python's `wait()`), and
    /// returns this party's index: a different number from 0 to `parties - 1`
    /// for each party of a round, in the order they arrived (the last to
    /// arrive gets `parties - 1` and releases the others).
    ///
    /// Returns [`ErrorKind::BrokenBarrier`] when the barrier is or becomes
    /// broken (see the type's docs).
    pub fn wait(&self) -> Result<usize> {
        self.wait_inner(None)
    }

    /// Like [`Barrier::wait`], but waits at most `timeout`. When it runs out,
    /// the barrier breaks, for this party and every other (as in Python),
    /// and this returns [`ErrorKind::BrokenBarrier`].
    pub fn wait_timeout(&self, timeout: Duration) -> Result<usize> {
        self.wait_inner(Some(timeout))
    }

    /// Takes the header's lock. If its holder died while changing the state,
    /// the state cannot be trusted: the barrier breaks.
    fn lock_state(&self) -> Held<'_> {
        let header = self.header();
        let acquired = header.lock.lock().unwrap_or_else(|err| impossible(err));
        let held = Held::new(&header.lock);
        if let Acquired::OwnerDied(_) = acquired {
            self.break_barrier();
        }
        held
    }

    /// Marks the barrier broken and wakes every waiter (the caller holds the
    /// header's lock).
    fn break_barrier(&self) {
        let round = &self.header().round;
        round.fetch_or(BROKEN, Ordering::Release);
        futex_wake(round, i32::MAX);
    }

    fn broken() -> Error {
        Error::new(ErrorKind::BrokenBarrier)
    }

    fn wait_inner(&self, timeout: Option<Duration>) -> Result<usize> {
        let header = self.header();
        let held = self.lock_state();
        // A party counted as arrived may have died since: it must not count
        // towards releasing this round.
        self.break_if_a_party_died(None);
        let round = header.round.load(Ordering::Relaxed);
        if round & BROKEN != 0 {
            return Err(Self::broken());
        }
        let index = header.arrived.load(Ordering::Relaxed);
        if index + 1 == header.parties {
            // The last party: release this round's waiters.
            header.arrived.store(0, Ordering::Relaxed);
            header
                .round
                .store(round.wrapping_add(NEXT_ROUND), Ordering::Release);
            futex_wake(&header.round, i32::MAX);
            return Ok(index as usize);
        }
        // Hold a slot's robust lock while waiting, so the others can see if
        // this thread dies. Parties of the round before may still hold theirs
        // for a moment after it completed, and more threads than `parties`
        // may use one barrier: with no slot free, this party waits untracked
        // (its death goes unseen, as in Python; a timeout still ends the wait).
        let holding = match holders::take(self.region.slots(), 0) {
            Some((holding, dead_holder)) => {
                // A party died in that slot since this thread looked (above).
                if dead_holder {
                    self.party_died();
                }
                Some(holding)
            }
            None => None,
        };
        let slot = holding.as_ref().map(|holding| holding.slot());
        header.arrived.store(index + 1, Ordering::Relaxed);
        drop(held);

        // Ready when the round moved on: to the next round (this one completed,
        // even if a later one has broken since), or to "broken" (this one broke).
        let ready = |now: u32| {
            (now != round).then_some(now & !BROKEN != round) // true: completed
        };
        let outcome = wait_on(&header.round, timeout, ready, || {
            let _held = self.lock_state();
            self.break_if_a_party_died(slot);
            None
        });

        let _held = self.lock_state();
        if let Some(holding) = holding {
            holding.clear();
        }
        match outcome {
            Waited::Ready(true) => Ok(index as usize),
            Waited::Ready(false) => Err(Self::broken()),
            Waited::TimedOut | Waited::Abandoned => {
                // The round may have completed just now; if not, nobody must
                // wait for this party any more.
                let now = header.round.load(Ordering::Relaxed);
                if now & !BROKEN != round {
                    return Ok(index as usize);
                }
                header.arrived.fetch_sub(1, Ordering::Relaxed);
                self.break_barrier();
                Err(Self::broken())
            }
        }
    }

    /// Looks for a waiting party that died: its slot's lock, tried, says
    /// "owner died". Then the barrier breaks. The caller holds the header's
    /// lock, and `mine` is its own slot, if it has one.
    fn break_if_a_party_died(&self, mine: Option<&HolderSlot>) {
        holders::free_the_dead(self.region.slots(), mine, |_| self.party_died());
    }

    /// A party counted as waiting died: it no longer counts, and the barrier
    /// breaks for everyone (the caller holds the header's lock).
    fn party_died(&self) {
        self.header().arrived.fetch_sub(1, Ordering::Relaxed);
        self.break_barrier();
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("parties", &self.parties())
            .field("n_waiting", &self.n_waiting())
            .field("broken", &self.is_broken())
            .finish()
    }
}
