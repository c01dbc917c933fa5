//! A queue's message as bytes: an item serialized on its way into the pipe,
//! and a value built back from what comes out. A `Vec<u8>` or `Vec<f64>`
//! takes the codec's fast path (see `codec.rs`) and is written straight from
//! the vector and built as its bytes are read.

use std::any::Any;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{LENGTH, QUEUE_CHUNK, RECORD};
use crate::codec::{self, Varint, Vector};
use crate::error::{Error, ErrorKind, Result};

/// A message as it came out of the pipe.
pub(super) enum Received {
    /// A small message, still in its record.
    Inline { record: [u8; RECORD], len: usize },
    /// A longer message.
    Long(Vec<u8>),
    /// A long `Vec<u8>` or `Vec<f64>`, already built as it was read.
    Built(Box<dyn Any>),
}

impl Received {
    pub(super) fn bytes(&self) -> &[u8] {
        match self {
            Received::Inline { record, len } => &record[LENGTH..LENGTH + len],
            Received::Long(bytes) => bytes,
            Received::Built(_) => &[],
        }
    }
}

// ---------------------------------------------------------------------------
// Big arrays of bytes and floats, without serde's element-by-element path
// ---------------------------------------------------------------------------
//
// A `Vec<u8>` or `Vec<f64>` takes the codec's fast path (see `codec.rs`): the
// queue writes postcard's very bytes for it itself, straight from the vector,
// and reads them back into a vector as they come out of the pipe.

/// A message on its way into the pipe: the bytes postcard gives for an item,
/// or, for a `Vec<u8>` or `Vec<f64>`, the length prefix postcard would write
/// and the vector itself, which is written from where it lies, never copied
/// into a message first.
pub(super) enum Outgoing<'a> {
    Encoded(Vec<u8>),
    Vector(Varint, Vector<'a>),
}

/// Serializes `item` as postcard does, taking the fast way for `Vec<u8>`
/// and `Vec<f64>`.
pub(super) fn encode<T: Serialize + 'static>(item: &T) -> Result<Outgoing<'_>> {
    if let Some(vector) = Vector::of(item) {
        return Ok(Outgoing::Vector(Varint::new(vector.len()), vector));
    }
    codec::to_bytes(item).map(Outgoing::Encoded)
}

impl Outgoing<'_> {
    /// The message's length in bytes.
    pub(super) fn len(&self) -> usize {
        match self {
            Outgoing::Encoded(bytes) => bytes.len(),
            Outgoing::Vector(prefix, vector) => prefix.as_slice().len() + vector.size(),
        }
    }

    /// Copies the message's first bytes into `out`, as many as fit.
    pub(super) fn copy_head(&self, out: &mut [u8]) {
        let mut at = 0;
        self.each_piece(0, out.len(), &mut |piece| {
            out[at..at + piece.len()].copy_from_slice(piece);
            at += piece.len();
            Ok(())
        })
        .expect("copying cannot fail");
    }

    /// Hands `write` the message's bytes from offset `start` to the end, in
    /// pieces.
    pub(super) fn write_after(
        &self,
        start: usize,
        write: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        self.each_piece(start, usize::MAX, write)
    }

    /// Hands `each` the message's bytes from offset `start` on, at most
    /// `most` of them, in pieces: slices of the item itself, or, for floats,
    /// a few thousand at a time turned into little-endian bytes.
    pub(super) fn each_piece(
        &self,
        start: usize,
        most: usize,
        each: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        let end = self.len().min(start.saturating_add(most));
        let (prefix, vector) = match self {
            Outgoing::Encoded(bytes) => return each(&bytes[start.min(end)..end]),
            Outgoing::Vector(prefix, vector) => (prefix.as_slice(), *vector),
        };
        let mut at = start;
        if at < prefix.len() && at < end {
            let upto = prefix.len().min(end);
            each(&prefix[at..upto])?;
            at = upto;
        }
        // From here on, offsets are into the elements' bytes.
        let (mut at, end) = (at - prefix.len(), end.saturating_sub(prefix.len()));
        match vector {
            Vector::Bytes(bytes) if at < end => each(&bytes[at..end]),
            Vector::Bytes(_) => Ok(()),
            Vector::Floats(floats) => {
                let width = 8;
                let mut buf = vec![0_u8; QUEUE_CHUNK]; // see `try_receive`
                while at < end {
                    // Whole floats from the one `at` falls in, into `buf`.
                    let first = at / width;
                    let last = end.div_ceil(width).min(first + buf.len() / width);
                    for (to, x) in buf.chunks_exact_mut(8).zip(&floats[first..last]) {
                        to.copy_from_slice(&x.to_le_bytes());
                    }
                    let skip = at - first * width;
                    let upto = (last * width).min(end) - first * width;
                    each(&buf[skip..upto])?;
                    at = first * width + upto;
                }
                Ok(())
            }
        }
    }
}

/// A long message's value, built as its bytes come out of the pipe.
pub(super) enum Building {
    /// A `Vec<u8>`, whose elements are the message's bytes after the prefix.
    Bytes(Vec<u8>),
    /// A `Vec<f64>`, and the first bytes of a float that a chunk cut in two.
    Floats(Vec<f64>, [u8; 8], usize),
    /// Any other type, or a vector whose length prefix does not match the
    /// message: all the message's bytes, for `decode` to judge.
    Other(Vec<u8>),
}

impl Building {
    /// Starts on a message of `len` bytes (more than [`INLINE`](super::INLINE)) for an item
    /// of type `T`, whose first bytes are `head` (at least `INLINE` of them, so
    /// that a vector's length prefix is whole).
    pub(super) fn start<T: 'static>(head: &[u8], len: usize) -> Building {
        let width = codec::element_width::<T>().unwrap_or(0);
        let matching = read_length(head)
            .filter(|&(count, start)| width > 0 && count.checked_mul(width) == Some(len - start));
        let Some((count, start)) = matching else {
            let mut bytes = Vec::with_capacity(len);
            bytes.extend_from_slice(head);
            return Building::Other(bytes);
        };
        let mut building = if width == 1 {
            Building::Bytes(Vec::with_capacity(count))
        } else {
            Building::Floats(Vec::with_capacity(count), [0; 8], 0)
        };
        building.push(&head[start..]);
        building
    }

    /// Adds the message's next bytes.
    pub(super) fn push(&mut self, mut bytes: &[u8]) {
        match self {
            Building::Bytes(vec) | Building::Other(vec) => vec.extend_from_slice(bytes),
            Building::Floats(floats, partial, filled) => {
                if *filled > 0 {
                    let take = (8 - *filled).min(bytes.len());
                    partial[*filled..*filled + take].copy_from_slice(&bytes[..take]);
                    (*filled, bytes) = (*filled + take, &bytes[take..]);
                    if *filled < 8 {
                        return;
                    }
                    floats.push(f64::from_le_bytes(*partial));
                    *filled = 0;
                }
                let (whole, tail) = bytes.split_at(bytes.len() / 8 * 8);
                floats.extend(codec::floats_from_le(whole));
                partial[..tail.len()].copy_from_slice(tail);
                *filled = tail.len();
            }
        }
    }

    pub(super) fn finish(self) -> Received {
        match self {
            Building::Bytes(bytes) => Received::Built(Box::new(bytes)),
            Building::Floats(floats, ..) => Received::Built(Box::new(floats)),
            Building::Other(bytes) => Received::Long(bytes),
        }
    }
}

/// Reads back a vector's length prefix: the length, and where the elements
/// start. `None` if the bytes do not start with a varint.
pub(super) fn read_length(bytes: &[u8]) -> Option<(usize, usize)> {
    codec::take_varint(bytes).map(|(len, rest)| (len, bytes.len() - rest.len()))
}

/// Deserializes a message as postcard does, taking the fast way for
/// `Vec<u8>` (whose bytes are moved, not copied, when the message is long)
/// and `Vec<f64>`.
pub(super) fn decode<T: DeserializeOwned + 'static>(message: Received) -> Result<T> {
    let wrong = || {
        Error::new(ErrorKind::Deserialize(
            "a message's length does not match its size".into(),
        ))
    };
    if let Received::Built(value) = message {
        return Ok(*value
            .downcast::<T>()
            .expect("a message is built only as the type it is read for"));
    }
    let Some(width) = codec::element_width::<T>() else {
        return codec::from_bytes(message.bytes());
    };
    let (len, start) = read_length(message.bytes()).ok_or_else(wrong)?;
    if len.checked_mul(width) != Some(message.bytes().len() - start) {
        return Err(wrong());
    }
    let elements = match message {
        Received::Long(mut bytes) => {
            bytes.drain(..start);
            bytes
        }
        Received::Inline { record, len } => record[LENGTH + start..LENGTH + len].to_vec(),
        Received::Built(_) => unreachable!("taken above"),
    };
    codec::from_raw(elements).ok_or_else(wrong)
}

#[cfg(test)]
mod tests {
    use super::super::INLINE;
    use super::*;

    fn received(bytes: Vec<u8>) -> Received {
        if bytes.len() <= INLINE {
            let mut record = [0; RECORD];
            record[LENGTH..LENGTH + bytes.len()].copy_from_slice(&bytes);
            Received::Inline {
                record,
                len: bytes.len(),
            }
        } else {
            Received::Long(bytes)
        }
    }

    /// All of a message's bytes, as `send` writes them.
    fn bytes_of(message: &Outgoing<'_>) -> Vec<u8> {
        let mut head = vec![0; message.len().min(INLINE)];
        message.copy_head(&mut head);
        message
            .write_after(INLINE, &mut |piece| {
                head.extend_from_slice(piece);
                Ok(())
            })
            .unwrap();
        head
    }

    /// What the reading side makes of a message's bytes, read in chunks of
    /// `chunk` bytes after the record.
    fn read_back<T: DeserializeOwned + 'static>(bytes: &[u8], chunk: usize) -> Result<T> {
        if bytes.len() <= INLINE {
            return decode(received(bytes.to_vec()));
        }
        let mut building = Building::start::<T>(&bytes[..INLINE], bytes.len());
        for piece in bytes[INLINE..].chunks(chunk) {
            building.push(piece);
        }
        decode(building.finish())
    }

    /// The fast way writes exactly postcard's bytes, and each side reads the
    /// other's: the wire format is postcard's, whichever way a message took.
    #[test]
    fn byte_and_float_vectors_are_encoded_exactly_as_postcard_does() {
        for len in [0, 1, 59, 60, 127, 128, 16_383, 16_384, 1 << 20] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let postcard_bytes = postcard::to_stdvec(&bytes).unwrap();
            assert_eq!(
                bytes_of(&encode(&bytes).unwrap()),
                postcard_bytes,
                "Vec<u8> of {len}"
            );
            let back: Vec<u8> = decode(received(postcard_bytes.clone())).unwrap();
            assert_eq!(back, bytes);
            for chunk in [1, 7, 8, QUEUE_CHUNK] {
                let back: Vec<u8> = read_back(&postcard_bytes, chunk).unwrap();
                assert_eq!(back, bytes, "read in chunks of {chunk}");
            }

            let floats: Vec<f64> = (0..len / 8).map(|i| i as f64 * 0.5 - 3.0).collect();
            let postcard_floats = postcard::to_stdvec(&floats).unwrap();
            assert_eq!(
                bytes_of(&encode(&floats).unwrap()),
                postcard_floats,
                "Vec<f64> of {}",
                len / 8
            );
            let back: Vec<f64> = decode(received(postcard_floats.clone())).unwrap();
            assert_eq!(back, floats);
            for chunk in [1, 7, 8, QUEUE_CHUNK] {
                let back: Vec<f64> = read_back(&postcard_floats, chunk).unwrap();
                assert_eq!(back, floats, "read in chunks of {chunk}");
                let all: Vec<u8> = read_back(&postcard_floats, chunk).unwrap_or_default();
                assert!(
                    all.len() < postcard_floats.len(),
                    "a float vector is no byte vector"
                );
            }
        }
    }

    #[test]
    fn a_length_that_does_not_match_the_message_is_an_error_not_a_panic() {
        let mut bytes = postcard::to_stdvec(&vec![1_u8; 100]).unwrap();
        bytes.pop();
        assert!(decode::<Vec<u8>>(received(bytes)).is_err());
        let mut floats = postcard::to_stdvec(&vec![1.0_f64; 100]).unwrap();
        floats.push(0);
        assert!(decode::<Vec<f64>>(received(floats)).is_err());
        assert!(decode::<Vec<u8>>(received(vec![0xff; 11])).is_err());
        // The same, for long messages built as they are read.
        let mut bytes = postcard::to_stdvec(&vec![1_u8; 1000]).unwrap();
        bytes.pop();
        assert!(read_back::<Vec<u8>>(&bytes, 100).is_err());
        let mut floats = postcard::to_stdvec(&vec![1.0_f64; 100]).unwrap();
        floats.push(0);
        assert!(read_back::<Vec<f64>>(&floats, 100).is_err());
        assert!(read_back::<Vec<u8>>(&[0xff; 100], 10).is_err());
    }
}
