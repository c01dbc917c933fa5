//! Messages between processes: Python's `multiprocessing.Queue`,
//! `JoinableQueue` and `Pipe`, handing a descriptor to a child ([`Fd`]), and the framed channel the pool talks to its workers over.
//!
//! Every path here is a pipe (or a socket pair), the kernel's byte stream
//! between processes. What this module adds on top is *framing* (where one
//! message ends and the next begins) and serialization (how a Rust value
//! becomes bytes and back).

pub(crate) mod channel;
mod fd;
pub(crate) mod joinable;
pub(crate) mod pipe;
pub(crate) mod queue;

pub use fd::Fd;
pub use joinable::JoinableQueue;
pub use pipe::{Connection, pipe};
pub use queue::{Queue, TryPutError};
