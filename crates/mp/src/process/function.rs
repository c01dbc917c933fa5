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
//! # The trust boundary
//!
//! Turning a number into a function pointer and calling it is only sound if
//! the number came from [`RemoteFn::new`] in a process running this same
//! executable. Inside the crate's own pipes (a forked child, a pool worker)
//! that holds by construction: only the crate writes to them. A spawned
//! child is different: it is a program started with `--mp-spawned-child N`,
//! and anyone can start a program with any arguments and any descriptor `N`.
//! So `mp::init` believes nothing it reads until it has checked, in order:
//!
//! 1. `N` is a number, an open descriptor, and the reading end of a pipe;
//! 2. the bytes start with the crate's header ([`seal`]): a magic word, the
//!    format's version, the length, and a checksum of what follows; the
//!    length and checksum match (nothing cut short, nothing changed);
//! 3. the payload decodes, and the parent pid it names is this process's
//!    parent;
//! 4. that parent runs the very same executable file as this process (same
//!    device and inode of `/proc/<pid>/exe`, on Linux).
//!
//! Any failure is one line on stderr and exit code 2, before any offset is
//! turned into a pointer. What remains trusted is a parent that runs this
//! same program: such a parent could make the program do anything it can do
//! anyway. The checksum guards against accidents (a truncated or mixed-up
//! pipe), not against a forger who runs this same executable as the parent;
//! the parent check is what keeps other programs out. On systems without
//! `/proc` the fourth check is skipped.

use std::any::Any;
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

/// The first bytes of a spawned child's start arguments.
const MAGIC: [u8; 8] = *b"mp-start";
/// The start arguments' format: change it whenever [`SpawnPayload`]'s shape
/// changes, so that a child never misreads another version's bytes.
///
/// [`SpawnPayload`]: super::SpawnPayload
const VERSION: u32 = 1;
/// Magic, version, length (u64) and checksum (u64), little-endian.
const HEADER: usize = 8 + 4 + 8 + 8;
/// The largest start arguments accepted: as large as a pool's frame.
const MAX_START: u64 = u32::MAX as u64;

/// A 64-bit FNV-1a hash: a simple checksum that catches cut or mixed-up bytes.
fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Puts the header in front of a spawned child's start arguments `body`.
pub(crate) fn seal(body: &[u8]) -> Result<Vec<u8>> {
    if body.len() as u64 > MAX_START {
        return Err(ErrorKind::MessageTooLarge {
            len: body.len(),
            max: MAX_START as usize,
        }
        .into());
    }
    let mut sealed = Vec::with_capacity(HEADER + body.len());
    sealed.extend_from_slice(&MAGIC);
    sealed.extend_from_slice(&VERSION.to_le_bytes());
    sealed.extend_from_slice(&(body.len() as u64).to_le_bytes());
    sealed.extend_from_slice(&checksum(body).to_le_bytes());
    sealed.extend_from_slice(body);
    Ok(sealed)
}

/// Reads start arguments made by [`seal`] from `pipe`, to its end, and
/// returns the body once the header vouches for it; else says what is wrong.
pub(crate) fn unseal(mut pipe: impl std::io::Read) -> std::result::Result<Vec<u8>, String> {
    let mut header = [0u8; HEADER];
    read_all(&mut pipe, &mut header, "the header")?;
    let (magic, rest) = header.split_at(8);
    let (version, rest) = rest.split_at(4);
    let (len, sum) = rest.split_at(8);
    if magic != MAGIC {
        return Err("the start arguments do not begin with the mp header: \
                    they were not sent by a parent using this crate"
            .to_owned());
    }
    let version = u32::from_le_bytes(version.try_into().expect("4 bytes"));
    if version != VERSION {
        return Err(format!(
            "the start arguments are in format version {version}; this program reads version {VERSION}"
        ));
    }
    let len = u64::from_le_bytes(len.try_into().expect("8 bytes"));
    if len > MAX_START {
        return Err(format!(
            "the start arguments claim {len} bytes, more than the {MAX_START} allowed"
        ));
    }
    let mut body = vec![0; len as usize];
    read_all(&mut pipe, &mut body, "the body")?;
    let mut extra = [0u8; 1];
    match pipe.read(&mut extra) {
        Ok(0) => {}
        Ok(_) => return Err("the start arguments go on past their stated length".to_owned()),
        Err(e) => return Err(format!("could not read the start pipe: {e}")),
    }
    if checksum(&body) != u64::from_le_bytes(sum.try_into().expect("8 bytes")) {
        return Err("the start arguments' checksum does not match: they were changed".to_owned());
    }
    Ok(body)
}

/// Fills `buf` from `pipe`; a short read says which `part` was cut short.
fn read_all(
    pipe: &mut impl std::io::Read,
    buf: &mut [u8],
    part: &str,
) -> std::result::Result<(), String> {
    let mut filled = 0;
    while filled < buf.len() {
        match pipe.read(&mut buf[filled..]) {
            Ok(0) => {
                return Err(format!(
                    "the start arguments are cut short: {filled} of the {} bytes of {part}",
                    buf.len()
                ));
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("could not read the start pipe: {e}")),
        }
    }
    Ok(())
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
    /// same executable: the crate reads them only from its own pipes, and
    /// from a spawned child's start pipe once `mp::init` has checked who sent
    /// it (see "The trust boundary" above).
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
fn run_batch<T, R: Serialize + 'static>(arguments: Vec<T>, f: impl Fn(T) -> R) -> Result<Vec<u8>> {
    let mut values = Vec::with_capacity(arguments.len());
    let mut panics = Vec::new();
    for (index, argument) in arguments.into_iter().enumerate() {
        // One panicking item fails alone; the others still run.
        match panic::catch_unwind(AssertUnwindSafe(|| f(argument))) {
            Ok(value) => values.push(value),
            Err(payload) => panics.push((index, panic_message(payload.as_ref()))),
        }
    }
    batch_to_bytes(&values, &panics)
}

// ---------------------------------------------------------------------------
// Big results of bytes and floats, without serde's element-by-element path
// ---------------------------------------------------------------------------
//
// Serde hands a serializer a `Vec<u8>` one byte at a time (and a `Vec<f64>`
// one float at a time), and postcard spends nanoseconds on each: a pool
// returning 1 MiB results spent most of its time there, twice (in the worker
// and in the parent), plus page faults from a buffer grown by doubling. Yet
// postcard's bytes for such a vector are its length as a varint, then the
// elements' little-endian bytes as they are. So a batch of such results is
// written and read here in exactly postcard's bytes, whole slices at a time,
// into a buffer of the right size from the start (the queue does the same
// for its messages: see `ipc/queue.rs`). Other types go through postcard.

/// Appends `len` as postcard's varint: 7 bits a byte, low first.
fn put_varint(out: &mut Vec<u8>, mut len: usize) {
    while len >= 0x80 {
        out.push(len as u8 | 0x80);
        len >>= 7;
    }
    out.push(len as u8);
}

/// Reads a varint from the front of `bytes`: its value and the rest.
fn take_varint(bytes: &[u8]) -> Option<(usize, &[u8])> {
    let mut len = 0_usize;
    for (i, &byte) in bytes.iter().enumerate().take(10) {
        len |= usize::from(byte & 0x7f).checked_shl(7 * i as u32)?;
        if byte & 0x80 == 0 {
            return Some((len, &bytes[i + 1..]));
        }
    }
    None
}

/// Serializes a batch's values and panics as postcard serializes the pair
/// [`BatchResults<R>`], the fast way when `R` is `Vec<u8>` or `Vec<f64>`.
fn batch_to_bytes<R: Serialize + 'static>(
    values: &Vec<R>,
    panics: &[(usize, String)],
) -> Result<Vec<u8>> {
    let any: &dyn Any = values;
    let fast = if let Some(vectors) = any.downcast_ref::<Vec<Vec<u8>>>() {
        Some(fast_batch(vectors, 1, |out, bytes| {
            out.extend_from_slice(bytes)
        }))
    } else {
        any.downcast_ref::<Vec<Vec<f64>>>().map(|vectors| {
            fast_batch(vectors, 8, |out, floats| {
                for x in floats {
                    out.extend_from_slice(&x.to_le_bytes());
                }
            })
        })
    };
    match fast {
        Some(mut out) => {
            out.extend_from_slice(&to_bytes(panics)?);
            Ok(out)
        }
        None => to_bytes(&(values, panics)),
    }
}

/// Writes `vectors` as postcard writes a `Vec<Vec<E>>` whose elements take
/// `width` bytes each, into a buffer sized once.
fn fast_batch<E>(vectors: &[Vec<E>], width: usize, put: impl Fn(&mut Vec<u8>, &[E])) -> Vec<u8> {
    // Each vector already holds `width * len` bytes in memory: no overflow.
    let size: usize = vectors.iter().map(|v| 10 + width * v.len()).sum();
    let mut out = Vec::with_capacity(10 + size + 16);
    put_varint(&mut out, vectors.len());
    for vector in vectors {
        put_varint(&mut out, vector.len());
        put(&mut out, vector);
    }
    out
}

/// Turns bytes made by [`batch_to_bytes`] (or by postcard from a
/// [`BatchResults<R>`]) back into the values and panics.
pub(crate) fn batch_from_bytes<R: DeserializeOwned + 'static>(
    bytes: &[u8],
) -> Result<BatchResults<R>> {
    use std::any::TypeId;
    let fast: Option<Box<dyn Any>> = if TypeId::of::<R>() == TypeId::of::<Vec<u8>>() {
        let (values, rest) = take_fast_batch(bytes, 1, |b| b.to_vec())?;
        Some(Box::new((
            values,
            from_bytes::<Vec<(usize, String)>>(rest)?,
        )))
    } else if TypeId::of::<R>() == TypeId::of::<Vec<f64>>() {
        let (values, rest) = take_fast_batch(bytes, 8, |b| {
            b.chunks_exact(8)
                .map(|x| f64::from_le_bytes(x.try_into().expect("8 bytes")))
                .collect::<Vec<f64>>()
        })?;
        Some(Box::new((
            values,
            from_bytes::<Vec<(usize, String)>>(rest)?,
        )))
    } else {
        None
    };
    match fast {
        Some(fast) => Ok(*fast
            .downcast::<BatchResults<R>>()
            .expect("R is the type just compared with")),
        None => from_bytes(bytes),
    }
}

/// Reads a `Vec<Vec<E>>` written by [`fast_batch`]; the values and the rest.
/// Every length is checked against the bytes actually there before anything
/// is allocated, so a bad length is an error, never a huge allocation.
fn take_fast_batch<V>(
    bytes: &[u8],
    width: usize,
    make: impl Fn(&[u8]) -> V,
) -> Result<(Vec<V>, &[u8])> {
    let wrong = |what: &str| {
        Error::new(ErrorKind::Deserialize(format!(
            "a batch of results is malformed: {what}"
        )))
    };
    let (count, mut rest) = take_varint(bytes).ok_or_else(|| wrong("no count"))?;
    // Each vector takes at least one byte (its length).
    if count > rest.len() {
        return Err(wrong("more results claimed than bytes sent"));
    }
    let mut values = Vec::with_capacity(count);
    for _ in 0..count {
        let (len, after) = take_varint(rest).ok_or_else(|| wrong("no length"))?;
        let size = len
            .checked_mul(width)
            .filter(|&size| size <= after.len())
            .ok_or_else(|| wrong("a result is longer than the bytes sent"))?;
        values.push(make(&after[..size]));
        rest = &after[size..];
    }
    Ok((values, rest))
}

/// What a batch sends back: the values of the calls that returned, in order,
/// and the position and panic message of each call that panicked. Kept apart
/// so that the usual case, nothing panicked, costs nothing per item.
pub(crate) type BatchResults<R> = (Vec<R>, Vec<(usize, String)>);

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast way writes exactly postcard's bytes, and reads them back.
    #[test]
    fn batches_of_byte_and_float_vectors_are_encoded_exactly_as_postcard_does() {
        let panics = vec![(1, "boom".to_owned())];
        let bytes = vec![vec![7_u8; 300], Vec::new(), vec![1, 2, 3]];
        let encoded = batch_to_bytes(&bytes, &panics).unwrap();
        assert_eq!(encoded, postcard::to_stdvec(&(&bytes, &panics)).unwrap());
        let back: BatchResults<Vec<u8>> = batch_from_bytes(&encoded).unwrap();
        assert_eq!(back, (bytes, panics.clone()));

        let floats = vec![vec![0.5_f64, -1.0, f64::MAX], vec![2.0; 200]];
        let encoded = batch_to_bytes(&floats, &[]).unwrap();
        assert_eq!(
            encoded,
            postcard::to_stdvec(&(&floats, Vec::<(usize, String)>::new())).unwrap()
        );
        let back: BatchResults<Vec<f64>> = batch_from_bytes(&encoded).unwrap();
        assert_eq!(back, (floats, Vec::new()));
    }

    /// Lengths that claim more than was sent are errors, not allocations.
    #[test]
    fn a_batch_claiming_more_than_it_holds_is_refused() {
        let mut huge_count = Vec::new();
        put_varint(&mut huge_count, usize::MAX >> 1);
        let mut huge_vector = vec![1];
        put_varint(&mut huge_vector, usize::MAX);
        for bytes in [huge_count, huge_vector, vec![1, 5, 1, 2], vec![]] {
            assert!(batch_from_bytes::<Vec<u8>>(&bytes).is_err(), "{bytes:?}");
            assert!(batch_from_bytes::<Vec<f64>>(&bytes).is_err(), "{bytes:?}");
        }
    }
}
