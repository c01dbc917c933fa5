//! Moving one message through a queue: `put` publishes its record in the
//! ring and, for a long message, writes its bytes into the pipe, under the
//! write lock, waiting for room in slices; `get` takes one whole message
//! under the read lock, waiting for a record while the ring is empty; and
//! each side notices when nobody is left to wake it.

use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::message::{Building, Outgoing, Received, decode};
use super::ring;
use super::{INLINE, LENGTH, QUEUE_CHUNK, Queue, RECORD};
use crate::error::{Error, ErrorKind, Result};
use crate::sync::wait::SLICE;
use crate::sync::wait::nobody_left;
use crate::sys;

impl<T: Serialize + DeserializeOwned + 'static> Queue<T> {
    /// Puts one message: its record into the ring, then (for a long one) its
    /// bytes into the pipe. If `wait` is false and the ring has no room,
    /// returns [`ErrorKind::QueueFull`] having put nothing.
    pub(super) fn send(&self, message: &Outgoing<'_>, wait: bool) -> Result<()> {
        let max = self.shared.max_message as usize;
        let len = message.len();
        if len > max {
            return Err(ErrorKind::MessageTooLarge { len, max }.into());
        }
        let mut record = [0; RECORD];
        // `max` fits in a u32, so the length does too.
        record[..LENGTH].copy_from_slice(&(len as u32).to_le_bytes());
        let long = len > INLINE;
        if !long {
            message.copy_head(&mut record[LENGTH..]);
        }

        let control = self.control();
        let ends = &control.ends;
        let _held = if wait {
            control.lock(&control.write)?
        } else {
            // Behind a writer that waits for room, this would wait too.
            match control.lock_unless_full(&control.write)? {
                Some(held) => held,
                None => return Err(ErrorKind::QueueFull.into()),
            }
        };
        if control.is_broken() {
            return Err(ErrorKind::MessageTruncated.into());
        }
        let slots = self.slots();
        let tail = ends.tail(slots);
        while !ends.has_room(tail) {
            if !wait {
                return Err(ErrorKind::QueueFull.into());
            }
            self.wait_for_room(tail)?;
        }
        let slot = ring::slot(slots, tail);
        // SAFETY: we hold the write lock, and the slot at `tail` is free.
        unsafe { slot.put(&record) };
        if !long {
            // Published whole, in one store: there is no halfway to mark.
            ends.publish(slot, tail);
            return Ok(());
        }
        // Marked before the record is published: from then on a reader may
        // be waiting in the pipe for its bytes.
        control.write.busy.store(true, Ordering::Relaxed);
        ends.publish(slot, tail);
        let written = message.write_after(0, &mut |bytes| self.write_all(bytes));
        if written.is_ok() {
            control.write.busy.store(false, Ordering::Relaxed);
        } else {
            control.set_broken(); // part of the message may be in the pipe
        }
        written
    }

    /// Waits (holding the write lock) for a reader to free a slot of the full
    /// ring, whose writers' end is `tail`, a slice at a time. After a slice in which none was freed, gives
    /// up if a reader died halfway through a message (the queue is broken)
    /// or if no other process is left that could read.
    fn wait_for_room(&self, tail: u32) -> Result<()> {
        let control = self.control();
        let ends = &control.ends;
        let head = tail.wrapping_sub(ring::SLOTS as u32);
        let _waiting = control.waiting(&control.write);
        ends.wait_for_room(head, SLICE);
        if ends.head() != head {
            return Ok(());
        }
        if self.reader_died()? {
            return Err(ErrorKind::MessageTruncated.into());
        }
        if nobody_left() {
            return Err(ErrorKind::QueueUnread.into());
        }
        Ok(())
    }

    /// Writes all of `bytes` (the caller holds the write lock). When the pipe
    /// is full, waits for room in slices; if a whole slice passes without room
    /// and no other process is left that could read, gives up rather than
    /// wait forever.
    pub(super) fn write_all(&self, mut bytes: &[u8]) -> Result<()> {
        let mut pipe = &self.shared.writer.0;
        while !bytes.is_empty() {
            match pipe.write(bytes) {
                Ok(n) => bytes = &bytes[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let control = self.control();
                    let _waiting = control.waiting(&control.write);
                    let room = sys::poll_writable(self.shared.writer.0.as_fd(), SLICE)
                        .map_err(|e| Error::os("wait on a Queue's pipe", e))?;
                    if room {
                        continue;
                    }
                    // A whole slice without room: is anyone left to make some?
                    if self.reader_died()? {
                        return Err(ErrorKind::MessageTruncated.into());
                    }
                    if nobody_left() {
                        return Err(ErrorKind::QueueUnread.into());
                    }
                }
                Err(e) => return Err(Error::os("write to a Queue's pipe", e)),
            }
        }
        Ok(())
    }

    pub(super) fn receive(&self, timeout: Option<Duration>) -> Result<T> {
        self.check_open()?;
        // A timeout too long to add to the clock (`Duration::MAX`) is no limit.
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let ends = &self.control().ends;
        loop {
            if let Some(message) = self.try_receive()? {
                return decode(message);
            }
            // Nothing there: wait for a writer without holding the read lock,
            // so that other readers can wait too.
            let wait = match deadline {
                None => SLICE,
                Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => left.min(SLICE),
                    // Python's `get(timeout=...)` raises `queue.Empty`.
                    _ => return Err(ErrorKind::QueueEmpty.into()),
                },
            };
            ends.wait_for_record(self.slots(), wait);
            // Only a `get` without a timeout gives up early (see `sync/wait.rs`).
            if !ends.has_record(self.slots()) && deadline.is_none() && nobody_left() {
                // Nobody is left to put. A producer may have put just before
                // it ended: look once more.
                return match self.try_receive()? {
                    Some(message) => decode(message),
                    None => Err(ErrorKind::QueueAbandoned.into()),
                };
            }
        }
    }

    /// Takes one whole message if one is there now; `None` if the ring is empty.
    pub(super) fn try_receive(&self) -> Result<Option<Received>> {
        let control = self.control();
        let ends = &control.ends;
        let side = &control.read;
        let _held = control.lock(side)?;
        if control.is_broken() {
            return Err(ErrorKind::MessageTruncated.into());
        }
        let head = ends.head();
        let slot = ring::slot(self.slots(), head);
        if !slot.holds(head) {
            return Ok(None);
        }
        // SAFETY: we hold the read lock, and the record at `head` is published.
        let record = unsafe { slot.get() };
        let len = u32::from_le_bytes(record[..LENGTH].try_into().expect("4 bytes")) as usize;
        if len <= INLINE {
            ends.take(head);
            return Ok(Some(Received::Inline { record, len }));
        }
        if len > self.shared.max_message as usize {
            // No writer of this queue sends that: the stream is out of step.
            return Err(control.truncated());
        }
        // Marked before the record is taken: from then on its message must
        // be read from the pipe, by this reader and no other.
        side.busy.store(true, Ordering::Relaxed);
        ends.take(head);
        // The value is built as its bytes come, a chunk at a time: a long
        // message is never held twice, and a big `Vec<u8>` or `Vec<f64>` is
        // never held as bytes at all. The chunk is on the heap: a thread's
        // stack may be small. At 64 KiB the allocator serves it from memory
        // it already has.
        let mut chunk = vec![0; QUEUE_CHUNK.min(len)];
        self.read_rest(&mut chunk)?;
        let mut building = Building::start::<T>(&chunk, len);
        let mut left = len - chunk.len();
        while left > 0 {
            let take = left.min(chunk.len());
            self.read_rest(&mut chunk[..take])?;
            building.push(&chunk[..take]);
            left -= take;
        }
        side.busy.store(false, Ordering::Relaxed);
        Ok(Some(building.finish()))
    }

    /// Reads exactly `buf.len()` more bytes of the message being read (the
    /// caller holds the read lock). Its writer holds the write lock until the
    /// whole message is in, so the bytes will come unless that writer dies.
    pub(super) fn read_rest(&self, buf: &mut [u8]) -> Result<()> {
        let control = self.control();
        let mut filled = 0;
        while filled < buf.len() {
            match (&self.shared.reader.0).read(&mut buf[filled..]) {
                Ok(0) => return Err(control.truncated()),
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let [ready] = sys::poll_readable([self.shared.reader.0.as_fd()], Some(SLICE))
                        .map_err(|e| Error::os("wait on a Queue's pipe", e))?;
                    if !ready && self.writer_died()? {
                        return Err(control.truncated());
                    }
                }
                Err(e) => {
                    control.set_broken();
                    return Err(Error::os("read from a Queue's pipe", e));
                }
            }
        }
        Ok(())
    }

    /// Whether the writer of a half-read message died: then the write lock is
    /// free and tells its next taker so (or someone already found out).
    pub(super) fn writer_died(&self) -> Result<bool> {
        let control = self.control();
        if let Some(acquired) = control.write.lock.try_lock()? {
            drop(control.after_locking(&control.write, acquired));
        }
        Ok(control.is_broken())
    }

    /// The same for a writer waiting for room: whether a reader died halfway
    /// through reading a message (it held the read lock, and nobody will
    /// read the rest of that message).
    pub(super) fn reader_died(&self) -> Result<bool> {
        let control = self.control();
        if let Some(acquired) = control.read.lock.try_lock()? {
            drop(control.after_locking(&control.read, acquired));
        }
        Ok(control.is_broken())
    }
}
