//! `AtomicValue<T>`: a number in shared memory changed by one atomic CPU
//! instruction, with no lock: for counters and flags.

use std::fmt;
use std::sync::atomic::{self, Ordering};

use serde::{Deserialize, Serialize};

use super::{Plain, assert_fits_page_alignment};
use crate::error::Result;
use crate::region::{InShared, Region};

mod sealed {
    /// Maps a number type to the std atomic type that works on it. The module
    /// is private, so no type outside this file can implement it: only the
    /// types whose atomic twin the CPU supports without a hidden lock.
    pub trait HasAtomic: Copy {
        /// The std atomic type, e.g. `AtomicI32` for `i32`.
        type Atomic: Send + Sync;
        fn new(value: Self) -> Self::Atomic;
        fn load(atomic: &Self::Atomic) -> Self;
        fn store(atomic: &Self::Atomic, value: Self);
        fn swap(atomic: &Self::Atomic, value: Self) -> Self;
        fn compare_exchange(atomic: &Self::Atomic, current: Self, new: Self) -> Result<Self, Self>;
        fn fetch_add(atomic: &Self::Atomic, value: Self) -> Self;
        fn fetch_sub(atomic: &Self::Atomic, value: Self) -> Self;
        fn fetch_max(atomic: &Self::Atomic, value: Self) -> Self;
        fn fetch_min(atomic: &Self::Atomic, value: Self) -> Self;
    }

    /// The integers among them: the bit operations.
    pub trait HasBits: HasAtomic {
        fn fetch_and(atomic: &Self::Atomic, value: Self) -> Self;
        fn fetch_or(atomic: &Self::Atomic, value: Self) -> Self;
        fn fetch_xor(atomic: &Self::Atomic, value: Self) -> Self;
    }
}

/// The numbers an [`AtomicValue`] can hold: `i32`, `i64`, `u32`, `u64` and
/// `usize`, each with its lock-free std atomic twin (`AtomicI32`, ...), and
/// `f64`, kept as its bits in an `AtomicU64` (its arithmetic is a
/// compare-and-swap loop, as C's `atomic<double>` does it).
///
/// This trait is sealed: it cannot be implemented outside this crate.
pub trait AtomicPlain: Plain + sealed::HasAtomic {}

/// The integers of [`AtomicPlain`]: those with bit operations. Sealed.
pub trait AtomicInteger: AtomicPlain + sealed::HasBits {}

macro_rules! atomic_plain {
    ($($t:ty => $atomic:ty),*) => { $(
        impl sealed::HasAtomic for $t {
            type Atomic = $atomic;
            fn new(value: Self) -> $atomic {
                <$atomic>::new(value)
            }
            fn load(atomic: &$atomic) -> Self {
                atomic.load(Ordering::SeqCst)
            }
            fn store(atomic: &$atomic, value: Self) {
                atomic.store(value, Ordering::SeqCst)
            }
            fn swap(atomic: &$atomic, value: Self) -> Self {
                atomic.swap(value, Ordering::SeqCst)
            }
            fn compare_exchange(atomic: &$atomic, current: Self, new: Self) -> Result<Self, Self> {
                atomic.compare_exchange(current, new, Ordering::SeqCst, Ordering::SeqCst)
            }
            fn fetch_add(atomic: &$atomic, value: Self) -> Self {
                atomic.fetch_add(value, Ordering::SeqCst)
            }
            fn fetch_sub(atomic: &$atomic, value: Self) -> Self {
                atomic.fetch_sub(value, Ordering::SeqCst)
            }
            fn fetch_max(atomic: &$atomic, value: Self) -> Self {
                atomic.fetch_max(value, Ordering::SeqCst)
            }
            fn fetch_min(atomic: &$atomic, value: Self) -> Self {
                atomic.fetch_min(value, Ordering::SeqCst)
            }
        }
        impl sealed::HasBits for $t {
            fn fetch_and(atomic: &$atomic, value: Self) -> Self {
                atomic.fetch_and(value, Ordering::SeqCst)
            }
            fn fetch_or(atomic: &$atomic, value: Self) -> Self {
                atomic.fetch_or(value, Ordering::SeqCst)
            }
            fn fetch_xor(atomic: &$atomic, value: Self) -> Self {
                atomic.fetch_xor(value, Ordering::SeqCst)
            }
        }
        impl AtomicPlain for $t {}
        impl AtomicInteger for $t {}
    )* };
}

/// `f64` as its bits in an `AtomicU64`; arithmetic by compare-and-swap.
#[cfg(target_has_atomic = "64")]
impl sealed::HasAtomic for f64 {
    type Atomic = atomic::AtomicU64;
    fn new(value: Self) -> atomic::AtomicU64 {
        atomic::AtomicU64::new(value.to_bits())
    }
    fn load(atomic: &atomic::AtomicU64) -> Self {
        f64::from_bits(atomic.load(Ordering::SeqCst))
    }
    fn store(atomic: &atomic::AtomicU64, value: Self) {
        atomic.store(value.to_bits(), Ordering::SeqCst)
    }
    fn swap(atomic: &atomic::AtomicU64, value: Self) -> Self {
        f64::from_bits(atomic.swap(value.to_bits(), Ordering::SeqCst))
    }
    /// Compares bits, as C does: `-0.0` is not `0.0`, and a NaN matches
    /// the same NaN.
    fn compare_exchange(
        atomic: &atomic::AtomicU64,
        current: Self,
        new: Self,
    ) -> Result<Self, Self> {
        atomic
            .compare_exchange(
                current.to_bits(),
                new.to_bits(),
                Ordering::SeqCst,
                Ordering::SeqCst,
            )
            .map(f64::from_bits)
            .map_err(f64::from_bits)
    }
    fn fetch_add(atomic: &atomic::AtomicU64, value: Self) -> Self {
        update_f64(atomic, |x| x + value)
    }
    fn fetch_sub(atomic: &atomic::AtomicU64, value: Self) -> Self {
        update_f64(atomic, |x| x - value)
    }
    fn fetch_max(atomic: &atomic::AtomicU64, value: Self) -> Self {
        update_f64(atomic, |x| x.max(value))
    }
    fn fetch_min(atomic: &atomic::AtomicU64, value: Self) -> Self {
        update_f64(atomic, |x| x.min(value))
    }
}
#[cfg(target_has_atomic = "64")]
impl AtomicPlain for f64 {}

/// Replaces the `f64` in `atomic` by `f(old)` in one indivisible step (a
/// compare-and-swap loop); returns the old value.
#[cfg(target_has_atomic = "64")]
fn update_f64(atomic: &atomic::AtomicU64, f: impl Fn(f64) -> f64) -> f64 {
    let old = atomic
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |bits| {
            Some(f(f64::from_bits(bits)).to_bits())
        })
        .unwrap_or_else(|bits| bits);
    f64::from_bits(old)
}
// std has each atomic type only on CPUs that do it natively, without a lock.
#[cfg(target_has_atomic = "32")]
atomic_plain!(i32 => atomic::AtomicI32, u32 => atomic::AtomicU32);
#[cfg(target_has_atomic = "64")]
atomic_plain!(i64 => atomic::AtomicI64, u64 => atomic::AtomicU64);
#[cfg(target_has_atomic = "ptr")]
atomic_plain!(usize => atomic::AtomicUsize);

/// An integer in shared memory that processes update without a lock: a std
/// atomic (`AtomicI64`, ...) placed in memory that every process maps.
///
/// # Why std atomics work across processes, and `std::sync::Mutex` does not
///
/// An atomic operation such as `fetch_add` is a single CPU instruction (on
/// x86, `lock xadd`). The CPU makes it indivisible on the *physical* memory
/// it touches, whichever virtual address a process uses to reach it. Two
/// processes mapping the same shared page touch the same physical memory, so
/// their atomic instructions exclude each other exactly as two threads' do.
/// That holds for lock-free atomics only; std provides `AtomicU64` and the
/// others only on CPUs that do them natively, which is why this type accepts
/// only the integers of [`AtomicPlain`].
///
/// `std::sync::Mutex` is not only an atomic: a thread that finds it locked
/// goes to sleep in the kernel on a *private* futex, which the kernel files
/// under this one process's address space. A waiter in another process is
/// filed elsewhere, and is never woken. Process-shared locks ([`Lock`],
/// [`Value::lock`](crate::Value::lock)) use a pthread mutex marked `PTHREAD_PROCESS_SHARED`.
///
/// [`Lock`]: crate::Lock
///
/// # Orderings
///
/// Every operation uses `Ordering::SeqCst`, the simplest to reason about: all
/// processes see all these operations in one order. Arithmetic wraps around
/// on overflow, as std atomics do, even in debug builds.
///
/// ```
/// use mp::{AtomicValue, Process};
///
/// fn job(counter: AtomicValue<u64>) {
///     for _ in 0..1000 {
///         counter.fetch_add(1); // one indivisible instruction: no update lost
///     }
/// }
///
/// fn main() -> mp::Result<()> {
///     mp::init();
///     let counter = AtomicValue::new(0)?;
///     let mut p1 = Process::new(job, counter.clone());
///     let mut p2 = Process::new(job, counter.clone());
///     p1.start()?;
///     p2.start()?;
///     p1.join()?;
///     p2.join()?;
///     assert_eq!(counter.load(), 2000);
///     Ok(())
/// }
/// ```
// Sent to a spawned child as its memory's file descriptor, like a [`Value`](crate::Value).
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent, bound = "")]
pub struct AtomicValue<T: AtomicPlain> {
    region: Region<AtomicCell<T>>,
}

/// The one atomic an [`AtomicValue`] keeps in shared memory.
#[repr(transparent)]
struct AtomicCell<T: AtomicPlain>(T::Atomic);

// SAFETY: a std atomic (or `AtomicU64` for an `f64`'s bits): made for use by
// reference from many threads and processes, and all-zero bytes are a valid
// value (0, or 0.0).
unsafe impl<T: AtomicPlain> InShared for AtomicCell<T> {}

impl<T: AtomicPlain> AtomicValue<T> {
    /// Puts `value` in new shared memory.
    pub fn new(value: T) -> Result<Self> {
        const { assert_fits_page_alignment::<T::Atomic>() };
        let region = Region::new("AtomicValue", 0, |cell: &mut AtomicCell<T>, _| {
            cell.0 = T::new(value);
        })?;
        Ok(AtomicValue { region })
    }

    fn atomic(&self) -> &T::Atomic {
        &self.region.header().0
    }

    /// Reads the value.
    pub fn load(&self) -> T {
        T::load(self.atomic())
    }

    /// Writes the value.
    pub fn store(&self, value: T) {
        T::store(self.atomic(), value)
    }

    /// Adds `value` in one indivisible step and returns the value from before.
    pub fn fetch_add(&self, value: T) -> T {
        T::fetch_add(self.atomic(), value)
    }

    /// Subtracts `value` in one indivisible step; returns the value from before.
    pub fn fetch_sub(&self, value: T) -> T {
        T::fetch_sub(self.atomic(), value)
    }

    /// Writes `value` and returns the value from before, in one step.
    pub fn swap(&self, value: T) -> T {
        T::swap(self.atomic(), value)
    }

    /// Writes `new` if the value is `current`, in one step: `Ok(current)` if
    /// it did, `Err(actual)` with the value found if not.
    pub fn compare_exchange(&self, current: T, new: T) -> std::result::Result<T, T> {
        T::compare_exchange(self.atomic(), current, new)
    }

    /// Keeps the larger of the value and `value`; returns the value from before.
    pub fn fetch_max(&self, value: T) -> T {
        T::fetch_max(self.atomic(), value)
    }

    /// Keeps the smaller of the value and `value`; returns the value from before.
    pub fn fetch_min(&self, value: T) -> T {
        T::fetch_min(self.atomic(), value)
    }
}

impl<T: AtomicInteger> AtomicValue<T> {
    /// Bitwise and, in one step; returns the value from before.
    pub fn fetch_and(&self, value: T) -> T {
        <T as sealed::HasBits>::fetch_and(self.atomic(), value)
    }

    /// Bitwise or, in one step; returns the value from before.
    pub fn fetch_or(&self, value: T) -> T {
        <T as sealed::HasBits>::fetch_or(self.atomic(), value)
    }

    /// Bitwise exclusive or, in one step; returns the value from before.
    pub fn fetch_xor(&self, value: T) -> T {
        <T as sealed::HasBits>::fetch_xor(self.atomic(), value)
    }
}

impl<T: AtomicPlain + fmt::Debug> fmt::Debug for AtomicValue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AtomicValue")
            .field("value", &self.load())
            .finish()
    }
}
