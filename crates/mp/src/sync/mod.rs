//! Locks and the other primitives that make processes wait for each other:
//! Python's `multiprocessing.Lock` and its family.
//!
//! Like `std::sync`, but every primitive here lives in shared memory and works
//! between processes, not only between threads; and each one reports a holder
//! that died instead of leaving the others waiting forever.
//!
//! | Python | here | what a dead process does to it |
//! |---|---|---|
//! | `Lock` | [`Lock`] | the next `lock` gets [`OwnerDied`] |
//! | `Event` | [`Event`] | nothing; a waiter nobody is left to wake gets an error |
//! | `Barrier` | [`Barrier`] | a party that dies waiting breaks it for everyone |
//! | `Semaphore`, `BoundedSemaphore` | [`Semaphore`], [`BoundedSemaphore`] | a dead holder's permit comes back |
//! | `Condition` | [`Condition`] | its lock's holder dies: the next one is told ([`WaitError`]) |
//! | `RLock` | [`RLock`] | like `Lock` |
//!
//! No wait here lasts forever once nobody is left who could end it (see
//! [`ErrorKind::WaitAbandoned`](crate::ErrorKind::WaitAbandoned)); how each
//! primitive sleeps is explained in `sync/wait.rs`.

mod barrier;
mod condition;
mod event;
mod holders;
mod lock;
pub(crate) mod owner_died;
pub(crate) mod raw_lock;
mod release_check;
mod rlock;
mod semaphore;
pub(crate) mod wait;
mod waiters;

pub use barrier::Barrier;
pub use condition::{Condition, ConditionGuard, WaitError, WaitResult};
pub use event::Event;
pub use lock::{Lock, LockGuard};
pub use owner_died::{LockError, LockResult, OwnerDied};
pub use rlock::{RLock, RLockGuard};
pub use semaphore::{BoundedSemaphore, Semaphore, SemaphoreGuard};
