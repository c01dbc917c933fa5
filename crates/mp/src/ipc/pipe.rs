//! A pipe with two ends, each a [`Connection`]: Python's `multiprocessing.Pipe()`.
//!
//! # How it works
//!
//! The two ends are the two sockets of a Unix `socketpair`, a byte stream in
//! each direction (Python uses one too). Messages are framed as in
//! `channel.rs`: four bytes of length, then the serialized value. Each end is
//! meant for one process at a time (several threads of it may share it: a
//! lock inside keeps their messages whole), which is why, unlike a `Queue`,
//! it needs no process-shared lock and costs one system call each way.
//!
//! Why a socket and not a plain pipe, even one-way? A write to a pipe nobody
//! reads any more raises `SIGPIPE`, which kills a process that has not set it
//! aside; a socket write can say "don't" (`MSG_NOSIGNAL`) and gets an error
//! instead.
//!
//! Every wait is made of slices of 50 ms, after each of which the waiter
//! checks whether anybody is left who could still send (or read): see
//! [`Connection::recv`].

use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::codec;
use crate::error::{Error, ErrorKind, Result};
use crate::inherit;
use crate::sync::wait::{SLICE, look_a_while, nobody_left};
use crate::sys;

/// The largest message, in bytes (after serialization): 1 GiB.
const MAX_MESSAGE: usize = 1 << 30;
/// The frame header: the message's length, a little-endian `u32`.
const LENGTH_PREFIX: usize = 4;
/// How much a read asks the kernel for at least.
const READ_CHUNK: usize = 16 * 1024;

use crate::sys::NO_SIGPIPE;

/// Makes a pipe and returns its two ends (Python's `Pipe(duplex)`).
///
/// With `duplex == true` both ends send and receive. With `false`, as in
/// Python, the first end only receives and the second only sends; the wrong
/// call on an end is an [`ErrorKind::InvalidArgument`].
///
/// ```
/// use mp::{Connection, Process};
///
/// fn job(conn: Connection<String>) {
///     let question = conn.recv().unwrap();
///     conn.send(format!("{question} -> pong")).unwrap();
/// }
///
/// fn main() -> mp::Result<()> {
///     mp::init();
///     let (parent_end, child_end) = mp::pipe(true)?;
///     let mut p = Process::new(job, child_end);
///     p.start()?;
///     parent_end.send("ping".to_owned())?;
///     assert_eq!(parent_end.recv()?, "ping -> pong");
///     p.join()?;
///     Ok(())
/// }
/// ```
#[doc(alias("Pipe"))]
pub fn pipe<T>(duplex: bool) -> Result<(Connection<T>, Connection<T>)> {
    let (a, b) = sys::socketpair().map_err(|e| Error::os("create a pipe (socketpair)", e))?;
    Ok((
        Connection::new(a, true, duplex),
        Connection::new(b, duplex, true),
    ))
}

/// One end of a [`pipe`]: Python's `multiprocessing.connection.Connection`.
///
/// Send values of `T` to the other end and receive the values it sends, in
/// order, each whole. A clone is another handle to the same end. Hand an
/// end to a process in its start arguments (fork or spawn); it cannot travel
/// inside a message.
///
/// # One process per end
///
/// As in Python, each end is for one process at a time. Two processes that
/// receive from the same end may each get part of a message, and the stream
/// is lost. (Threads of one process may share an end.) For many producers and
/// consumers, use a [`Queue`](crate::Queue).
///
/// # When `recv` gives up
///
/// `recv` returns [`ErrorKind::ConnectionClosed`] once the other end is
/// closed everywhere: [`Connection::close`]d or dropped by every process
/// that had it (a process that dies drops everything), or shut down
/// ([`Connection::shutdown`]). Beware: a forked child
/// gets a copy of everything its parent holds, both ends included, so the
/// other end stays open while any such copy lives.
///
/// So a waiting `recv` also checks, every 50 ms, whether anybody is left who
/// could send: another thread of this process, a child process it started
/// that is still running, or (in a child) its parent. If nobody is, it
/// returns [`ErrorKind::WaitAbandoned`] (see there for which processes count).
/// [`Connection::recv_timeout`] never gives up early: it runs to its timeout.
pub struct Connection<T> {
    inner: Arc<Inner>,
    _items: PhantomData<fn(T) -> T>,
}

#[derive(Serialize, Deserialize)]
struct Inner {
    socket: Socket,
    readable: bool,
    writable: bool,
    /// Bytes received and not yet handed out; taken by one receiver at a time.
    #[serde(skip)]
    incoming: Mutex<Incoming>,
    /// Taken by a sender for a whole message, so two threads' messages never mix.
    #[serde(skip)]
    sending: Mutex<()>,
    /// The process whose thread holds `sending`; 0 while nobody does (see
    /// [`Connection::lock_sending`]).
    #[serde(skip)]
    sender: AtomicU32,
}

/// Received bytes: `buf[start..end]` is what has not been handed out yet.
#[derive(Default)]
struct Incoming {
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Set once the stream lost its place between messages.
    broken: bool,
}

impl Incoming {
    fn pending(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// The length of the message at the front, once its header is in.
    fn next_len(&self) -> Option<usize> {
        let header = self.pending().get(..LENGTH_PREFIX)?;
        Some(u32::from_le_bytes(header.try_into().expect("4 bytes")) as usize)
    }

    /// How many bytes to make room for before the next read: the rest of the
    /// message at the front, but never more than the buffer already holds
    /// (and at least a chunk). The buffer grows by doubling as bytes really
    /// arrive, so a header that claims a huge message which never comes
    /// costs no huge allocation.
    fn next_want(&self) -> usize {
        let rest = self.next_len().map_or(READ_CHUNK, |len| {
            (LENGTH_PREFIX + len).saturating_sub(self.pending().len())
        });
        rest.min(self.buf.len().max(READ_CHUNK)).max(READ_CHUNK)
    }

    /// Makes room for at least `want` more bytes after `end`.
    fn reserve(&mut self, want: usize) {
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        }
        if self.buf.len() - self.end < want {
            self.buf.copy_within(self.start..self.end, 0);
            (self.start, self.end) = (0, self.end - self.start);
            if self.buf.len() - self.end < want {
                self.buf.resize(self.end + want, 0);
            }
        }
    }
}

impl<T> Clone for Connection<T> {
    fn clone(&self) -> Self {
        Connection {
            inner: Arc::clone(&self.inner),
            _items: PhantomData,
        }
    }
}

impl<T> Connection<T> {
    fn new(fd: OwnedFd, readable: bool, writable: bool) -> Self {
        Connection {
            inner: Arc::new(Inner {
                socket: Socket(fd),
                readable,
                writable,
                incoming: Mutex::default(),
                sending: Mutex::default(),
                sender: AtomicU32::new(0),
            }),
            _items: PhantomData,
        }
    }

    /// Closes this process's handle on this end (Python's `close()`): this
    /// handle and its clones in this process can no longer send or receive
    /// (they get [`ErrorKind::ConnectionClosed`]). Other processes that hold
    /// the end, a child it was handed to, go on using it; once none is left,
    /// the other end's `recv` returns [`ErrorKind::ConnectionClosed`] after
    /// the messages already sent.
    ///
    /// The usual use is Python's: right after `start()`, the parent closes
    /// its copy of the end it gave the child, so that its own `recv` sees the
    /// end of the stream when the child ends.
    ///
    /// ```
    /// fn job(conn: mp::Connection<u32>) {
    ///     conn.send(7).unwrap();
    /// }
    ///
    /// fn main() -> mp::Result<()> {
    ///     mp::init();
    ///     let (parent_end, child_end) = mp::pipe(true)?;
    ///     let mut p = mp::Process::new(job, child_end.clone());
    ///     p.start()?;
    ///     child_end.close(); // the child still holds its own
    ///     assert_eq!(parent_end.recv()?, 7);
    ///     p.join()?;
    ///     assert!(parent_end.recv().is_err()); // nobody holds the other end now
    ///     Ok(())
    /// }
    /// ```
    pub fn close(self) {
        // The descriptor is shared by this handle's clones in this process:
        // it is made to refer to a socket whose peer is already gone, so that
        // they all see the end closed, and this process lets go of the real
        // one. (If that cannot be made, dropping the handle is all there is.)
        if let Ok((dead, peer)) = sys::socketpair() {
            drop(peer);
            let _ = sys::redirect_fd(self.inner.socket.0.as_fd(), dead.as_fd());
        }
    }

    /// Shuts this end down for every process that holds it, at once: the
    /// other end's `recv` returns [`ErrorKind::ConnectionClosed`] after the
    /// messages already sent, and its `send` does too, however many copies of
    /// this end are still open. Python has no such call (its `close()` is
    /// [`Connection::close`]); it is the socket's `shutdown`.
    pub fn shutdown(self) {
        // SAFETY: shutdown only changes the state of the socket behind a
        // descriptor we own and keep open for the call.
        unsafe { libc::shutdown(self.inner.socket.0.as_raw_fd(), libc::SHUT_RDWR) };
    }
}

impl<T: Serialize + DeserializeOwned> Connection<T> {
    /// Sends `item` to the other end (Python's `send`). It returns once the
    /// message is in the kernel's buffer; if the buffer is full, it waits for
    /// the other end to read.
    ///
    /// Errors: [`ErrorKind::ConnectionClosed`] if the other end is closed;
    /// [`ErrorKind::WaitAbandoned`] if the buffer stays full and nobody is left
    /// who could read; [`ErrorKind::MessageTooLarge`] past 1 GiB;
    /// [`ErrorKind::InvalidArgument`] on the receiving end of a one-way pipe;
    /// [`ErrorKind::Unsupported`] in a child forked while another thread of
    /// its parent was sending on this end (its message is not finished).
    pub fn send(&self, item: T) -> Result<()> {
        if !self.inner.writable {
            return Err(ErrorKind::InvalidArgument(
                "send on the receiving end of a one-way pipe: pipe(false) returns \
                 (receiving end, sending end)",
            )
            .into());
        }
        let bytes = codec::to_bytes(&item)?;
        if bytes.len() > MAX_MESSAGE {
            return Err(ErrorKind::MessageTooLarge {
                len: bytes.len(),
                max: MAX_MESSAGE,
            }
            .into());
        }
        let mut frame = Vec::with_capacity(LENGTH_PREFIX + bytes.len());
        frame.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        frame.extend_from_slice(&bytes);
        let _sending = self.lock_sending()?;
        self.write_all(&frame)
    }

    /// Takes the sending lock, for one whole message.
    ///
    /// A sender holds it while it waits for room in the buffer, which may be
    /// long. If this process was forked meanwhile, by another thread, its
    /// copy of the lock stays held forever: the holder is not here. Waiting
    /// for it would hang, and sending anyway would put this message in the
    /// middle of that one, which the parent's thread is still sending on the
    /// same socket. So that is an error. (Forked in the instant between a
    /// sender taking the lock and writing its pid, a child still waits.)
    fn lock_sending(&self) -> Result<Sending<'_>> {
        let guard = match self.inner.sending.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => {
                let holder = self.inner.sender.load(Ordering::Relaxed);
                if holder != 0 && holder != sys::pid() {
                    return Err(ErrorKind::Unsupported(
                        "send on a pipe end that another thread was sending on when this \
                         process was forked: the rest of that message is not this process's \
                         to send. Pass each process its own end, or fork before sending",
                    )
                    .into());
                }
                lock(&self.inner.sending)
            }
        };
        self.inner.sender.store(sys::pid(), Ordering::Relaxed);
        Ok(Sending {
            _guard: guard,
            sender: &self.inner.sender,
        })
    }

    fn write_all(&self, mut bytes: &[u8]) -> Result<()> {
        let fd = self.inner.socket.0.as_fd();
        while !bytes.is_empty() {
            // SAFETY: `bytes` is a valid slice for reads of its length, and the
            // descriptor is open while `self` lives.
            let ret = unsafe {
                libc::send(
                    fd.as_raw_fd(),
                    bytes.as_ptr().cast(),
                    bytes.len(),
                    NO_SIGPIPE | libc::MSG_DONTWAIT,
                )
            };
            if ret >= 0 {
                bytes = &bytes[ret as usize..];
                continue;
            }
            let err = io::Error::last_os_error();
            match err.kind() {
                io::ErrorKind::Interrupted => {}
                io::ErrorKind::WouldBlock => {
                    let room = sys::poll_writable(fd, SLICE)
                        .map_err(|e| Error::os("wait on a pipe", e))?;
                    if !room && nobody_left() {
                        return Err(ErrorKind::WaitAbandoned {
                            what: "Connection::send",
                        }
                        .into());
                    }
                }
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => {
                    return Err(ErrorKind::ConnectionClosed.into());
                }
                _ => return Err(Error::os("send on a pipe", err)),
            }
        }
        Ok(())
    }

    /// Waits for the next message and returns it (Python's `recv`).
    ///
    /// Errors: [`ErrorKind::ConnectionClosed`] when the other end is closed
    /// and every message sent before has been received;
    /// [`ErrorKind::WaitAbandoned`] when nobody is left who could send (see
    /// the type's docs); [`ErrorKind::MessageTruncated`] if the sender died
    /// halfway through a message; [`ErrorKind::InvalidArgument`] on the
    /// sending end of a one-way pipe.
    pub fn recv(&self) -> Result<T> {
        self.receive(None)
    }

    /// Like [`Connection::recv`], but waits at most `timeout` for a message to
    /// start arriving; then returns [`ErrorKind::Timeout`]. A message that has
    /// started to arrive is read to its end.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T> {
        self.receive(Some(timeout))
    }

    /// Whether a message (or the end of the stream) is there to receive,
    /// waiting at most `timeout` for one (Python's `poll(timeout)`;
    /// `Duration::ZERO` only looks).
    pub fn poll(&self, timeout: Duration) -> Result<bool> {
        self.check_readable()?;
        if !lock(&self.inner.incoming).pending().is_empty() {
            return Ok(true);
        }
        let [ready] = sys::poll_readable([self.inner.socket.0.as_fd()], Some(timeout))
            .map_err(|e| Error::os("wait on a pipe", e))?;
        Ok(ready)
    }

    fn check_readable(&self) -> Result<()> {
        if self.inner.readable {
            Ok(())
        } else {
            Err(ErrorKind::InvalidArgument(
                "receive on the sending end of a one-way pipe: pipe(false) returns \
                 (receiving end, sending end)",
            )
            .into())
        }
    }

    fn receive(&self, timeout: Option<Duration>) -> Result<T> {
        self.check_readable()?;
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut idle_since = Instant::now();
        // Whether this wait has looked a while for bytes before sleeping.
        let mut looked = false;
        loop {
            // The buffer's lock is held only while bytes are taken or read,
            // never while waiting: a child forked while another thread waits
            // here gets the lock free (a copy of a held one would stay held
            // forever, its holder not being in the child).
            let mut incoming = lock(&self.inner.incoming);
            if incoming.broken {
                return Err(ErrorKind::MessageTruncated.into());
            }
            if let Some(len) = incoming.next_len() {
                if len > MAX_MESSAGE {
                    incoming.broken = true;
                    return Err(ErrorKind::MessageTruncated.into());
                }
                if incoming.pending().len() >= LENGTH_PREFIX + len {
                    let body = LENGTH_PREFIX + incoming.start..LENGTH_PREFIX + incoming.start + len;
                    incoming.start = body.end;
                    return codec::from_bytes(&incoming.buf[body]);
                }
            }
            let started = !incoming.pending().is_empty();
            let want = incoming.next_want();
            match self.read_some(&mut incoming, want) {
                Ok(0) if started => {
                    incoming.broken = true;
                    return Err(ErrorKind::MessageTruncated.into());
                }
                Ok(0) => return Err(ErrorKind::ConnectionClosed.into()),
                Ok(_) => {
                    looked = false;
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                    return Err(ErrorKind::ConnectionClosed.into());
                }
                Err(e) => return Err(Error::os("receive on a pipe", e)),
            }
            drop(incoming);
            // Nothing to read now. Before a message starts, the timeout
            // counts; once one has started, it is read to its end.
            let slice = match deadline {
                Some(deadline) if !started => {
                    match deadline.checked_duration_since(Instant::now()) {
                        Some(left) if !left.is_zero() => left.min(SLICE),
                        _ => {
                            return Err(ErrorKind::Timeout {
                                what: "Connection::recv",
                                after: timeout.unwrap_or_default(),
                            }
                            .into());
                        }
                    }
                }
                _ => SLICE,
            };
            // An answer often comes within microseconds: look for it a while
            // before sleeping (see `wait::look_a_while`).
            let socket = self.inner.socket.0.as_fd();
            if !looked {
                looked = true;
                if look_a_while(|| sys::has_bytes(socket)) {
                    continue;
                }
            }
            let [ready] = sys::poll_readable([socket], Some(slice))
                .map_err(|e| Error::os("wait on a pipe", e))?;
            // Only a `recv` without a timeout gives up early (see `sync/wait.rs`).
            if ready {
                idle_since = Instant::now();
            } else if deadline.is_none() && idle_since.elapsed() >= SLICE && nobody_left() {
                // A sender may have sent just before it ended: look once more.
                let mut incoming = lock(&self.inner.incoming);
                let want = incoming.next_want();
                match self.read_some(&mut incoming, want) {
                    Ok(n) if n > 0 => continue,
                    _ if !incoming.pending().is_empty() => {
                        incoming.broken = true;
                        return Err(ErrorKind::MessageTruncated.into());
                    }
                    _ => {
                        return Err(ErrorKind::WaitAbandoned {
                            what: "Connection::recv",
                        }
                        .into());
                    }
                }
            }
        }
    }

    /// Reads what is there now, up to `want` bytes, without waiting.
    fn read_some(&self, incoming: &mut Incoming, want: usize) -> io::Result<usize> {
        incoming.reserve(want);
        let end = incoming.end;
        let room = &mut incoming.buf[end..];
        // SAFETY: `room` is a valid, writable slice of its length, and the
        // descriptor is open while `self` lives.
        let ret = unsafe {
            libc::recv(
                self.inner.socket.0.as_raw_fd(),
                room.as_mut_ptr().cast(),
                room.len(),
                libc::MSG_DONTWAIT,
            )
        };
        if ret < 0 {
            return Err(io::Error::last_os_error());
        }
        incoming.end += ret as usize;
        Ok(ret as usize)
    }
}

/// Locks a mutex that a panicking thread may have poisoned: the data inside
/// (a buffer, or nothing) stays consistent, or is marked broken.
/// Holding a connection's sending lock (see [`Connection::lock_sending`]).
struct Sending<'a> {
    _guard: MutexGuard<'a, ()>,
    sender: &'a AtomicU32,
}

impl Drop for Sending<'_> {
    fn drop(&mut self) {
        // Before the guard (a field) lets go of the lock.
        self.sender.store(0, Ordering::Relaxed);
    }
}

fn lock<G>(mutex: &Mutex<G>) -> MutexGuard<'_, G> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<T> fmt::Debug for Connection<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("fd", &self.inner.socket.0.as_raw_fd())
            .field("readable", &self.inner.readable)
            .field("writable", &self.inner.writable)
            .finish()
    }
}

/// An end's socket. It serializes only into a spawned child's start
/// arguments, as the number of a descriptor the child inherits (see `inherit.rs`).
struct Socket(OwnedFd);

impl Serialize for Socket {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        inherit::serialize_fd(self.0.as_raw_fd(), "Connection", s)
    }
}

impl<'de> Deserialize<'de> for Socket {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        inherit::deserialize_fd(d).map(Socket)
    }
}

impl<T> Serialize for Connection<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.inner.serialize(s)
    }
}

impl<'de, T> Deserialize<'de> for Connection<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Connection {
            inner: Arc::new(Inner::deserialize(d)?),
            _items: PhantomData,
        })
    }
}
