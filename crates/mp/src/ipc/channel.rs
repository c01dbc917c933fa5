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
//! The pool gives each worker two such channels: tasks from the parent to
//! the worker (a pipe), results from the worker to the parent (a socket
//! pair: see `pool/engine.rs`).

use std::fs::File;
use std::io::{self, BufRead, BufReader, IoSlice, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;

/// The largest head or payload: its length must fit in four bytes.
pub(crate) const MAX_FRAME: usize = u32::MAX as usize;

/// Two lengths: the head's and the payload's.
const LENGTHS: usize = 8;

/// Up to this size, a payload's buffer is made at its full size before the
/// bytes arrive; a larger one grows as they really come in, so that a length
/// that lies costs no huge allocation.
const TRUSTED_SIZE: usize = 64 << 20;

/// A frame as it was received.
#[derive(Debug)]
pub(crate) struct Frame {
    pub(crate) head: Vec<u8>,
    pub(crate) payload: Vec<u8>,
}

/// The sending end of a framed pipe.
pub(crate) struct FrameWriter {
    file: File,
    /// A socket's end: a send can ask not to raise `SIGPIPE`.
    socket: bool,
}

impl FrameWriter {
    /// The writing end of a pipe.
    pub(crate) fn new(fd: OwnedFd) -> Self {
        FrameWriter {
            file: File::from(fd),
            socket: false,
        }
    }

    /// One end of a socket pair.
    pub(crate) fn socket(fd: OwnedFd) -> Self {
        FrameWriter {
            file: File::from(fd),
            socket: true,
        }
    }

    /// The pipe's descriptor.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }

    /// Sends one frame. The lengths, the head and the payload go out in one
    /// `writev` call (more only if the pipe fills up), so the reader usually
    /// wakes up once, and the payload is not copied on the way. A reader
    /// that is gone is an `EPIPE` error, never a `SIGPIPE`: a socket's send
    /// says so itself (`MSG_NOSIGNAL`, Linux), a pipe's write is made with the
    /// signal held off (`sys::without_sigpipe`, two more system calls).
    pub(crate) fn send(&mut self, head: &[u8], payload: &[u8]) -> io::Result<()> {
        let too_large = |_| io::Error::new(io::ErrorKind::InvalidInput, "frame too large");
        let mut lengths = [0; LENGTHS];
        lengths[..4].copy_from_slice(&u32::try_from(head.len()).map_err(too_large)?.to_le_bytes());
        lengths[4..].copy_from_slice(
            &u32::try_from(payload.len())
                .map_err(too_large)?
                .to_le_bytes(),
        );
        let mut pieces = [
            IoSlice::new(&lengths),
            IoSlice::new(head),
            IoSlice::new(payload),
        ];
        let file = &self.file;
        if self.socket && crate::sys::NO_SIGPIPE != 0 {
            write_all(&mut pieces, |pieces| {
                crate::sys::send_vectored(file.as_fd(), pieces)
            })
        } else {
            crate::sys::without_sigpipe(|| {
                write_all(&mut pieces, |pieces| (&*file).write_vectored(pieces))
            })
        }
    }
}

/// Writes all of `pieces` with `write`, which writes some of them.
fn write_all(
    mut pieces: &mut [IoSlice<'_>],
    write: impl Fn(&[IoSlice<'_>]) -> io::Result<usize>,
) -> io::Result<()> {
    while !pieces.is_empty() {
        match write(pieces) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(written) => IoSlice::advance_slices(&mut pieces, written),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The receiving end of a framed pipe.
pub(crate) struct FrameReader {
    reader: BufReader<SharedFile>,
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
        let ready = crate::sys::poll_readable(&[self.file.as_fd(), ended.as_fd()], None)?;
        // The writer is dead and the pipe empty: what it wrote before it died
        // is all there will ever be, even while a process it started keeps
        // the pipe open.
        Ok(ready.contains(&0))
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
    pub(crate) fn new(fd: OwnedFd) -> Self {
        FrameReader {
            reader: BufReader::new(SharedFile {
                file: Arc::new(File::from(fd)),
                writer_ended: None,
            }),
        }
    }

    /// A reader that also watches its one writer, a process, through
    /// `writer_ended` (its pidfd): when the writer dies, even halfway through
    /// a frame, reading ends at once, however long other processes keep the
    /// pipe open (a worker's children inherit its end).
    pub(crate) fn watching(fd: OwnedFd, writer_ended: Arc<File>) -> io::Result<Self> {
        crate::sys::set_nonblocking(fd.as_fd())?;
        Ok(FrameReader {
            reader: BufReader::new(SharedFile {
                file: Arc::new(File::from(fd)),
                writer_ended: Some(writer_ended),
            }),
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

    /// Whether bytes already read from the pipe wait in the buffer; if not,
    /// the next [`FrameReader::recv`] will wait for the writer.
    pub(crate) fn has_buffered(&self) -> bool {
        !self.reader.buffer().is_empty()
    }

    /// Waits for the next frame and returns it. `Ok(None)` means a clean end
    /// of file: the writer closed its end (or died) between two frames. A
    /// writer that dies halfway through a frame gives an `UnexpectedEof`
    /// error instead.
    pub(crate) fn recv(&mut self) -> io::Result<Option<Frame>> {
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
        let head = self.read_exactly(length(0) as usize)?;
        let payload = self.read_exactly(length(4) as usize)?;
        Ok(Some(Frame { head, payload }))
    }

    /// Reads `len` bytes into a buffer of their own: first the few read
    /// ahead, then straight from the pipe.
    fn read_exactly(&mut self, len: usize) -> io::Result<Vec<u8>> {
        let mut buf = Vec::with_capacity(len.min(TRUSTED_SIZE));
        let ahead = self.reader.buffer();
        let ahead = &ahead[..ahead.len().min(len)];
        buf.extend_from_slice(ahead);
        self.reader.consume(buf.len());
        // `read_to_end` on the `File` itself: it reads into the buffer's spare
        // room as it is. Through a reader of our own, std would first fill
        // that room with zeroes, one more pass over fresh memory.
        let file = Arc::clone(&self.reader.get_ref().file);
        while buf.len() < len {
            let before = buf.len();
            match (&*file).take((len - before) as u64).read_to_end(&mut buf) {
                Ok(_) if buf.len() == before => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if !self.reader.get_ref().wait_for_bytes()? {
                        return Err(io::ErrorKind::UnexpectedEof.into());
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel() -> (FrameWriter, FrameReader) {
        let (reader, writer) = crate::sys::pipe().unwrap();
        (FrameWriter::new(writer), FrameReader::new(reader))
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
            (&frame.head[..], &frame.payload[..]),
            (&b"one"[..], &[7; 100][..])
        );
        let frame = reader.recv().unwrap().unwrap();
        assert!(frame.head.is_empty() && frame.payload.is_empty());
        let frame = reader.recv().unwrap().unwrap();
        assert_eq!(
            (&frame.head[..], &frame.payload[..]),
            (&[9; 3000][..], &b"two"[..])
        );
        assert!(
            reader.recv().unwrap().is_none(),
            "end of file between frames"
        );
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
