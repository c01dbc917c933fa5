//! A pool's chunk of work: one function run on a batch of arguments in a
//! worker, its results handed back in pieces as they are made, and put back
//! in order by the parent.
//!
//! A worker sends big `Vec<u8>` and `Vec<f64>` results alone and raw (see
//! `codec.rs`), the rest gathered into pieces of about a megabyte, so that a
//! long chunk's results flow to the parent while the rest are made. A
//! panicking argument fails alone: the batch goes on.

use std::panic::{self, AssertUnwindSafe};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::{append_value, from_bytes, from_raw, raw_bytes, take_value};
use crate::error::panic_message;
use crate::error::{Error, ErrorKind, Result};
use crate::inherit;
use crate::process::function::{Caller, Output, Prepared, RemoteFn};

/// Describes `f` to be run on a whole batch of arguments, one after
/// another: the pool's chunks. The input is a serialized `Vec<A>` (or
/// `&[A]`, the same bytes). The call hands the results to its [`Output`]
/// as they come (see [`run_batch`]); an argument whose call panics is
/// recorded with the panic's message, and the batch goes on.
pub(super) fn remote_batch<A: DeserializeOwned + 'static, R: Serialize + 'static>(
    f: fn(A) -> R,
) -> RemoteFn {
    RemoteFn::with_caller::<Batch, A, R>(f)
}

/// The [`Caller`] of a batch: decodes a `Vec<A>`, and returns the call that
/// runs `f` on each argument (see [`remote_batch`]).
struct Batch;

impl<A: DeserializeOwned + 'static, R: Serialize + 'static> Caller<A, R> for Batch {
    fn prepare(f: fn(A) -> R, input: &[u8]) -> Result<Prepared> {
        let arguments: Vec<A> = from_bytes(input)?;
        Ok(Box::new(move |out| run_batch(arguments, f, out)))
    }
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
pub(super) enum Part {
    /// `count` results, serialized back to back.
    Values { count: usize, bytes: Vec<u8> },
    /// One result's raw bytes.
    Raw(Vec<u8>),
}

/// Turns the pieces of a batch's results back into the results, in order.
/// `most` is how many the batch can have (its number of arguments): a piece
/// that claims more is an error, not a long loop.
pub(super) fn results_from_parts<R: DeserializeOwned + 'static>(
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
