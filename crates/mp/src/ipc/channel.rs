//! Framed messages over a pipe (or a socket) with exactly one writer and one reader.
//!
//! A pipe carries a stream of bytes, not messages: a reader may get half a
//! message, or two at once. So each message travels as a *frame*: two
//! lengths as four little-endian bytes each, then a short *head* (what the
//! message is) and a *payload* (the data it carries). With a single writer
//! nothing can interleave, so frames of any size are safe (a pipe shared by
//! several writers is another story: see `queue.rs`).
//!
//! Head and payload are apart so that neither side copies the data on the
//! way: the writer sends the payload straight from where it lies, and the
//! reader reads it straight into a buffer of its own, exactly as long, which
//! it can hand on as it is (a pool's `Vec<u8>` result is that buffer).
//!
//! A channel may have a second, *bulk* path beside its pipe: a socket, which
//! then carries every payload of [`BULK`] bytes or more, while the lengths
//! and the head still come through the pipe, in order. Both ends follow the
//! same rule, so no frame needs to say which way its payload went. A pipe
//! hands a small message over in about half the time a socket takes; a
//! socket moves big ones faster (see [`FrameWriter::with_bulk`]).
//!
//! The pool gives each worker two such channels: tasks from the parent to
//! the worker (a pipe), results from the worker to the parent (a pipe, and a
//! socket for the bulk: see `pool/engine.rs`).

use std::fs::File;
use std::io::{self, BufRead, BufReader, IoSlice, Read};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;

use crate::sync::wait::SLICE;

/// The largest head or payload: its length must fit in four bytes.
pub(crate) const MAX_FRAME: usize = u32::MAX as usize;

/// Two lengths: the head's and the payload's.
const LENGTHS: usize = 8;

/// On a channel with a bulk path, payloads of this many bytes or more take
/// it: the size of an empty pipe, past which a pipe's writer would wait for
/// its reader anyway.
pub(crate) const BULK: usize = 64 << 10;

/// Up to this size, a payload's buffer is made at its full size before the
/// bytes arrive; a larger one grows as they really come in, so that a length
/// that lies costs no huge allocation.
const TRUSTED_SIZE: usize = 64 << 20;

/// A frame as it was received: the head still in the reader's buffer (read
/// it before the next frame), the payload in a buffer of its own.
#[derive(Debug)]
pub(crate) struct Frame<'a> {
    pub(crate) head: &'a [u8],
    pub(crate) payload: Vec<u8>,
}

/// The sending end of a framed pipe.
pub(crate) struct FrameWriter {
    file: File,
    /// The socket that big payloads take, if the channel has one.
    bulk: Option<File>,
    /// Readable once the one reader has ended (a pidfd), when the writer
    /// watches it (see [`FrameWriter::watch`]).
    reader_ended: Option<Arc<File>>,
}

impl FrameWriter {
    /// The writing end of a pipe.
    pub(crate) fn new(fd: OwnedFd) -> Self {
        FrameWriter {
            file: File::from(fd),
            bulk: None,
            reader_ended: None,
        }
    }

    /// Makes this writer watch its one reader, a process, through
    /// `reader_ended` (its pidfd): should the reader die with the pipe (or
    /// the bulk socket) full, a send ends with a `BrokenPipe` error at once,
    /// however long other processes keep the reading end open without
    /// reading (a worker's children inherit it, and so do the processes its
    /// pool's process forks later). On an error the writer stays as it was.
    ///
    /// The pipe stops blocking: a full one is waited for in `poll`, beside
    /// the pidfd. The bulk socket goes on blocking, for at most [`SLICE`] at
    /// a time: a big payload fills it again and again, and a send that waits
    /// in the kernel costs less than a failed one and a `poll` each time
    /// (six alternating runs of `cargo bench -p mp --bench overhead --
    /// pool_map_1mib`: 40.4-44.6 ms with a bulk socket that did not block,
    /// 37.6-39.9 ms with one that did).
    pub(crate) fn watch(&mut self, reader_ended: Arc<File>) -> io::Result<()> {
        crate::sys::set_nonblocking(self.file.as_fd())?;
        if let Some(bulk) = &self.bulk {
            crate::sys::set_send_timeout(bulk.as_fd(), SLICE)?;
        }
        self.reader_ended = Some(reader_ended);
        Ok(())
    }

    /// Runs `write`, a write to `fd`; when `fd` is full (a watching writer's
    /// descriptors do not block, or not for long), waits for room or for the
    /// reader's death, whichever comes first, and tries again.
    fn write_or_watch(
        &self,
        fd: BorrowedFd<'_>,
        write: impl Fn() -> io::Result<usize>,
    ) -> io::Result<usize> {
        loop {
            match write() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let Some(ended) = &self.reader_ended else {
                        return Err(e);
                    };
                    if !crate::sys::poll_writable_unless(fd, ended.as_fd())? {
                        return Err(io::Error::new(
                            io::ErrorKind::BrokenPipe,
                            "the reader has ended",
                        ));
                    }
                }
                done => return done,
            }
        }
    }

    /// The writing end of a pipe, and one end of a socket pair for payloads
    /// of [`BULK`] bytes or more. With several processes each sending big
    /// payloads to one reader, a pipe's writer and reader take turns on one
    /// lock in the kernel; a socket has a queue each way. A pool's results
    /// of 1 MiB came about 1.6 times faster through a socket than through a
    /// pipe here (`cargo bench -p mp --bench overhead -- pool_map_1mib`:
    /// medians of 44 ms against 69-76 ms).
    pub(crate) fn with_bulk(fd: OwnedFd, bulk: OwnedFd) -> Self {
        FrameWriter {
            file: File::from(fd),
            bulk: Some(File::from(bulk)),
            reader_ended: None,
        }
    }

    /// The pipe's descriptor.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }

    /// How many bytes a frame of `head` and `payload` takes in the pipe
    /// (with no bulk path).
    pub(crate) fn frame_len(head: &[u8], payload: &[u8]) -> usize {
        LENGTHS + head.len() + payload.len()
    }

    /// Sends one frame. The lengths, the head and the payload go out in one
    /// `writev` call (more only if the pipe fills up), so the reader usually
    /// wakes up once, and the payload is not copied on the way; a big
    /// payload goes through the bulk socket instead, right after. A reader
    /// that is gone is an `EPIPE` error, never a `SIGPIPE` (see
    /// `sys::write_vectored_nosignal` and `sys::send_vectored`).
    pub(crate) fn send(&mut self, head: &[u8], payload: &[u8]) -> io::Result<()> {
        let too_large = |_| io::Error::new(io::ErrorKind::InvalidInput, "frame too large");
        let mut lengths = [0; LENGTHS];
        lengths[..4].copy_from_slice(&u32::try_from(head.len()).map_err(too_large)?.to_le_bytes());
        lengths[4..].copy_from_slice(
            &u32::try_from(payload.len())
                .map_err(too_large)?
                .to_le_bytes(),
        );
        let pipe = self.file.as_fd();
        let to_pipe = |pieces: &[IoSlice<'_>]| {
            self.write_or_watch(pipe, || crate::sys::write_vectored_nosignal(pipe, pieces))
        };
        match &self.bulk {
            Some(bulk) if payload.len() >= BULK => {
                crate::sys::write_all(&mut [IoSlice::new(&lengths), IoSlice::new(head)], to_pipe)?;
                let bulk = bulk.as_fd();
                crate::sys::write_all(&mut [IoSlice::new(payload)], |pieces| {
                    self.write_or_watch(bulk, || crate::sys::send_vectored(bulk, pieces))
                })
            }
            _ => crate::sys::write_all(
                &mut [
                    IoSlice::new(&lengths),
                    IoSlice::new(head),
                    IoSlice::new(payload),
                ],
                to_pipe,
            ),
        }
    }
}

/// The receiving end of a framed pipe.
pub(crate) struct FrameReader {
    reader: BufReader<SharedFile>,
    /// The socket that big payloads come through, if the channel has one.
    bulk: Option<SharedFile>,
    /// The last frame's head: the next one reuses its room (see
    /// `codec::reused`).
    head: Vec<u8>,
}

/// A file that the reader and a `poll` elsewhere can both hold: the pool's
/// parent polls a worker's result channel without holding the pool's lock, and
/// the `Arc` keeps the descriptor open (and its number unused by anything
/// else) for as long as the poll needs it.
struct SharedFile {
    file: Arc<File>,
    /// Readable once the writer has ended (a pidfd), when the reader watches it.
    writer_ended: Option<Arc<File>>,
}

impl SharedFile {
    /// After a read found the pipe empty: waits until it has bytes (or is at
    /// its end), and says whether it has. `false` means the watched writer
    /// is dead and left nothing more.
    ///
    /// Only a watching reader's pipe does not block (see
    /// [`FrameReader::watching`]); a read on another waits in the kernel.
    fn wait_for_bytes(&self) -> io::Result<bool> {
        let Some(ended) = &self.writer_ended else {
            return Ok(true);
        };
        // Bytes or the writer's death, whichever comes first.
        let [bytes, _] = crate::sys::poll_readable([self.file.as_fd(), ended.as_fd()], None)?;
        // The writer is dead and the pipe empty: what it wrote before it died
        // is all there will ever be, even while a process it started keeps
        // the pipe open.
        Ok(bytes)
    }
}

impl Read for SharedFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match (&*self.file).read(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                done => return done,
            }
            if !self.wait_for_bytes()? {
                return Ok(0); // read as end of file
            }
        }
    }
}

impl FrameReader {
    /// The reading end of a pipe, and of the bulk socket if the writer has
    /// one (see [`FrameWriter::with_bulk`]).
    pub(crate) fn new(fd: OwnedFd, bulk: Option<OwnedFd>) -> Self {
        let file = |fd: OwnedFd| SharedFile {
            file: Arc::new(File::from(fd)),
            writer_ended: None,
        };
        FrameReader {
            reader: BufReader::new(file(fd)),
            bulk: bulk.map(file),
            head: Vec::new(),
        }
    }

    /// A reader that also watches its one writer, a process, through
    /// `writer_ended` (its pidfd): when the writer dies, even halfway through
    /// a frame, reading ends at once, however long other processes keep the
    /// pipe open (a worker's children inherit its end).
    pub(crate) fn watching(
        fd: OwnedFd,
        bulk: Option<OwnedFd>,
        writer_ended: Arc<File>,
    ) -> io::Result<Self> {
        let file = |fd: OwnedFd| -> io::Result<SharedFile> {
            crate::sys::set_nonblocking(fd.as_fd())?;
            Ok(SharedFile {
                file: Arc::new(File::from(fd)),
                writer_ended: Some(Arc::clone(&writer_ended)),
            })
        };
        Ok(FrameReader {
            reader: BufReader::new(file(fd)?),
            bulk: bulk.map(file).transpose()?,
            head: Vec::new(),
        })
    }

    /// The pipe, to wait on with `poll` (see [`crate::sys::poll_readable`]).
    pub(crate) fn file(&self) -> Arc<File> {
        Arc::clone(&self.reader.get_ref().file)
    }

    /// The pipe's descriptor.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.reader.get_ref().file.as_fd()
    }

    /// The pipe's descriptor, and the bulk socket's if there is one.
    pub(crate) fn fds(&self) -> impl Iterator<Item = BorrowedFd<'_>> {
        let bulk = self.bulk.as_ref().map(|bulk| bulk.file.as_fd());
        std::iter::once(self.fd()).chain(bulk)
    }

    /// Whether bytes already read from the pipe wait in the buffer; if not,
    /// the next [`FrameReader::recv`] will wait for the writer.
    pub(crate) fn has_buffered(&self) -> bool {
        !self.reader.buffer().is_empty()
    }

    /// Waits for the next frame and returns it. `Ok(None)` means a clean end
    /// of file: the writer closed its end (or died) between two frames. A
    /// writer that dies halfway through a frame gives an `UnexpectedEof`
    /// error instead.
    pub(crate) fn recv(&mut self) -> io::Result<Option<Frame<'_>>> {
        // End of file right at a frame boundary is the normal way a stream ends.
        loop {
            match self.reader.fill_buf() {
                Ok([]) => return Ok(None),
                Ok(_) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        let mut lengths = [0; LENGTHS];
        self.reader.read_exact(&mut lengths)?;
        let length =
            |at: usize| u32::from_le_bytes(lengths[at..at + 4].try_into().expect("4 bytes"));
        let mut head = crate::codec::reused(&mut self.head);
        self.read_exactly(&mut head, length(0) as usize)?;
        self.head = head;
        let payload_len = length(4) as usize;
        let mut payload = Vec::with_capacity(payload_len.min(TRUSTED_SIZE));
        match &self.bulk {
            Some(bulk) if payload_len >= BULK => read_into(bulk, &mut payload, payload_len)?,
            _ => self.read_exactly(&mut payload, payload_len)?,
        }
        Ok(Some(Frame {
            head: &self.head,
            payload,
        }))
    }

    /// Reads `len` bytes from the pipe into `buf`, empty: first the few read
    /// ahead, then straight from the pipe.
    fn read_exactly(&mut self, buf: &mut Vec<u8>, len: usize) -> io::Result<()> {
        buf.reserve(len.min(TRUSTED_SIZE));
        let ahead = self.reader.buffer();
        let ahead = &ahead[..ahead.len().min(len)];
        buf.extend_from_slice(ahead);
        self.reader.consume(buf.len());
        read_into(self.reader.get_ref(), buf, len)
    }
}

/// Reads from `from` until `buf` holds `len` bytes; the writer's end (or
/// death) before that is an `UnexpectedEof` error.
fn read_into(from: &SharedFile, buf: &mut Vec<u8>, len: usize) -> io::Result<()> {
    // `read_to_end` on the `File` itself: it reads into the buffer's spare
    // room as it is. Through a reader of our own, std would first fill that
    // room with zeroes, one more pass over fresh memory.
    while buf.len() < len {
        let before = buf.len();
        match (&*from.file).take((len - before) as u64).read_to_end(buf) {
            Ok(_) if buf.len() == before => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if !from.wait_for_bytes()? {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::KEPT_ROOM;
    use std::io::Write;

    fn channel() -> (FrameWriter, FrameReader) {
        let (reader, writer) = crate::sys::pipe().unwrap();
        (FrameWriter::new(writer), FrameReader::new(reader, None))
    }

    #[test]
    fn frames_arrive_whole_and_in_order_with_their_head_and_payload_apart() {
        let (mut writer, mut reader) = channel();
        writer.send(b"one", &[7; 100]).unwrap();
        writer.send(b"", b"").unwrap();
        writer.send(&[9; 3000], b"two").unwrap();
        drop(writer);
        let frame = reader.recv().unwrap().unwrap();
        assert_eq!(
            (frame.head, &frame.payload[..]),
            (&b"one"[..], &[7; 100][..])
        );
        let frame = reader.recv().unwrap().unwrap();
        assert!(frame.head.is_empty() && frame.payload.is_empty());
        let frame = reader.recv().unwrap().unwrap();
        assert_eq!(
            (frame.head, &frame.payload[..]),
            (&[9; 3000][..], &b"two"[..])
        );
        assert!(
            reader.recv().unwrap().is_none(),
            "end of file between frames"
        );
    }

    /// The reader reuses its room for heads, but a big head's room does not
    /// stay for the reader's life.
    #[test]
    fn the_room_of_a_big_head_is_given_back_at_the_next_frame() {
        let (mut writer, mut reader) = channel();
        let sender = std::thread::spawn(move || {
            writer.send(&vec![1; 4 * KEPT_ROOM], b"p").unwrap();
            writer.send(b"small", b"p").unwrap();
        });
        assert_eq!(reader.recv().unwrap().unwrap().head.len(), 4 * KEPT_ROOM);
        assert_eq!(reader.recv().unwrap().unwrap().head, b"small");
        assert!(
            reader.head.capacity() <= KEPT_ROOM,
            "kept {}",
            reader.head.capacity()
        );
        sender.join().unwrap();
    }

    /// With a bulk socket, payloads from `BULK` bytes up take it and the
    /// rest the pipe; frames of both kinds, mixed, still come whole and in
    /// order.
    #[test]
    fn big_payloads_take_the_bulk_socket_and_the_frames_keep_their_order() {
        let (reader, writer) = crate::sys::pipe().unwrap();
        let (bulk_reader, bulk_writer) = crate::sys::socketpair().unwrap();
        let mut writer = FrameWriter::with_bulk(writer, bulk_writer);
        let mut reader = FrameReader::new(reader, Some(bulk_reader));
        let sizes = [BULK - 1, BULK, 0, 3 * BULK + 5, 10];
        let sender = std::thread::spawn(move || {
            for (i, &size) in sizes.iter().enumerate() {
                writer.send(&[i as u8], &vec![i as u8; size]).unwrap();
            }
        });
        for (i, &size) in sizes.iter().enumerate() {
            let frame = reader.recv().unwrap().unwrap();
            assert_eq!(frame.head, [i as u8]);
            assert_eq!(frame.payload, vec![i as u8; size], "frame {i}");
        }
        sender.join().unwrap();
        assert!(
            reader.recv().unwrap().is_none(),
            "end of file after the last"
        );
        // The big ones went through the socket: the pipe alone did not carry them.
        let (reader, writer) = crate::sys::pipe().unwrap();
        let (bulk_reader, bulk_writer) = crate::sys::socketpair().unwrap();
        FrameWriter::with_bulk(writer, bulk_writer)
            .send(b"h", &[1; BULK])
            .unwrap();
        drop(bulk_reader);
        let mut pipe_only = FrameReader::new(reader, None);
        let err = pipe_only.recv().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    /// A frame cut short is an error, and a length that claims far more than
    /// ever comes is not allocated up front.
    #[test]
    fn a_frame_cut_short_is_an_error_whatever_its_lengths_claim() {
        for claimed in [10_u32, u32::MAX] {
            let (writer, mut reader) = channel();
            let mut file = writer.file;
            let mut bytes = 0_u32.to_le_bytes().to_vec();
            bytes.extend_from_slice(&claimed.to_le_bytes());
            bytes.extend_from_slice(b"only this");
            file.write_all(&bytes).unwrap();
            drop(file);
            let err = reader.recv().unwrap_err();
            assert_eq!(
                err.kind(),
                io::ErrorKind::UnexpectedEof,
                "claimed {claimed}"
            );
        }
    }
}
