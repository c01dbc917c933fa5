//! A FIFO queue between processes: Python's `multiprocessing.Queue`.
//!
//! # How it works
//!
//! A queue is one pipe, the kernel's byte stream between processes, shared by
//! every process that holds the queue: a forked child inherits it, a spawned
//! child receives it in its start arguments. `put` serializes an item and
//! writes the bytes into the pipe; `get` reads one message's bytes back out and
//! deserializes them.
//!
//! A pipe carries bytes, not messages, so each message is *framed*: it starts
//! with a fixed 64-byte record, a 4-byte length followed by the first (up to)
//! 60 bytes of the message; the rest of a longer message follows the record. A
//! small message (most results are a few bytes) is then one `write` for the
//! sender and one `read` for the receiver, which is what makes the queue fast.
//!
//! Several processes write to the same pipe and several read from it, so two
//! process-shared locks (see `sync/lock.rs`) keep messages whole:
//!
//! - The **write lock** is held for the whole of a message. The kernel writes
//!   at most `PIPE_BUF` bytes (4096 on Linux) in one piece; the bytes of two
//!   bigger writes made at once can interleave, and the stream would be
//!   garbage. With the lock, a message's bytes are always together.
//! - The **read lock** is held while one reader takes one whole message, so a
//!   message is never split between two readers.
//!
//! The pipe's read end is non-blocking. A reader takes the read lock and
//! reads at once: when messages are waiting, that is the only system call.
//! When the pipe is empty, the read says "nothing there" instead of sleeping
//! with the lock held; the reader lets go of the lock and waits in `poll`,
//! then tries again. If another reader got the message first, it waits again.

use std::any::Any;
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::marker::PhantomData;
use std::os::fd::{AsFd, AsRawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::codec::{self, Varint, Vector};
use crate::error::{Error, ErrorKind, Result};
use crate::inherit;
use crate::shm::SharedMemory;
use crate::sync::lock::{Acquired, RawLock, unlock_failed};
use crate::sync::wait::nobody_left;
use crate::sys;

/// The fixed record every message starts with.
const RECORD: usize = 64;
/// The record's first bytes: the message's length, a little-endian `u32`.
const LENGTH: usize = 4;
/// How much of a message fits in its record.
const INLINE: usize = RECORD - LENGTH;
/// How long a waiting `get` sleeps in `poll` before it checks whether anyone
/// is left who could still put a message.
const SLICE: Duration = Duration::from_millis(50);
/// The size a queue asks its pipe to have: a 1 MiB message then crosses in
/// two steps instead of seventeen. The kernel may refuse; see `sys::enlarge_pipe`.
pub(crate) const PIPE_SIZE: usize = 1 << 20;
/// How many bytes of a long message are read, or of a float vector turned
/// into bytes, at a time.
const CHUNK: usize = 64 << 10;
/// The default largest message, in bytes (after serialization): 1 GiB.
const DEFAULT_MAX_MESSAGE: usize = 1 << 30;

/// A first-in, first-out queue of `T` between processes (Python's
/// `multiprocessing.Queue`). Make it before starting the processes that use
/// it, and pass each a clone.
///
/// ```
/// use mp::{Process, Queue};
///
/// fn job(q: Queue<u64>) {
///     let result: u64 = (0..1000).map(|i| i + i * i).sum();
///     q.put(result).expect("the parent holds the queue");
/// }
///
/// fn main() -> mp::Result<()> {
///     mp::init();
///     let q = Queue::new()?;
///     let mut p1 = Process::new(job, q.clone());
///     let mut p2 = Process::new(job, q.clone());
///     p1.start()?;
///     p2.start()?;
///     p1.join()?; // safe before `get` only because the results are small: see below
///     p2.join()?;
///     assert_eq!([q.get()?, q.get()?], [333_333_000; 2]);
///     Ok(())
/// }
/// ```
///
/// Any number of processes may put and get at once. Each message arrives
/// whole, exactly once, to one reader; the messages of one producer arrive in
/// the order it put them. A clone is the same queue (the same pipe), not a
/// copy of its contents.
///
/// # The trap: joining a producer before draining the queue
///
/// The pipe holds a limited number of bytes (64 KiB by default on Linux; a
/// queue asks the kernel for 1 MiB, which it grants unless its limits say no), and
/// `put` returns only once its whole message is in the pipe. A process that
/// puts a message bigger than the room left waits until a reader makes room,
/// so it cannot end until someone `get`s. Joining it first deadlocks: the
/// parent waits for the child, which waits for the parent. Python documents
/// the same trap ("joining processes that use queues"). Small results, like
/// the tutorial's, fit in the pipe, and joining first is safe; with big ones,
/// `get` everything, then `join`.
///
/// # When `get` gives up instead of waiting forever
///
/// Python's `get()` on an empty queue waits forever if nobody puts. Here `get`
/// waits in slices of 50 ms, and after a slice with nothing to read it checks
/// whether anyone else could still put, by the crate's one rule: another
/// thread of this process, a child this process started that has not ended
/// (a producer or not, a pool's worker included), or, in a child, its parent.
/// If none is left, it looks in the pipe one last time (a producer may have
/// put just before it ended) and then returns [`ErrorKind::QueueAbandoned`].
/// [`Queue::get_timeout`] never gives up early: it runs to its timeout, then
/// returns [`ErrorKind::QueueEmpty`], as Python raises `queue.Empty`.
///
/// `put` on a full pipe gives up the same way: after a slice without room, if
/// nobody is left who could read, it returns [`ErrorKind::QueueUnread`] rather
/// than block forever (a child whose parent died would otherwise be left
/// behind, stuck). Part of a long message may be in the pipe by then, so the
/// queue is broken afterwards (below).
///
/// A queue is *broken* when a process dies halfway through a message: a
/// writer killed while writing a long one, or a reader killed while reading
/// one. The stream has lost its place between messages, and every later `get`
/// and `put` returns [`ErrorKind::MessageTruncated`] instead of garbage; a
/// `put` waiting for room finds out within a slice. A reader killed while it
/// found the queue empty took nothing, and breaks nothing.
///
/// # Sending a queue to another process
///
/// A queue goes to a process in its start arguments ([`crate::Process::new`]),
/// never inside a message: putting a `Queue` on a `Queue` is
/// [`ErrorKind::NotInStartArguments`], as Python refuses it too.
pub struct Queue<T> {
    shared: Arc<Shared>,
    _items: PhantomData<fn(T) -> T>,
}

/// What every clone of a queue, in every process, refers to.
#[derive(Serialize, Deserialize)]
struct Shared {
    /// The pipe's read end, in non-blocking mode.
    reader: PipeEnd,
    /// The pipe's write end, in non-blocking mode: a full pipe makes `put`
    /// wait in slices, so that it can notice when nobody is left to read.
    writer: PipeEnd,
    /// A [`Control`]: the two locks and the queue's state.
    control: SharedMemory,
    /// The largest message allowed, in bytes.
    max_message: u32,
    /// The pid of the process that closed the queue (`Queue::close`), 0 if
    /// none did. Only that process is barred: a forked child (another pid)
    /// can still use its copy, and a spawned child starts with 0.
    #[serde(skip)]
    closed_by: AtomicU32,
}

/// The part of a queue that lives in shared memory.
#[repr(C)]
struct Control {
    write: Side,
    read: Side,
    /// Set once a process died halfway through a message: the stream is out
    /// of step, and the queue can no longer be used.
    broken: Padded<AtomicBool>,
    /// Messages put and not yet taken, for `qsize`: a writer adds one once its
    /// whole message is in the pipe, a reader takes one away once it has read
    /// a whole message. A reader may get there first, so it may dip below 0
    /// for a moment.
    count: Padded<AtomicI64>,
}

/// The lock of one side (writing or reading), and whether its holder is
/// partway through a message.
///
/// Each side gets its own 128 bytes, so a producer and a consumer taking their
/// own locks on two cores do not keep stealing one cache line from each other.
#[repr(C, align(128))]
struct Side {
    lock: RawLock,
    /// True while the lock's holder has moved part of a message, but not all
    /// of it. If the holder dies then, the pipe is left in the middle of a message.
    busy: AtomicBool,
    /// Reading side only: how many bytes are surely in the pipe, known from
    /// the last `FIONREAD` minus what readers took since. Writers only add to
    /// the pipe and only the lock's holder takes from it, so this never counts
    /// bytes that are not there. It lets a reader mark itself `busy` only for
    /// a read that will find bytes, without asking the kernel every time.
    ready: AtomicUsize,
}

/// A value alone on its 128 bytes (see [`Side`]).
#[repr(C, align(128))]
struct Padded<T>(T);

/// Holding the lock of a [`Side`]; dropping this releases it.
struct SideHeld<'a>(&'a RawLock);

impl Drop for SideHeld<'_> {
    fn drop(&mut self) {
        if let Err(err) = self.0.unlock() {
            unlock_failed(err);
        }
    }
}

// The flags below use `Relaxed`: `busy` is only read and written by the holder
// of its side's lock, which orders it; `broken` only ever goes from false to
// true and guards no other data, so whenever it is seen true, it is true.
impl Control {
    fn is_broken(&self) -> bool {
        self.broken.0.load(Ordering::Relaxed)
    }

    fn set_broken(&self) {
        self.broken.0.store(true, Ordering::Relaxed);
    }

    /// Takes `side`'s lock. If its previous holder died partway through a
    /// message, the queue is broken from now on.
    fn lock<'a>(&'a self, side: &'a Side) -> Result<SideHeld<'a>> {
        let acquired = side.lock.lock()?;
        Ok(self.after_locking(side, acquired))
    }

    fn after_locking<'a>(&'a self, side: &'a Side, acquired: Acquired) -> SideHeld<'a> {
        if let Acquired::OwnerDied(_) = acquired {
            if side.busy.swap(false, Ordering::Relaxed) {
                self.set_broken();
            }
            // The dead holder may have taken bytes it had not yet counted.
            side.ready.store(0, Ordering::Relaxed);
        }
        SideHeld(&side.lock)
    }

    fn truncated(&self) -> Error {
        self.set_broken();
        Error::new(ErrorKind::MessageTruncated)
    }
}

/// A message as it came out of the pipe.
enum Received {
    /// A small message, still in its record.
    Inline { record: [u8; RECORD], len: usize },
    /// A longer message.
    Long(Vec<u8>),
    /// A long `Vec<u8>` or `Vec<f64>`, already built as it was read.
    Built(Box<dyn Any>),
}

impl Received {
    fn bytes(&self) -> &[u8] {
        match self {
            Received::Inline { record, len } => &record[LENGTH..LENGTH + len],
            Received::Long(bytes) => bytes,
            Received::Built(_) => &[],
        }
    }
}

impl<T> Clone for Queue<T> {
    fn clone(&self) -> Self {
        Queue {
            shared: Arc::clone(&self.shared),
            _items: PhantomData,
        }
    }
}

impl<T: Serialize + DeserializeOwned + 'static> Queue<T> {
    /// Makes an empty queue (Python's `multiprocessing.Queue()`). A message
    /// may be up to 1 GiB once serialized.
    pub fn new() -> Result<Self> {
        Self::with_max_message_size(DEFAULT_MAX_MESSAGE)
    }

    /// Makes an empty queue whose messages may be at most `max` bytes once
    /// serialized (at most `u32::MAX`: a larger `max` counts as `u32::MAX`).
    /// A bigger `put` returns [`ErrorKind::MessageTooLarge`].
    pub fn with_max_message_size(max: usize) -> Result<Self> {
        let (reader, writer) =
            sys::pipe().map_err(|e| Error::os("create a pipe for a Queue", e))?;
        sys::set_nonblocking(reader.as_fd())
            .map_err(|e| Error::os("make a Queue's pipe non-blocking", e))?;
        sys::enlarge_pipe(writer.as_fd(), PIPE_SIZE);
        sys::set_nonblocking(writer.as_fd())
            .map_err(|e| Error::os("make a Queue's pipe non-blocking", e))?;
        let control = SharedMemory::new("Queue", size_of::<Control>())?;
        let at = control.as_ptr().cast::<Control>();
        // SAFETY: the memory is fresh, ours alone, page-aligned and at least as
        // large as a `Control`, so both lock places are valid and aligned. The
        // rest of a `Control` is atomics, for which the zeroed memory is a
        // valid `false`.
        unsafe {
            RawLock::init(&raw mut (*at).write.lock)?;
            RawLock::init(&raw mut (*at).read.lock)?;
        }
        Ok(Queue {
            shared: Arc::new(Shared {
                reader: PipeEnd(File::from(reader)),
                writer: PipeEnd(File::from(writer)),
                control,
                max_message: u32::try_from(max).unwrap_or(u32::MAX),
                closed_by: AtomicU32::new(0),
            }),
            _items: PhantomData,
        })
    }

    /// Adds `item` at the back (Python's `put`).
    ///
    /// Returns once the whole message is in the pipe. If the pipe is full, it
    /// waits until a reader makes room: see the trap in the type's docs.
    /// Errors: [`ErrorKind::QueueUnread`] if the pipe is full and no other
    /// process is left to read; [`ErrorKind::MessageTooLarge`] if the serialized item is bigger
    /// than the queue's limit; [`ErrorKind::MessageTruncated`] if the queue is
    /// broken; [`ErrorKind::NotInStartArguments`] if the item holds a queue,
    /// a lock or shared memory.
    pub fn put(&self, item: T) -> Result<()> {
        self.check_open()?;
        self.send(&encode(&item)?, true)
    }

    /// Adds `item` at the back if there is room in the pipe now (Python's
    /// `put_nowait`, and Rust's `try_send`); otherwise returns
    /// [`TryPutError::Full`] at once, with the item, as crossbeam's
    /// `TrySendError::Full` does: nothing is lost, and `?` turns it into an
    /// [`Error`] of kind [`ErrorKind::QueueFull`] (Python's `queue.Full`).
    ///
    /// "Room" is judged on the message's first 64 bytes, which go into the
    /// pipe all at once or not at all. A message that fits in them (most
    /// small values) is either put whole or refused. The rest of a longer
    /// message then follows as with [`Queue::put`], waiting for room if need
    /// be: a message half in the pipe cannot be taken back.
    ///
    /// Other errors as [`Queue::put`].
    #[doc(alias("put_nowait"))]
    pub fn try_put(&self, item: T) -> std::result::Result<(), TryPutError<T>> {
        let put = self
            .check_open()
            .and_then(|()| self.send(&encode(&item)?, false));
        match put {
            Ok(()) => Ok(()),
            Err(err) if matches!(err.kind(), ErrorKind::QueueFull) => Err(TryPutError::Full(item)),
            Err(err) => Err(TryPutError::Failed(err)),
        }
    }

    /// Takes the item at the front, waiting for one (Python's `get`).
    ///
    /// Gives up with [`ErrorKind::QueueAbandoned`] when the queue is empty and
    /// no other process is left that could put on it (see the type's docs),
    /// and with [`ErrorKind::MessageTruncated`] when the queue is broken.
    pub fn get(&self) -> Result<T> {
        self.receive(None)
    }

    /// Takes the item at the front if one is there now (Python's
    /// `get_nowait`, and Rust's `try_recv`); otherwise returns
    /// [`ErrorKind::QueueEmpty`] at once.
    ///
    /// It never waits for an item to arrive. It may wait a moment for another
    /// reader that is taking a message right now to finish, and it reads a
    /// long message to its end once its start is there.
    #[doc(alias("get_nowait"))]
    pub fn try_get(&self) -> Result<T> {
        self.check_open()?;
        match self.try_receive()? {
            Some(message) => decode(message),
            None => Err(ErrorKind::QueueEmpty.into()),
        }
    }

    /// Like [`Queue::get`], waiting at most `timeout` for a message to start
    /// arriving (Python's `get(timeout=...)`); after that, returns
    /// [`ErrorKind::QueueEmpty`], as Python raises `queue.Empty`. A zero
    /// timeout takes a message only if one is there now, as
    /// [`Queue::try_get`] does. It returns early only with a message (or an
    /// error of the queue itself, such as [`ErrorKind::MessageTruncated`]):
    /// unlike `get`, it does not give up when nobody is left who could put,
    /// since its timeout ends it anyway.
    ///
    /// A message that has started to arrive is always read to its end, even
    /// past the timeout: stopping halfway would leave the rest in the pipe,
    /// where the next reader would take it for the start of a message.
    #[doc(alias("get"))]
    pub fn get_timeout(&self, timeout: Duration) -> Result<T> {
        self.receive(Some(timeout))
    }

    /// Whether the queue is empty right now (Python's `empty()`). Another
    /// process may put or get a moment later, so the answer can be out of date
    /// as soon as it is returned. Once this process has closed the queue, it
    /// is [`ErrorKind::QueueClosed`] (Python raises `OSError` there).
    pub fn empty(&self) -> Result<bool> {
        self.check_open()?;
        let ready = sys::poll_readable(&[self.shared.reader.0.as_fd()], Some(Duration::ZERO))
            .map_err(|e| Error::os("check a Queue's pipe", e))?;
        Ok(ready.is_empty())
    }

    /// How many items are in the queue right now (Python's `qsize()`): put,
    /// in any process, and not yet taken. Like Python's, the number can be
    /// out of date as soon as it is returned, and while a message is on its
    /// way it may be counted one short or one over.
    pub fn qsize(&self) -> usize {
        let count = self.control().count.0.load(Ordering::Relaxed);
        usize::try_from(count).unwrap_or(0)
    }

    /// Whether the queue's pipe is full right now (Python's `full()`), so
    /// that a [`Queue::put`] would wait and a [`Queue::try_put`] would be
    /// refused. Python's queues are unbounded unless given a `maxsize`; this
    /// one holds what its pipe holds (1 MiB when the kernel grants what the
    /// queue asks for, else 64 KiB, Linux's default).
    pub fn full(&self) -> Result<bool> {
        let room = sys::poll_writable(self.shared.writer.0.as_fd(), Duration::ZERO)
            .map_err(|e| Error::os("check a Queue's pipe", e))?;
        Ok(!room)
    }

    /// Says that this process will use the queue no more (Python's
    /// `close()`): from now on, `put`, `try_put`, `get` and `try_get` through
    /// any of this process's handles return [`ErrorKind::QueueClosed`]. Other
    /// processes, children forked afterwards included, go on using it. The
    /// pipe itself closes in this process when its last handle is dropped.
    ///
    /// Python's `close` also stops the queue's feeder thread; this queue has
    /// none (a `put` writes to the pipe itself), so there is nothing to flush
    /// and no `join_thread` to call.
    pub fn close(&self) {
        self.shared.closed_by.store(sys::pid(), Ordering::Relaxed);
    }

    /// `Ok` unless this process closed the queue.
    fn check_open(&self) -> Result<()> {
        if self.shared.closed_by.load(Ordering::Relaxed) == sys::pid() {
            return Err(ErrorKind::QueueClosed.into());
        }
        Ok(())
    }

    fn control(&self) -> &Control {
        // SAFETY: `with_max_message_size` initialized a `Control` at the start
        // of this memory (a spawned child maps the same memory, and its
        // deserialization checked the size); it lives as long as `self`, and
        // all of a `Control` is made for use by many processes at once.
        unsafe { &*self.shared.control.as_ptr().cast::<Control>() }
    }

    /// Writes one message: its record, then (for a long one) the rest. If
    /// `wait` is false and the pipe has no room for the record, returns
    /// [`ErrorKind::QueueFull`] having written nothing.
    fn send(&self, message: &Outgoing<'_>, wait: bool) -> Result<()> {
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
    fn write_now(&self, record: &[u8; RECORD]) -> Result<bool> {
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
    fn write_all(&self, mut bytes: &[u8]) -> Result<()> {
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

    fn receive(&self, timeout: Option<Duration>) -> Result<T> {
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
    fn try_receive(&self) -> Result<Option<Received>> {
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
            let mut chunk = vec![0; CHUNK];
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
    fn read_rest(&self, buf: &mut [u8]) -> Result<()> {
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
    fn writer_died(&self) -> Result<bool> {
        let control = self.control();
        if let Some(acquired) = control.write.lock.try_lock()? {
            drop(control.after_locking(&control.write, acquired));
        }
        Ok(control.is_broken())
    }

    /// The same for a writer waiting for room: whether a reader died halfway
    /// through reading a message (it held the read lock, and nobody will
    /// read the rest of that message).
    fn reader_died(&self) -> Result<bool> {
        let control = self.control();
        if let Some(acquired) = control.read.lock.try_lock()? {
            drop(control.after_locking(&control.read, acquired));
        }
        Ok(control.is_broken())
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
enum Outgoing<'a> {
    Encoded(Vec<u8>),
    Vector(Varint, Vector<'a>),
}

/// Serializes `item` as postcard does, taking the fast way for `Vec<u8>`
/// and `Vec<f64>`.
fn encode<T: Serialize + 'static>(item: &T) -> Result<Outgoing<'_>> {
    if let Some(vector) = Vector::of(item) {
        return Ok(Outgoing::Vector(Varint::new(vector.len()), vector));
    }
    codec::to_bytes(item).map(Outgoing::Encoded)
}

impl Outgoing<'_> {
    /// The message's length in bytes.
    fn len(&self) -> usize {
        match self {
            Outgoing::Encoded(bytes) => bytes.len(),
            Outgoing::Vector(prefix, vector) => prefix.as_slice().len() + vector.size(),
        }
    }

    /// Copies the message's first bytes into `out`, as many as fit.
    fn copy_head(&self, out: &mut [u8]) {
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
    fn write_after(&self, start: usize, write: &mut dyn FnMut(&[u8]) -> Result<()>) -> Result<()> {
        self.each_piece(start, usize::MAX, write)
    }

    /// Hands `each` the message's bytes from offset `start` on, at most
    /// `most` of them, in pieces: slices of the item itself, or, for floats,
    /// a few thousand at a time turned into little-endian bytes.
    fn each_piece(
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
                let mut buf = vec![0_u8; CHUNK]; // see `try_receive`
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
enum Building {
    /// A `Vec<u8>`, whose elements are the message's bytes after the prefix.
    Bytes(Vec<u8>),
    /// A `Vec<f64>`, and the first bytes of a float that a chunk cut in two.
    Floats(Vec<f64>, [u8; 8], usize),
    /// Any other type, or a vector whose length prefix does not match the
    /// message: all the message's bytes, for `decode` to judge.
    Other(Vec<u8>),
}

impl Building {
    /// Starts on a message of `len` bytes (more than [`INLINE`]) for an item
    /// of type `T`, whose first [`INLINE`] bytes are `head`.
    fn start<T: 'static>(head: &[u8], len: usize) -> Building {
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
    fn push(&mut self, mut bytes: &[u8]) {
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

    fn finish(self) -> Received {
        match self {
            Building::Bytes(bytes) => Received::Built(Box::new(bytes)),
            Building::Floats(floats, ..) => Received::Built(Box::new(floats)),
            Building::Other(bytes) => Received::Long(bytes),
        }
    }
}

/// Reads back a vector's length prefix: the length, and where the elements
/// start. `None` if the bytes do not start with a varint.
fn read_length(bytes: &[u8]) -> Option<(usize, usize)> {
    codec::take_varint(bytes).map(|(len, rest)| (len, bytes.len() - rest.len()))
}

/// Deserializes a message as postcard does, taking the fast way for
/// `Vec<u8>` (whose bytes are moved, not copied, when the message is long)
/// and `Vec<f64>`.
fn decode<T: DeserializeOwned + 'static>(message: Received) -> Result<T> {
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

/// Why [`Queue::try_put`] did not put its item: the queue was full, and
/// here is the item back (crossbeam's `TrySendError::Full`); or another
/// error, as [`Queue::put`] has them. `?` turns either into an [`Error`].
pub enum TryPutError<T> {
    /// No room in the queue's pipe right now (Python's `queue.Full`); the
    /// item, not sent.
    Full(T),
    /// Any other error (a closed queue, a value that cannot be serialized).
    Failed(Error),
}

impl<T> TryPutError<T> {
    /// What went wrong, as for any error of the crate:
    /// [`ErrorKind::QueueFull`] for [`TryPutError::Full`].
    pub fn kind(&self) -> &ErrorKind {
        static FULL: ErrorKind = ErrorKind::QueueFull;
        match self {
            TryPutError::Full(_) => &FULL,
            TryPutError::Failed(err) => err.kind(),
        }
    }

    /// The item that was not put, if the queue was full.
    pub fn into_item(self) -> Option<T> {
        match self {
            TryPutError::Full(item) => Some(item),
            TryPutError::Failed(_) => None,
        }
    }
}

impl<T> From<TryPutError<T>> for Error {
    fn from(err: TryPutError<T>) -> Error {
        match err {
            TryPutError::Full(_) => ErrorKind::QueueFull.into(),
            TryPutError::Failed(err) => err,
        }
    }
}

impl<T> fmt::Display for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryPutError::Full(_) => fmt::Display::fmt(&Error::from(ErrorKind::QueueFull), f),
            TryPutError::Failed(err) => fmt::Display::fmt(err, f),
        }
    }
}

/// Does not show the item, so that any `T` will do (as crossbeam's).
impl<T> fmt::Debug for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryPutError::Full(_) => f.write_str("Full(..)"),
            TryPutError::Failed(err) => f.debug_tuple("Failed").field(err).finish(),
        }
    }
}

impl<T> std::error::Error for TryPutError<T> {}

impl<T> fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue")
            .field("reader", &self.shared.reader.0.as_raw_fd())
            .field("writer", &self.shared.writer.0.as_raw_fd())
            .field("max_message", &self.shared.max_message)
            .finish()
    }
}

/// One end of a queue's pipe. It serializes only into a spawned child's start
/// arguments, as the number of a descriptor the child inherits (see `inherit.rs`).
struct PipeEnd(File);

impl Serialize for PipeEnd {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        inherit::serialize_fd(self.0.as_raw_fd(), "Queue", s)
    }
}

impl<'de> Deserialize<'de> for PipeEnd {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // The descriptor is a duplicate that shares the parent's open pipe,
        // with its non-blocking mode, which belongs to the pipe end itself.
        inherit::deserialize_fd(d).map(|fd| PipeEnd(File::from(fd)))
    }
}

impl<T> Serialize for Queue<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.shared.serialize(s)
    }
}

impl<'de, T> Deserialize<'de> for Queue<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let shared = Shared::deserialize(d)?;
        if shared.control.len() < size_of::<Control>() {
            return Err(serde::de::Error::custom(
                "a Queue's shared memory is too small",
            ));
        }
        Ok(Queue {
            shared: Arc::new(shared),
            _items: PhantomData,
        })
    }
}

#[cfg(test)]
mod tests {
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
            for chunk in [1, 7, 8, CHUNK] {
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
            for chunk in [1, 7, 8, CHUNK] {
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
