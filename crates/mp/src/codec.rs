//! Turning values into bytes and back: the crate's pickle.
//!
//! Everything that crosses to another process as a message (a queue's item,
//! a pipe's message, a pool's task and its results, a spawned child's start
//! arguments) is serialized with serde into postcard's compact bytes.
//!
//! Serde hands a serializer a `Vec<u8>` one byte at a time (and a `Vec<f64>`
//! one float at a time), and postcard spends nanoseconds on each: a 1 MiB
//! message cost milliseconds to encode and decode, more than the pipe itself.
//! Yet postcard's bytes for such a vector are its length as a varint, then the
//! elements' little-endian bytes as they are. So these two types are written
//! and read here in exactly postcard's bytes, whole slices at a time: the
//! wire format does not change, and bytes written one way read back the
//! other way. The queue (`ipc/queue/message.rs`) and the pool (`pool/batch.rs`) both
//! take this fast path; other types go through postcard.

use std::any::{Any, TypeId};
use std::borrow::Cow;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, ErrorKind, Result};
use crate::inherit;

/// Turns a value into bytes: the crate's pickle.
///
/// A `Queue`, `Value` or `Lock` inside `value` makes this fail with
/// [`ErrorKind::NotInStartArguments`], unless `value` is a spawned child's
/// start arguments.
pub(crate) fn to_bytes<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    inherit::take_refused(); // forget a refusal from an earlier, unrelated call
    postcard::to_stdvec(value).map_err(serialize_error)
}

/// The most room a buffer reused for messages keeps between two of them.
pub(crate) const KEPT_ROOM: usize = 64 << 10;

/// Takes a buffer kept for the next message out of `buf`, empty, with its
/// room up to [`KEPT_ROOM`]: a message sent again and again allocates
/// nothing once the buffer has grown, and one big message does not hold its
/// memory for the buffer's life.
pub(crate) fn reused(buf: &mut Vec<u8>) -> Vec<u8> {
    let mut reused = std::mem::take(buf);
    reused.clear();
    reused.shrink_to(KEPT_ROOM);
    reused
}

/// Like [`to_bytes`], into `buf`, whose room is reused (see [`reused`]).
pub(crate) fn to_bytes_into<T: Serialize + ?Sized>(value: &T, buf: &mut Vec<u8>) -> Result<()> {
    inherit::take_refused();
    *buf = postcard::to_extend(value, reused(buf)).map_err(serialize_error)?;
    Ok(())
}

/// The error for a value that postcard could not serialize: a shared object
/// that refused to travel, if one did (call `inherit::take_refused` before
/// serializing, to forget older refusals), or postcard's own error.
fn serialize_error(err: postcard::Error) -> Error {
    match inherit::take_refused() {
        Some(what) => Error::new(ErrorKind::NotInStartArguments { what }),
        None => Error::new(ErrorKind::Serialize(err.to_string())),
    }
}

/// Turns bytes made by [`to_bytes`] back into a value.
pub(crate) fn from_bytes<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    postcard::from_bytes(bytes).map_err(|e| Error::new(ErrorKind::Deserialize(e.to_string())))
}

/// A `Vec<u8>` or `Vec<f64>`, seen as its elements: the two types with a
/// fast path.
#[derive(Clone, Copy)]
pub(crate) enum Vector<'a> {
    Bytes(&'a [u8]),
    Floats(&'a [f64]),
}

impl<'a> Vector<'a> {
    /// `value`'s elements, if it is a `Vec<u8>` or a `Vec<f64>`.
    pub(crate) fn of<T: 'static>(value: &'a T) -> Option<Self> {
        let any: &dyn Any = value;
        if let Some(bytes) = any.downcast_ref::<Vec<u8>>() {
            return Some(Vector::Bytes(bytes));
        }
        any.downcast_ref::<Vec<f64>>()
            .map(|floats| Vector::Floats(floats))
    }

    /// How many elements it has.
    pub(crate) fn len(self) -> usize {
        match self {
            Vector::Bytes(bytes) => bytes.len(),
            Vector::Floats(floats) => floats.len(),
        }
    }

    /// The size of its elements' bytes: a vector already holds them in
    /// memory, so this does not overflow.
    pub(crate) fn size(self) -> usize {
        match self {
            Vector::Bytes(bytes) => bytes.len(),
            Vector::Floats(floats) => 8 * floats.len(),
        }
    }

    /// Appends its elements' bytes (floats as little-endian) to `out`.
    fn append_elements(self, out: &mut Vec<u8>) {
        match self {
            Vector::Bytes(bytes) => out.extend_from_slice(bytes),
            Vector::Floats(floats) => {
                out.reserve(8 * floats.len());
                for x in floats {
                    out.extend_from_slice(&x.to_le_bytes());
                }
            }
        }
    }
}

/// The size of one element of `T`'s fast path: 1 for `Vec<u8>`, 8 for
/// `Vec<f64>`, `None` for any other type.
pub(crate) fn element_width<T: 'static>() -> Option<usize> {
    if TypeId::of::<T>() == TypeId::of::<Vec<u8>>() {
        Some(1)
    } else if TypeId::of::<T>() == TypeId::of::<Vec<f64>>() {
        Some(8)
    } else {
        None
    }
}

/// The floats whose little-endian bytes are `bytes`, whole floats only.
pub(crate) fn floats_from_le(bytes: &[u8]) -> impl Iterator<Item = f64> + '_ {
    bytes
        .chunks_exact(8)
        .map(|x| f64::from_le_bytes(x.try_into().expect("8 bytes")))
}

/// The raw form of a value of at least `min` bytes, if it has one: a
/// `Vec<u8>`'s bytes as they are, a `Vec<f64>`'s floats as little-endian bytes.
pub(crate) fn raw_bytes<R: 'static>(value: &R, min: usize) -> Option<Cow<'_, [u8]>> {
    let vector = Vector::of(value)?;
    if vector.size() < min {
        return None;
    }
    Some(match vector {
        Vector::Bytes(bytes) => Cow::Borrowed(bytes),
        Vector::Floats(_) => {
            let mut bytes = Vec::new();
            vector.append_elements(&mut bytes);
            Cow::Owned(bytes)
        }
    })
}

/// Turns a value's raw bytes (see [`raw_bytes`]) back into the value; `None`
/// if `R` has no raw form, or the bytes are not a whole number of its
/// elements.
pub(crate) fn from_raw<R: 'static>(bytes: Vec<u8>) -> Option<R> {
    let mut value: Option<R> = None;
    let any: &mut dyn Any = &mut value;
    if let Some(value) = any.downcast_mut::<Option<Vec<u8>>>() {
        *value = Some(bytes); // the buffer the bytes were read into is the value
    } else if let Some(value) = any.downcast_mut::<Option<Vec<f64>>>()
        && bytes.len().is_multiple_of(8)
    {
        *value = Some(floats_from_le(&bytes).collect());
    }
    value
}

/// Appends `value` serialized, exactly as postcard would.
pub(crate) fn append_value<R: Serialize + 'static>(out: &mut Vec<u8>, value: &R) -> Result<()> {
    if let Some(vector) = Vector::of(value) {
        put_varint(out, vector.len());
        vector.append_elements(out);
    } else {
        // Straight onto the end of `out`, with no buffer of its own.
        let bytes = std::mem::take(out);
        *out = postcard::to_extend(value, bytes).map_err(serialize_error)?;
    }
    Ok(())
}

/// Reads one value from the front of `bytes`, as [`append_value`] wrote it;
/// the value and the rest.
pub(crate) fn take_value<R: DeserializeOwned + 'static>(bytes: &[u8]) -> Result<(R, &[u8])> {
    let Some(width) = element_width::<R>() else {
        return postcard::take_from_bytes(bytes)
            .map_err(|e| Error::new(ErrorKind::Deserialize(e.to_string())));
    };
    // Every length is checked against the bytes actually there before
    // anything is allocated, so a bad length is an error, never a huge
    // allocation.
    let (len, rest) = take_varint(bytes).ok_or_else(|| malformed("a vector has no length"))?;
    let size = len
        .checked_mul(width)
        .filter(|&size| size <= rest.len())
        .ok_or_else(|| malformed("a vector is longer than the bytes sent"))?;
    let (value, rest) = rest.split_at(size);
    let value =
        from_raw(value.to_vec()).ok_or_else(|| malformed("not a whole number of elements"))?;
    Ok((value, rest))
}

fn malformed(what: &str) -> Error {
    Error::new(ErrorKind::Deserialize(format!("malformed bytes: {what}")))
}

/// A length as postcard's varint, the prefix of a vector's bytes: 7 bits a
/// byte, low first.
pub(crate) struct Varint {
    bytes: [u8; 10],
    len: usize,
}

impl Varint {
    pub(crate) fn new(mut value: usize) -> Self {
        let mut varint = Varint {
            bytes: [0; 10],
            len: 0,
        };
        while value >= 0x80 {
            varint.bytes[varint.len] = value as u8 | 0x80;
            varint.len += 1;
            value >>= 7;
        }
        varint.bytes[varint.len] = value as u8;
        varint.len += 1;
        varint
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// Appends `len` as postcard's varint.
pub(crate) fn put_varint(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(Varint::new(len).as_slice());
}

/// Reads a varint from the front of `bytes`: its value and the rest.
pub(crate) fn take_varint(bytes: &[u8]) -> Option<(usize, &[u8])> {
    let mut len = 0_usize;
    for (i, &byte) in bytes.iter().enumerate().take(10) {
        len |= usize::from(byte & 0x7f).checked_shl(7 * i as u32)?;
        if byte & 0x80 == 0 {
            return Some((len, &bytes[i + 1..]));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast way writes exactly postcard's bytes, so either side may
    /// take either way.
    #[test]
    fn byte_and_float_vectors_are_encoded_exactly_as_postcard_does() {
        for bytes in [vec![7_u8; 300], Vec::new(), vec![1, 2, 3]] {
            let mut out = Vec::new();
            append_value(&mut out, &bytes).unwrap();
            assert_eq!(out, postcard::to_stdvec(&bytes).unwrap());
            assert_eq!(take_value::<Vec<u8>>(&out).unwrap(), (bytes, &[][..]));
        }
        for floats in [vec![0.5_f64, -1.0, f64::MAX], vec![2.0; 200]] {
            let mut out = Vec::new();
            append_value(&mut out, &floats).unwrap();
            assert_eq!(out, postcard::to_stdvec(&floats).unwrap());
            assert_eq!(take_value::<Vec<f64>>(&out).unwrap(), (floats, &[][..]));
        }
    }

    /// A buffer reused for small messages keeps their room, but not the
    /// room of one big message for the rest of its life.
    #[test]
    fn a_reused_buffer_gives_back_the_room_of_a_big_message() {
        let mut buf = Vec::new();
        to_bytes_into("small", &mut buf).unwrap();
        assert_eq!(buf, to_bytes("small").unwrap());
        to_bytes_into(&vec![1_u8; 4 * KEPT_ROOM], &mut buf).unwrap();
        assert!(buf.capacity() > KEPT_ROOM);
        to_bytes_into("small", &mut buf).unwrap();
        assert_eq!(buf, to_bytes("small").unwrap());
        assert!(buf.capacity() <= KEPT_ROOM, "kept {} bytes", buf.capacity());
    }
}
