//! Moving one message through a queue's pipe: `put` writes its record and the
//! rest under the write lock, waiting for room in slices; `get` takes one
//! whole message under the read lock, waiting in `poll` while the pipe is
//! empty, and each side notices when nobody is left to wake it.

use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::message::{Building, Outgoing, Received, decode};
use super::{INLINE, LENGTH, QUEUE_CHUNK, Queue, RECORD};
use crate::error::{Error, ErrorKind, Result};
use crate::sync::wait::SLICE;
use crate::sync::wait::nobody_left;
use crate::sys;

impl<T: Serialize + DeserializeOwned + 'static> Queue<T> {
    /// Writes one message: its record, then (for a long one) the rest. If
    /// `wait` is false and the pipe has no room for the record, returns
    /// [`ErrorKind::QueueFull`] having written nothing.
    pub(super) fn send(&self, message: &Outgoing<'_>, wait: bool) -> Result<()> {
        let max = self.shared.max_message as usize;
        let len = message.len();
        if len > max {
            return Err(ErrorKind::MessageTooLarge { len, max }.into());
        }
        let mut record = [0; RECORD];
        // `max` fits in a u32, so the length does too.
        record[..LENGTH].copy_from_slice(&(len as u32).to_le_bytes());
        message.copy_head(&mut record[LENGTH..]);
        let long = len > INLINE;

        let control = self.control();
        let _held = control.lock(&control.write)?;
        if control.is_broken() {
            return Err(ErrorKind::MessageTruncated.into());
        }
        // The record is 64 bytes, well under PIPE_BUF: the kernel writes it
        // all at once or not at all, so a refused record left nothing behind.
        if !wait && !self.write_now(&record)? {
            return Err(ErrorKind::QueueFull.into());
        }
        let record_left: &[u8] = if wait { &record } else { &[] };
        let written = if !long {
            // No "halfway" to mark: see above.
            self.write_all(record_left)
        } else {
            control.write.busy.store(true, Ordering::Relaxed);
            let written = self
                .write_all(record_left)
                .and_then(|()| message.write_after(INLINE, &mut |bytes| self.write_all(bytes)));
            if written.is_ok() {
                control.write.busy.store(false, Ordering::Relaxed);
            } else {
                control.set_broken(); // part of the message may be in the pipe
            }
            written
        };
        if written.is_ok() {
            control.count.0.fetch_add(1, Ordering::Relaxed);
        }
        written
    }

    /// Writes the whole record (the caller holds the write lock) if the pipe
    /// has room for it now; `Ok(false)` if it has not, and nothing was written.
    pub(super) fn write_now(&self, record: &[u8; RECORD]) -> Result<bool> {
        loop {
            match (&self.shared.writer.0).write(record) {
                // At most PIPE_BUF bytes: all of it or nothing.
                Ok(_) => return Ok(true),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(Error::os("write to a Queue's pipe", e)),
            }
        }
    }

    /// Writes all of `bytes` (the caller holds the write lock). When the pipe
    /// is full, waits for room in slices; if a whole slice passes without room
    /// and no other process is left that could read, gives up rather than
    /// wait forever. (A write of up to PIPE_BUF bytes to a non-blocking pipe
    /// is still all or nothing, so the 64-byte record stays in one piece.)
    pub(super) fn write_all(&self, mut bytes: &[u8]) -> Result<()> {
        let mut pipe = &self.shared.writer.0;
        while !bytes.is_empty() {
            match pipe.write(bytes) {
                Ok(n) => bytes = &bytes[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
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
        loop {
            if let Some(message) = self.try_receive()? {
                return decode(message);
            }
            // Nothing there: wait for bytes without holding the read lock, so
            // that other readers can wait too.
            let wait = match deadline {
                None => SLICE,
                Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => left.min(SLICE),
                    // Python's `get(timeout=...)` raises `queue.Empty`.
                    _ => return Err(ErrorKind::QueueEmpty.into()),
                },
            };
            let ready = sys::poll_readable(&[self.shared.reader.0.as_fd()], Some(wait))
                .map_err(|e| Error::os("wait on a Queue's pipe", e))?;
            // Only a `get` without a timeout gives up early (see `sync/wait.rs`).
            if ready.is_empty() && deadline.is_none() && nobody_left() {
                // Nobody is left to put. A producer may have put just before
                // it ended, and its message is in the pipe: look once more.
                return match self.try_receive()? {
                    Some(message) => decode(message),
                    None => Err(ErrorKind::QueueAbandoned.into()),
                };
            }
        }
    }

    /// Takes one whole message if one is there now; `None` if the pipe is empty.
    pub(super) fn try_receive(&self) -> Result<Option<Received>> {
        let control = self.control();
        let side = &control.read;
        let _held = control.lock(side)?;
        if control.is_broken() {
            return Err(ErrorKind::MessageTruncated.into());
        }
        // `busy` must be set before the read: a reader killed as its read
        // returns has taken bytes, and the next reader must be told. But a
        // read that finds nothing takes nothing, and a reader killed then
        // must not break the queue: so mark `busy` only once bytes are known
        // to be there. `ready` usually says so; if not, ask the kernel.
        let mut ready = side.ready.load(Ordering::Relaxed);
        if ready == 0 {
            ready = sys::pipe_readable_bytes(self.shared.reader.0.as_fd())
                .map_err(|e| Error::os("check a Queue's pipe", e))?;
            if ready == 0 {
                return Ok(None);
            }
            side.ready.store(ready, Ordering::Relaxed);
        }
        side.busy.store(true, Ordering::Relaxed);
        let mut record = [0; RECORD];
        let got = match (&self.shared.reader.0).read(&mut record) {
            Ok(got) => got,
            Err(e) => {
                // Not expected (the bytes were there, and only the holder of
                // the read lock reads), but nothing was taken.
                side.ready.store(0, Ordering::Relaxed);
                side.busy.store(false, Ordering::Relaxed);
                return match e.kind() {
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(None),
                    _ => Err(Error::os("read from a Queue's pipe", e)),
                };
            }
        };
        if got == 0 {
            // End of file: every write end is closed, so nothing can ever come.
            side.busy.store(false, Ordering::Relaxed);
            return Err(ErrorKind::QueueAbandoned.into());
        }
        // Our writers put a record in the pipe in one piece, so `got` is the
        // whole record; finishing a partial one costs nothing to write.
        self.read_rest(&mut record[got..])?;
        let len = u32::from_le_bytes(record[..LENGTH].try_into().expect("4 bytes")) as usize;
        let message = if len <= INLINE {
            Received::Inline { record, len }
        } else if len <= self.shared.max_message as usize {
            // The value is built as its bytes come, a chunk at a time: a long
            // message is never held twice, and a big `Vec<u8>` or `Vec<f64>`
            // is never held as bytes at all.
            let mut building = Building::start::<T>(&record[LENGTH..], len);
            // On the heap: a thread's stack may be small. At 64 KiB the
            // allocator serves it from memory it already has.
            let mut chunk = vec![0; QUEUE_CHUNK];
            let mut left = len - INLINE;
            while left > 0 {
                let take = left.min(chunk.len());
                self.read_rest(&mut chunk[..take])?;
                building.push(&chunk[..take]);
                left -= take;
            }
            building.finish()
        } else {
            // No writer of this queue sends that: the stream is out of step.
            return Err(control.truncated());
        };
        let taken = RECORD + len.saturating_sub(INLINE);
        side.ready
            .store(ready.saturating_sub(taken), Ordering::Relaxed);
        side.busy.store(false, Ordering::Relaxed);
        control.count.0.fetch_sub(1, Ordering::Relaxed);
        Ok(Some(message))
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
                    let ready = sys::poll_readable(&[self.shared.reader.0.as_fd()], Some(SLICE))
                        .map_err(|e| Error::os("wait on a Queue's pipe", e))?;
                    if ready.is_empty() && self.writer_died()? {
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
