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

use std::panic::{self, AssertUnwindSafe};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::panic_message;
use crate::error::{Error, ErrorKind, Result};
use crate::inherit;

/// Turns a value into bytes: the crate's pickle.
///
/// A `Queue`, `Value` or `Lock` inside `value` makes this fail with
/// [`ErrorKind::NotInStartArguments`], unless `value` is a spawned child's
/// start arguments.
pub(crate) fn to_bytes<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    inherit::take_refused(); // forget a refusal from an earlier, unrelated call
    postcard::to_stdvec(value).map_err(|e| match inherit::take_refused() {
        Some(what) => Error::new(ErrorKind::NotInStartArguments { what }),
        None => Error::new(ErrorKind::Serialize(e.to_string())),
    })
}

/// Turns bytes made by [`to_bytes`] back into a value.
pub(crate) fn from_bytes<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    postcard::from_bytes(bytes).map_err(|e| Error::new(ErrorKind::Deserialize(e.to_string())))
}

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

/// A call that has decoded its argument and is ready to run: it returns the
/// serialized result.
pub(crate) type Prepared = Box<dyn FnOnce() -> Result<Vec<u8>>>;

/// Decodes an argument for the function at `function` and returns the call.
type Trampoline = fn(function: usize, input: &[u8]) -> Result<Prepared>;

/// A `fn(A) -> R` that another process running this executable can call on
/// serialized arguments.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub(crate) struct RemoteFn {
    function: CodeOffset,
    /// `trampoline::<A, R>`: it knows the types `A` and `R`, which the bytes do not.
    trampoline: CodeOffset,
}

impl RemoteFn {
    /// Describes `f` so that another process can call it.
    pub(crate) fn new<A: DeserializeOwned + 'static, R: Serialize + 'static>(
        f: fn(A) -> R,
    ) -> Self {
        RemoteFn {
            function: CodeOffset::of(f as usize),
            trampoline: CodeOffset::of(trampoline::<A, R> as Trampoline as usize),
        }
    }

    /// Describes `f` to be run on a whole batch of arguments, one after
    /// another, in one message each way: the pool's chunks. The input is a
    /// serialized `Vec<A>` (or `&[A]`, the same bytes). The call returns a
    /// serialized [`BatchResults<R>`]: an argument whose call panics is
    /// recorded there with the panic's message, and the batch goes on.
    pub(crate) fn new_batch<A: DeserializeOwned + 'static, R: Serialize + 'static>(
        f: fn(A) -> R,
    ) -> Self {
        RemoteFn {
            function: CodeOffset::of(f as usize),
            trampoline: CodeOffset::of(batch_trampoline::<A, R> as Trampoline as usize),
        }
    }

    /// Like [`RemoteFn::new_batch`], for a function of two arguments run on
    /// a batch of pairs (the pool's `starmap`): the input is a serialized
    /// `Vec<(A, B)>`, and each pair is passed as two arguments.
    pub(crate) fn new_pair_batch<
        A: DeserializeOwned + 'static,
        B: DeserializeOwned + 'static,
        R: Serialize + 'static,
    >(
        f: fn(A, B) -> R,
    ) -> Self {
        RemoteFn {
            function: CodeOffset::of(f as usize),
            trampoline: CodeOffset::of(pair_batch_trampoline::<A, B, R> as Trampoline as usize),
        }
    }

    /// Decodes `input` as the function's argument (in the receiving process)
    /// and returns the call, ready to run.
    ///
    /// A `RemoteFn` must come from [`RemoteFn::new`] in a process running the
    /// same executable: the crate only reads them from its own pipes.
    pub(crate) fn prepare(&self, input: &[u8]) -> Result<Prepared> {
        // SAFETY: `trampoline` was measured from a `Trampoline` in a process
        // running this same executable (fork copies it; spawn re-runs the same
        // file, `/proc/self/exe`), so the address is that function's here too.
        let trampoline: Trampoline =
            unsafe { std::mem::transmute::<usize, Trampoline>(self.trampoline.address()) };
        trampoline(self.function.address(), input)
    }
}

/// Decodes an `A`, and returns the call of the `fn(A) -> R` at `function`.
fn trampoline<A: DeserializeOwned + 'static, R: Serialize + 'static>(
    function: usize,
    input: &[u8],
) -> Result<Prepared> {
    // SAFETY: `RemoteFn::new::<A, R>` paired this very instantiation of the
    // trampoline with the address of a `fn(A) -> R`, valid in this process (see
    // `RemoteFn::prepare`).
    let f = unsafe { std::mem::transmute::<usize, fn(A) -> R>(function) };
    let argument: A = from_bytes(input)?;
    Ok(Box::new(move || to_bytes(&f(argument))))
}

/// Decodes a `Vec<A>`, and returns the call that runs the `fn(A) -> R` at
/// `function` on each argument (see [`RemoteFn::new_batch`]).
fn batch_trampoline<A: DeserializeOwned + 'static, R: Serialize + 'static>(
    function: usize,
    input: &[u8],
) -> Result<Prepared> {
    // SAFETY: `RemoteFn::new_batch::<A, R>` paired this very instantiation of
    // the trampoline with the address of a `fn(A) -> R`, valid in this process
    // (see `RemoteFn::prepare`).
    let f = unsafe { std::mem::transmute::<usize, fn(A) -> R>(function) };
    let arguments: Vec<A> = from_bytes(input)?;
    Ok(Box::new(move || run_batch(arguments, f)))
}

/// Decodes a `Vec<(A, B)>`, and returns the call that runs the `fn(A, B) -> R`
/// at `function` on each pair (see [`RemoteFn::new_pair_batch`]).
fn pair_batch_trampoline<
    A: DeserializeOwned + 'static,
    B: DeserializeOwned + 'static,
    R: Serialize + 'static,
>(
    function: usize,
    input: &[u8],
) -> Result<Prepared> {
    // SAFETY: `RemoteFn::new_pair_batch::<A, B, R>` paired this very
    // instantiation of the trampoline with the address of a `fn(A, B) -> R`,
    // valid in this process (see `RemoteFn::prepare`).
    let f = unsafe { std::mem::transmute::<usize, fn(A, B) -> R>(function) };
    let arguments: Vec<(A, B)> = from_bytes(input)?;
    Ok(Box::new(move || run_batch(arguments, |(a, b)| f(a, b))))
}

/// Runs `f` on each argument in turn and serializes the [`BatchResults`].
fn run_batch<T, R: Serialize>(arguments: Vec<T>, f: impl Fn(T) -> R) -> Result<Vec<u8>> {
    let mut values = Vec::with_capacity(arguments.len());
    let mut panics = Vec::new();
    for (index, argument) in arguments.into_iter().enumerate() {
        // One panicking item fails alone; the others still run.
        match panic::catch_unwind(AssertUnwindSafe(|| f(argument))) {
            Ok(value) => values.push(value),
            Err(payload) => panics.push((index, panic_message(payload.as_ref()))),
        }
    }
    let results: BatchResults<R> = (values, panics);
    to_bytes(&results)
}

/// What a batch sends back: the values of the calls that returned, in order,
/// and the position and panic message of each call that panicked. Kept apart
/// so that the usual case, nothing panicked, costs nothing per item.
pub(crate) type BatchResults<R> = (Vec<R>, Vec<(usize, String)>);
