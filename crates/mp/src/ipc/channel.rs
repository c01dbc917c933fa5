//! Framed messages over a pipe with exactly one writer and one reader.
//!
//! A pipe carries a stream of bytes, not messages: a reader may get half a
//! message, or two at once. So each message travels as a *frame*: its length
//! as four little-endian bytes, then the bytes themselves. With a single
//! writer nothing can interleave, so frames of any size are safe (a pipe
//! shared by several writers is another story: see `queue.rs`).
//!
//! The pool gives each worker two such pipes: tasks from the parent to the
//! worker, results from the worker to the parent.

use std::fs::File;
use std::io::{self, BufRead, BufReader, IoSlice, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;

/// The largest frame: its length must fit in the four-byte header.
pub(crate) const MAX_FRAME: usize = u32::MAX as usize;

/// The sending end of a framed pipe.
pub(crate) struct FrameWriter {
    file: File,
}

impl FrameWriter {
    pub(crate) fn new(fd: OwnedFd) -> Self {
        crate::sys::enlarge_pipe(fd.as_fd(), crate::ipc::queue::PIPE_SIZE);
        FrameWriter {
            file: File::from(fd),
        }
    }

    /// The pipe's descriptor.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }

    /// Sends one frame whose body is `head` then `payload`: a small
    /// description, then the data, which is not copied on the way. The three
    /// pieces go out in one `writev` call (more only if the pipe fills up), so
    /// the reader usually wakes up once.
    pub(crate) fn send(&mut self, head: &[u8], payload: &[u8]) -> io::Result<()> {
        let len = u32::try_from(head.len() + payload.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too large"))?;
        let len = len.to_le_bytes();
        let mut pieces = [
            IoSlice::new(&len),
            IoSlice::new(head),
            IoSlice::new(payload),
        ];
        let mut pieces = &mut pieces[..];
        while !pieces.is_empty() {
            match self.file.write_vectored(pieces) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(written) => IoSlice::advance_slices(&mut pieces, written),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// The receiving end of a framed pipe.
pub(crate) struct FrameReader {
    reader: BufReader<SharedFile>,
}

/// A file that the reader and a `poll` elsewhere can both hold: the pool's
/// parent polls a worker's result pipe without holding the pool's lock, and
/// the `Arc` keeps the descriptor open (and its number unused by anything
/// else) for as long as the poll needs it.
struct SharedFile {
    file: Arc<File>,
    /// Readable once the writer has ended (a pidfd), when the reader watches it.
    writer_ended: Option<Arc<File>>,
}

impl Read for SharedFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(ended) = &self.writer_ended else {
            return (&*self.file).read(buf);
        };
        // The pipe does not block (see `FrameReader::watching`): when it is
        // empty, wait for bytes or for the writer's death, whichever comes.
        loop {
            match (&*self.file).read(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                done => return done,
            }
            let ready = crate::sys::poll_readable(&[self.file.as_fd(), ended.as_fd()], None)?;
            if !ready.contains(&0) {
                // The writer is dead and left nothing more: what it wrote
                // before it died is all there will ever be, even while a
                // process it started keeps the pipe open. Read as end of file.
                return Ok(0);
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

    /// Waits for the next frame and returns its body. `Ok(None)` means a
    /// clean end of file: the writer closed its end (or died) between two
    /// frames. A writer that dies halfway through a frame gives an
    /// `UnexpectedEof` error instead.
    pub(crate) fn recv(&mut self) -> io::Result<Option<Vec<u8>>> {
        // End of file right at a frame boundary is the normal way a stream ends.
        loop {
            match self.reader.fill_buf() {
                Ok([]) => return Ok(None),
                Ok(_) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        let mut header = [0; 4];
        self.reader.read_exact(&mut header)?;
        let mut body = vec![0; u32::from_le_bytes(header) as usize];
        self.reader.read_exact(&mut body)?;
        Ok(Some(body))
    }
}
