//! Locks and the other primitives that make processes wait for each other:
//! Python's `multiprocessing.Lock` and its family.
//!
//! Like `std::sync`, but every primitive here lives in shared memory and works
//! between processes, not only between threads; and each one reports a holder
//! that died instead of leaving the others waiting forever.

pub(crate) mod lock;

pub use lock::{Lock, LockGuard, LockResult, OwnerDied};
