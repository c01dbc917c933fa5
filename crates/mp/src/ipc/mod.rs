//! Messages between processes: Python's `multiprocessing.Queue`, and the
//! framed channel the pool talks to its workers over.
//!
//! Every path here is a pipe, the kernel's byte stream between processes.
//! What this module adds on top is *framing* (where one message ends and the
//! next begins) and serialization (how a Rust value becomes bytes and back).

pub(crate) mod channel;
pub(crate) mod queue;

pub use queue::Queue;
