//! A FIFO queue between processes: Python's `multiprocessing.Queue`.
//!
//! # How it works
//!
//! A queue is a piece of shared memory and a pipe, shared by every process
//! that holds the queue: a forked child inherits them, a spawned child
//! receives them in its start arguments. `put` serializes an item, `get`
//! deserializes it; in between, each message is framed by a *record* of 60
//! bytes: its length (4 bytes) and, when it fits in the other 56, the message
//! itself.
//!
//! The records wait in a ring of 16,384 slots in the shared memory
//! (`ring.rs`). A small message (most results are a few bytes) goes there
//! and nowhere else: `put` copies its record into the ring and `get` copies
//! it out, with no system call, which is what makes the queue fast. A longer
//! message's record holds only its length, and its bytes go through the pipe,
//! the kernel's byte stream between processes.
//!
//! Several processes put and several get at once, so two process-shared
//! locks (see `sync/raw_lock.rs`) keep messages whole and in order:
//!
//! - The **write lock** is held for the whole of a message, from its record
//!   to its last byte in the pipe. The kernel writes at most `PIPE_BUF` bytes
//!   (4096 on Linux) in one piece; the bytes of two bigger writes made at
//!   once can interleave, and the stream would be garbage. With the lock, a
//!   message's bytes are always together, in the order of the records.
//! - The **read lock** is held while one reader takes one whole message, so a
//!   message is never split between two readers.
//!
//! A reader that finds the ring empty lets go of the read lock and waits for
//! a record (looking a few times, then asleep on a futex), then tries again;
//! if another reader got the message first, it waits again. A writer that
//! finds the ring full waits for a slot in the same way, holding the write
//! lock. The pipe's ends are non-blocking: a reader waiting for the bytes
//! of a long message, or a writer for room, waits in `poll`.
//!
//! The queue's parts, one a file: its state in shared memory, with the two
//! locks (`control.rs`); the ring of records (`ring.rs`); moving one message
//! through them under the locks (`transfer.rs`); a message's bytes, with the codec's fast path for byte and
//! float vectors (`message.rs`); and [`TryPutError`], a `try_put` that found
//! the queue full (`try_put.rs`).

use std::fmt;
use std::fs::File;
use std::marker::PhantomData;
use std::os::fd::{AsFd, AsRawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, ErrorKind, Result};
use crate::inherit;
use crate::region::Region;
use crate::sys;

mod control;
mod message;
mod ring;
mod transfer;
mod try_put;

use self::control::Control;
use self::message::{decode, encode};
use self::ring::Slot;
pub use self::try_put::TryPutError;

/// The fixed record every message starts with.
const RECORD: usize = 60;
/// The record's first bytes: the message's length, a little-endian `u32`.
const LENGTH: usize = 4;
/// How much of a message fits in its record.
const INLINE: usize = RECORD - LENGTH;
/// The size a queue asks its pipe to have: a 1 MiB message then crosses in
/// two steps instead of seventeen. The kernel may refuse; see `sys::enlarge_pipe`.
pub(crate) const PIPE_SIZE: usize = 1 << 20;
/// How many bytes of a long message are read, or of a float vector turned
/// into bytes, at a time.
const QUEUE_CHUNK: usize = 64 << 10;
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
/// the order it put them. A clone is the same queue (the same memory and
/// pipe), not a copy of its contents.
///
/// # The trap: joining a producer before draining the queue
///
/// A queue holds a limited amount: 16,384 messages, and of the longer ones
/// what fits in its pipe (64 KiB by default on Linux; a queue asks the kernel
/// for 1 MiB, which it grants unless its limits say no). `put` returns only
/// once its whole message is in the queue. A process that puts more than the
/// room left waits until a reader makes room, so it cannot end until someone
/// `get`s. Joining it first deadlocks: the parent waits for the child, which
/// waits for the parent. Python documents the same trap ("joining processes
/// that use queues"). Small results, like the tutorial's, fit, and joining
/// first is safe; with big ones, or very many, `get` everything, then `join`.
///
/// # When `get` gives up instead of waiting forever
///
/// Python's `get()` on an empty queue waits forever if nobody puts. Here `get`
/// waits in slices of 50 ms, and after a slice with nothing to read it checks
/// whether anyone else could still put, by the crate's one rule: another
/// thread of this process, a child this process started that has not ended
/// (a producer or not, a pool's worker included), or, in a child, its parent.
/// If none is left, it looks in the queue one last time (a producer may have
/// put just before it ended) and then returns [`ErrorKind::QueueAbandoned`].
/// [`Queue::get_timeout`] never gives up early: it runs to its timeout, then
/// returns [`ErrorKind::QueueEmpty`], as Python raises `queue.Empty`.
///
/// `put` on a full queue gives up the same way: after a slice without room,
/// if nobody is left who could read, it returns [`ErrorKind::QueueUnread`]
/// rather than block forever (a child whose parent died would otherwise be
/// left behind, stuck). A small message was then not put at all; part of a
/// long one may be in the pipe, and the queue is broken afterwards (below).
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
    /// The two locks, the queue's state and its ring of records.
    control: Region<Control, Slot>,
    /// The largest message allowed, in bytes.
    max_message: u32,
    /// The pid of the process that closed the queue (`Queue::close`), 0 if
    /// none did. Only that process is barred: a forked child (another pid)
    /// can still use its copy, and a spawned child starts with 0.
    #[serde(skip)]
    closed_by: AtomicU32,
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
        let control = Region::new("Queue", ring::SLOTS, |_, _| {})?;
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
    /// Returns once the whole message is in the queue. If the queue is full, it
    /// waits until a reader makes room: see the trap in the type's docs.
    /// Errors: [`ErrorKind::QueueUnread`] if the queue is full and no other
    /// process is left to read; [`ErrorKind::MessageTooLarge`] if the serialized item is bigger
    /// than the queue's limit; [`ErrorKind::MessageTruncated`] if the queue is
    /// broken; [`ErrorKind::NotInStartArguments`] if the item holds a queue,
    /// a lock or shared memory.
    pub fn put(&self, item: T) -> Result<()> {
        self.check_open()?;
        self.send(&encode(&item)?, true)
    }

    /// Adds `item` at the back if there is room in the queue now (Python's
    /// `put_nowait`, and Rust's `try_send`); otherwise returns
    /// [`TryPutError::Full`] at once, with the item, as crossbeam's
    /// `TrySendError::Full` does: nothing is lost, and `?` turns it into an
    /// [`Error`] of kind [`ErrorKind::QueueFull`] (Python's `queue.Full`).
    ///
    /// "Room" is judged on the message's record (see the module's docs),
    /// which goes in whole or not at all. A message that fits in it (up to 56
    /// bytes serialized: most small values) is either put whole or refused.
    /// The bytes of a longer message then go through the pipe as with
    /// [`Queue::put`], waiting for room if need be: a message half in the
    /// queue cannot be taken back.
    ///
    /// It never waits for a reader to make room: while another `put` waits
    /// for room, the queue is full, and `try_put` is refused at once rather
    /// than wait behind it. It may wait a moment for another writer that is
    /// putting a message right now to finish.
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
        Ok(!self.control().ends.has_record(self.slots()))
    }

    /// How many items are in the queue right now (Python's `qsize()`): put,
    /// in any process, and not yet taken. Like Python's, the number can be
    /// out of date as soon as it is returned. A long message counts from the
    /// moment its first bytes are in, until a reader starts taking it.
    pub fn qsize(&self) -> usize {
        self.control().ends.len() as usize
    }

    /// Whether the queue is full right now (Python's `full()`), so that a
    /// [`Queue::put`] would wait and a [`Queue::try_put`] would be refused.
    /// Python's queues are unbounded unless given a `maxsize`; this one holds
    /// 16,384 messages (the records of the module's docs). The bytes of a
    /// long message go through the queue's pipe, and a `put` of one may also
    /// wait for room there (1 MiB when the kernel grants what the queue asks
    /// for, else 64 KiB, Linux's default).
    pub fn full(&self) -> Result<bool> {
        Ok(self.control().ends.len() as usize >= ring::SLOTS)
    }

    /// Says that this process will use the queue no more (Python's
    /// `close()`): from now on, `put`, `try_put`, `get` and `try_get` through
    /// any of this process's handles return [`ErrorKind::QueueClosed`]. Other
    /// processes, children forked afterwards included, go on using it. The
    /// pipe and the memory are let go in this process when its last handle is
    /// dropped.
    ///
    /// Python's `close` also stops the queue's feeder thread; this queue has
    /// none (a `put` puts the message in the queue itself), so there is
    /// nothing to flush and no `join_thread` to call.
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
        self.shared.control.header()
    }

    /// The ring's slots (see `ring.rs`).
    fn slots(&self) -> &[Slot] {
        self.shared.control.slots()
    }
}

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
        // Positions map to slots modulo `SLOTS` (see `ring.rs`).
        if shared.control.slots().len() != ring::SLOTS {
            return Err(serde::de::Error::custom(
                "a Queue's shared memory has the wrong number of record slots",
            ));
        }
        Ok(Queue {
            shared: Arc::new(shared),
            _items: PhantomData,
        })
    }
}
