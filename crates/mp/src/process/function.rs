//! Sending a plain `fn` and its argument to another process.
//!
//! Python pickles a function by its *name*: the other process imports the
//! module and looks the name up. Rust keeps no function names at run time, but
//! every process in this crate runs the very same executable (fork copies it;
//! spawn runs it again). In one executable, a function always sits at the same
//! distance from any other point of its code, even when the system loads the
//! program at a random address (ASLR). So we send that distance, measured from
//! an anchor function of this crate, and the other side adds it to its own
//! anchor's address.
//!
//! That is why targets are plain `fn` items and never capturing closures: a
//! closure's captured values live in one process's memory; only a code address
//! means the same thing in both. (In Python terms: the target must be picklable.)
//!
//! Turning a number into a function pointer and calling it is only sound if
//! the number came from [`RemoteFn::new`] in a process running this same
//! executable: see "The trust boundary" in `spawn.rs` for how a spawned
//! child makes sure of it.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::codec::{from_bytes, to_bytes};
use crate::error::Result;

/// The fixed point that code addresses are measured from.
#[inline(never)]
fn anchor() {}

/// A code address, as a distance from [`anchor`]: the same in every process
/// running this executable.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct CodeOffset(isize);

impl CodeOffset {
    fn of(address: usize) -> Self {
        CodeOffset(address.wrapping_sub(anchor as fn() as usize) as isize)
    }

    fn address(self) -> usize {
        (anchor as fn() as usize).wrapping_add(self.0 as usize)
    }
}

/// A call that has decoded its argument and is ready to run: it hands its
/// results to an [`Output`] as it makes them.
pub(crate) type Prepared = Box<dyn FnOnce(&mut dyn Output) -> Result<()>>;

/// Where a call's results go, as they are made. A pool's worker sends each
/// piece to the parent at once (see `pool/worker.rs`), so a big result
/// leaves the worker as soon as it exists, straight from its own memory.
pub(crate) trait Output {
    /// `count` results, serialized back to back in `bytes`; more follow.
    fn values(&mut self, count: usize, bytes: &[u8]) -> Result<()>;
    /// One result as its raw bytes (see `codec::raw_bytes`); more follow.
    fn raw(&mut self, bytes: &[u8]) -> Result<()>;
    /// The call is over: its last `count` results, serialized in `bytes`,
    /// and the position and panic message of each argument whose call
    /// panicked (a batch goes on after a panic).
    fn done(&mut self, count: usize, bytes: &[u8], panics: &[(usize, String)]) -> Result<()>;
}

/// An [`Output`] that keeps nothing: for a process's target and a pool's
/// initializer, whose results nobody reads.
pub(crate) struct Discard;

impl Output for Discard {
    fn values(&mut self, _: usize, _: &[u8]) -> Result<()> {
        Ok(())
    }
    fn raw(&mut self, _: &[u8]) -> Result<()> {
        Ok(())
    }
    fn done(&mut self, _: usize, _: &[u8], _: &[(usize, String)]) -> Result<()> {
        Ok(())
    }
}

/// Decodes an argument for the function at `function` and returns the call.
type Trampoline = fn(function: usize, input: &[u8]) -> Result<Prepared>;

/// How the receiving side calls a [`RemoteFn`]'s `fn(A) -> R`: it decodes
/// the input and prepares the call. [`Single`] calls it once; the pool's
/// batches (`pool/batch.rs`) call it on each argument of a chunk.
pub(crate) trait Caller<A: 'static, R: 'static> {
    /// Decodes `input` and returns the call of `f` on it.
    fn prepare(f: fn(A) -> R, input: &[u8]) -> Result<Prepared>;
}

/// A [`Caller`] that decodes one `A` and hands the one result to its
/// [`Output`]: a process's target, a pool's initializer.
struct Single;

impl<A: DeserializeOwned + 'static, R: Serialize + 'static> Caller<A, R> for Single {
    fn prepare(f: fn(A) -> R, input: &[u8]) -> Result<Prepared> {
        let argument: A = from_bytes(input)?;
        Ok(Box::new(move |out| {
            out.done(1, &to_bytes(&f(argument))?, &[])
        }))
    }
}

/// A `fn(A) -> R` that another process running this executable can call on
/// serialized arguments.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub(crate) struct RemoteFn {
    function: CodeOffset,
    /// `trampoline::<C, A, R>`: it knows the types `A` and `R`, which the
    /// bytes do not, and how to call (`C`).
    trampoline: CodeOffset,
}

impl RemoteFn {
    /// Describes `f` so that another process can call it once.
    pub(crate) fn new<A: DeserializeOwned + 'static, R: Serialize + 'static>(
        f: fn(A) -> R,
    ) -> Self {
        Self::with_caller::<Single, A, R>(f)
    }

    /// Describes `f` so that another process can call it the way `C` does
    /// (the pool's batches: see `pool/batch.rs`).
    pub(crate) fn with_caller<C: Caller<A, R>, A: 'static, R: 'static>(f: fn(A) -> R) -> Self {
        RemoteFn {
            function: CodeOffset::of(f as usize),
            trampoline: CodeOffset::of(trampoline::<C, A, R> as Trampoline as usize),
        }
    }

    /// Decodes `input` as the function's argument (in the receiving process)
    /// and returns the call, ready to run.
    ///
    /// A `RemoteFn` must come from [`RemoteFn::new`] in a process running the
    /// same executable: the crate reads them only from its own pipes, and
    /// from a spawned child's start pipe once `mp::init` has checked who sent
    /// it (see "The trust boundary" in `spawn.rs`).
    pub(crate) fn prepare(&self, input: &[u8]) -> Result<Prepared> {
        // SAFETY: `trampoline` was measured from a `Trampoline` in a process
        // running this same executable (fork copies it; spawn re-runs the same
        // file, `/proc/self/exe`, and `mp::init` checks the sender before
        // calling this), so the address is that function's here too.
        let trampoline: Trampoline =
            unsafe { std::mem::transmute::<usize, Trampoline>(self.trampoline.address()) };
        trampoline(self.function.address(), input)
    }
}

/// Turns the address at `function` back into the `fn(A) -> R` it is, and
/// lets `C` decode `input` and prepare the call.
fn trampoline<C: Caller<A, R>, A: 'static, R: 'static>(
    function: usize,
    input: &[u8],
) -> Result<Prepared> {
    // SAFETY: `RemoteFn::with_caller::<C, A, R>` paired this very
    // instantiation of the trampoline with the address of a `fn(A) -> R`,
    // valid in this process (see `RemoteFn::prepare`).
    let f = unsafe { std::mem::transmute::<usize, fn(A) -> R>(function) };
    C::prepare(f, input)
}
