//! A pool's initializer and its argument (Python's `initializer` and
//! `initargs`), which may hold shared objects: a `Lock`, a `Queue`, a `Value`.
//!
//! A shared object travels only in a process's start arguments (see
//! `inherit.rs`). So the argument is kept as it is, not as bytes, and turned
//! into bytes afresh for each worker, while that worker's start arguments
//! are written: a spawned worker inherits the descriptors it names. A forked
//! worker has the argument itself in its copy of memory; it turns it into
//! bytes and back, as a spawned one would, so that both run the initializer
//! on objects of their own.

use std::sync::Arc;

use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::codec;
use crate::error::Result;
use crate::inherit;
use crate::process::function::{Prepared, RemoteFn};

/// The initializer's argument, its type forgotten.
trait Argument: Send + Sync {
    fn to_bytes(&self) -> Result<Vec<u8>>;
}

impl<A: Serialize + Send + Sync> Argument for A {
    fn to_bytes(&self) -> Result<Vec<u8>> {
        codec::to_bytes(self)
    }
}

/// The initializer and its argument, as the pool keeps them.
#[derive(Clone)]
pub(super) struct Initializer {
    function: RemoteFn,
    argument: Arc<dyn Argument>,
}

impl Initializer {
    pub(super) fn new<A>(initializer: fn(A), argument: A) -> Self
    where
        A: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        Initializer {
            function: RemoteFn::new(initializer),
            argument: Arc::new(argument),
        }
    }
}

impl std::fmt::Debug for Initializer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Initializer").finish_non_exhaustive()
    }
}

/// In a worker's start arguments: the initializer as given (in the parent,
/// and in a forked worker), or ready to run (in a spawned worker, which
/// decoded its argument while its inherited descriptors were there to take).
pub(super) enum InitSpec {
    Given(Initializer),
    /// The function, its argument's bytes, and the descriptors inherited
    /// for them (taken over from `inherit::with_incoming`).
    Received(RemoteFn, Vec<u8>, Vec<OwnedFd>),
}

impl InitSpec {
    /// The initializer's call, its argument decoded: objects of this
    /// worker's own.
    pub(super) fn prepare(self) -> Result<Prepared> {
        match self {
            InitSpec::Given(init) => {
                let (bytes, fds) = inherit::collect_outgoing(|| init.argument.to_bytes());
                let bytes = bytes?;
                inherit::with_own(&fds, || init.function.prepare(&bytes))
            }
            InitSpec::Received(function, bytes, fds) => {
                let numbers: Vec<RawFd> = fds.iter().map(AsRawFd::as_raw_fd).collect();
                // The decoded objects take duplicates; `fds` closes after.
                inherit::with_own(&numbers, || function.prepare(&bytes))
            }
        }
    }
}

impl Serialize for InitSpec {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            // Inside the spawned worker's start arguments: the descriptors the
            // argument names join theirs.
            InitSpec::Given(init) => {
                let bytes = init
                    .argument
                    .to_bytes()
                    .map_err(serde::ser::Error::custom)?;
                (init.function, bytes).serialize(s)
            }
            InitSpec::Received(..) => Err(serde::ser::Error::custom(
                "a pool initializer already decoded cannot be sent again",
            )),
        }
    }
}

impl<'de> Deserialize<'de> for InitSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let (function, bytes) = <(RemoteFn, Vec<u8>)>::deserialize(d)?;
        // Decoded later, in `prepare`: keep the descriptors the bytes name.
        Ok(InitSpec::Received(
            function,
            bytes,
            inherit::keep_incoming(),
        ))
    }
}
