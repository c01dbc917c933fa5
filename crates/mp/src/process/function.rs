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

use std::panic::{self, AssertUnwindSafe};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::codec::{append_value, from_bytes, from_raw, raw_bytes, take_value, to_bytes};
use crate::error::panic_message;
use crate::error::{Error, ErrorKind, Result};
use crate::inherit;

/// The first bytes of a spawned child's start arguments.
const MAGIC: [u8; 8] = *b"mp-start";
/// The start arguments' format: change it whenever [`SpawnPayload`]'s shape
/// changes, so that a child never misreads another version's bytes.
///
/// [`SpawnPayload`]: super::SpawnPayload
const VERSION: u32 = 1;
/// Magic, version, length (u64) and checksum (u64), little-endian.
const SEAL_HEADER: usize = 8 + 4 + 8 + 8;
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
    let mut sealed = Vec::with_capacity(SEAL_HEADER + body.len());
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
    let mut header = [0u8; SEAL_HEADER];
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

/// A call that has decoded its argument and is ready to run: it hands its
/// results to an [`Output`] as it makes them.
pub(crate) type Prepared = Box<dyn FnOnce(&mut dyn Output) -> Result<()>>;

/// Where a call's results go, as they are made. A pool's worker sends each
/// piece to the parent at once (see `pool/worker.rs`), so a big result
/// leaves the worker as soon as it exists, straight from its own memory.
pub(crate) trait Output {
    /// `count` results, serialized back to back in `bytes`; more follow.
    fn values(&mut self, count: usize, bytes: &[u8]) -> Result<()>;
    /// One result as its raw bytes (see [`raw_bytes`]); more follow.
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
    /// another: the pool's chunks. The input is a serialized `Vec<A>` (or
    /// `&[A]`, the same bytes). The call hands the results to its [`Output`]
    /// as they come (see [`run_batch`]); an argument whose call panics is
    /// recorded with the panic's message, and the batch goes on.
    pub(crate) fn new_batch<A: DeserializeOwned + 'static, R: Serialize + 'static>(
        f: fn(A) -> R,
    ) -> Self {
        RemoteFn {
            function: CodeOffset::of(f as usize),
            trampoline: CodeOffset::of(batch_trampoline::<A, R> as Trampoline as usize),
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
    Ok(Box::new(move |out| {
        out.done(1, &to_bytes(&f(argument))?, &[])
    }))
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
    Ok(Box::new(move |out| run_batch(arguments, f, out)))
}

/// Results at least this big travel alone, as raw bytes sent straight from
/// the result's own memory (only `Vec<u8>` and `Vec<f64>` have a raw form).
const RAW_AT_LEAST: usize = 64 << 10;

/// Smaller results are gathered, and sent once they fill this much: a long
/// chunk's results flow to the parent while the rest are made.
const SEND_EVERY: usize = 1 << 20;

/// Runs `f` on each argument in turn and hands the results to `out` as they
/// come: big byte and float vectors one by one (the worker keeps no more
/// than one in memory, and its allocator reuses that memory for the next),
/// other results gathered into pieces of about [`SEND_EVERY`] bytes.
fn run_batch<T, R: Serialize + 'static>(
    arguments: Vec<T>,
    f: impl Fn(T) -> R,
    out: &mut dyn Output,
) -> Result<()> {
    let mut gathered = Vec::new();
    let mut count = 0;
    let mut panics = Vec::new();
    inherit::take_refused(); // see `codec::serialize_error`
    for (index, argument) in arguments.into_iter().enumerate() {
        // One panicking item fails alone; the others still run.
        let value = match panic::catch_unwind(AssertUnwindSafe(|| f(argument))) {
            Ok(value) => value,
            Err(payload) => {
                panics.push((index, panic_message(payload.as_ref())));
                continue;
            }
        };
        if let Some(raw) = raw_bytes(&value, RAW_AT_LEAST) {
            // What was gathered goes first: the results stay in order.
            if count > 0 {
                out.values(count, &gathered)?;
                (gathered, count) = (Vec::new(), 0);
            }
            out.raw(&raw)?;
        } else {
            append_value(&mut gathered, &value)?;
            count += 1;
            if gathered.len() >= SEND_EVERY {
                out.values(count, &gathered)?;
                (gathered, count) = (Vec::new(), 0);
            }
        }
    }
    out.done(count, &gathered, &panics)
}

fn malformed(what: &str) -> Error {
    Error::new(ErrorKind::Deserialize(format!(
        "a batch of results is malformed: {what}"
    )))
}

/// One piece of a batch's results, as the parent received it from the
/// worker's [`Output`].
#[derive(Clone, Debug)]
pub(crate) enum Part {
    /// `count` results, serialized back to back.
    Values { count: usize, bytes: Vec<u8> },
    /// One result's raw bytes.
    Raw(Vec<u8>),
}

/// Turns the pieces of a batch's results back into the results, in order.
/// `most` is how many the batch can have (its number of arguments): a piece
/// that claims more is an error, not a long loop.
pub(crate) fn results_from_parts<R: DeserializeOwned + 'static>(
    parts: Vec<Part>,
    most: usize,
) -> Result<Vec<R>> {
    let mut values = Vec::new();
    for part in parts {
        match part {
            Part::Values { count, bytes } => {
                if count > most - values.len() {
                    return Err(malformed("more results than arguments"));
                }
                let mut rest = &bytes[..];
                for _ in 0..count {
                    let (value, after) = take_value(rest)?;
                    values.push(value);
                    rest = after;
                }
                if !rest.is_empty() {
                    return Err(malformed("bytes left over after the results"));
                }
            }
            Part::Raw(_) if values.len() == most => {
                return Err(malformed("more results than arguments"));
            }
            Part::Raw(bytes) => values.push(from_raw(bytes).ok_or_else(|| {
                malformed("raw bytes that are not a whole number of the result type's values")
            })?),
        }
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keeps what a batch hands it, as the pool's parent receives it.
    #[derive(Default)]
    struct Collect {
        parts: Vec<Part>,
        panics: Vec<(usize, String)>,
    }

    impl Output for Collect {
        fn values(&mut self, count: usize, bytes: &[u8]) -> Result<()> {
            let bytes = bytes.to_vec();
            self.parts.push(Part::Values { count, bytes });
            Ok(())
        }
        fn raw(&mut self, bytes: &[u8]) -> Result<()> {
            self.parts.push(Part::Raw(bytes.to_vec()));
            Ok(())
        }
        fn done(&mut self, count: usize, bytes: &[u8], panics: &[(usize, String)]) -> Result<()> {
            self.values(count, bytes)?;
            self.panics = panics.to_vec();
            Ok(())
        }
    }

    fn make_bytes(len: usize) -> Vec<u8> {
        assert_ne!(len, 13, "unlucky");
        vec![len as u8; len]
    }

    fn make_floats(len: usize) -> Vec<f64> {
        vec![len as f64; len]
    }

    /// Small results are gathered, big ones go raw, a panic is noted by its
    /// position, and the parent's side puts them all back in order.
    #[test]
    fn a_batch_sends_big_results_raw_and_the_parent_puts_everything_back_in_order() {
        let lens = vec![1, RAW_AT_LEAST, 2, 13, RAW_AT_LEAST + 1, 3];
        let mut out = Collect::default();
        run_batch(lens.clone(), make_bytes, &mut out).unwrap();
        let kinds: Vec<&str> = out
            .parts
            .iter()
            .map(|part| match part {
                Part::Values { .. } => "values",
                Part::Raw(_) => "raw",
            })
            .collect();
        assert_eq!(kinds, ["values", "raw", "values", "raw", "values"]);
        assert_eq!(out.panics.len(), 1);
        assert_eq!(out.panics[0].0, 3);
        let values: Vec<Vec<u8>> = results_from_parts(out.parts, lens.len()).unwrap();
        let expected: Vec<Vec<u8>> = [1, RAW_AT_LEAST, 2, RAW_AT_LEAST + 1, 3]
            .into_iter()
            .map(make_bytes)
            .collect();
        assert_eq!(values, expected);

        let lens = vec![RAW_AT_LEAST / 8, 5];
        let mut out = Collect::default();
        run_batch(lens.clone(), make_floats, &mut out).unwrap();
        assert!(
            matches!(out.parts[0], Part::Raw(_)),
            "the big float vector goes raw"
        );
        let values: Vec<Vec<f64>> = results_from_parts(out.parts, 2).unwrap();
        assert_eq!(
            values,
            lens.into_iter().map(make_floats).collect::<Vec<_>>()
        );
    }

    /// Counts and lengths that claim more than was sent are errors, not
    /// allocations or long loops.
    #[test]
    fn parts_claiming_more_than_they_hold_are_refused() {
        let mut huge_vector = Vec::new();
        crate::codec::put_varint(&mut huge_vector, usize::MAX);
        let bad = [
            Part::Values {
                count: 1,
                bytes: huge_vector,
            },
            Part::Values {
                count: 1,
                bytes: vec![5, 1, 2],
            },
            Part::Values {
                count: 1,
                bytes: vec![],
            },
            Part::Values {
                count: 1,
                bytes: vec![0, 0],
            },
            Part::Values {
                count: usize::MAX,
                bytes: vec![0],
            },
            Part::Raw(vec![0; 7]),
        ];
        for part in bad {
            let floats = results_from_parts::<Vec<f64>>(vec![part.clone()], 10);
            assert!(floats.is_err(), "{part:?}");
            if !matches!(part, Part::Raw(_)) {
                let bytes = results_from_parts::<Vec<u8>>(vec![part.clone()], 10);
                assert!(bytes.is_err(), "{part:?}");
            }
        }
        let units = vec![Part::Values {
            count: usize::MAX,
            bytes: vec![],
        }];
        assert!(
            results_from_parts::<()>(units, 10).is_err(),
            "a count beyond the arguments"
        );
        let strings = vec![Part::Raw(b"abc".to_vec())];
        assert!(
            results_from_parts::<String>(strings, 10).is_err(),
            "raw bytes for a String"
        );
        let too_many = vec![Part::Raw(vec![1]), Part::Raw(vec![2])];
        assert!(
            results_from_parts::<Vec<u8>>(too_many, 1).is_err(),
            "two results for one argument"
        );
    }
}
