//! One error type for the whole crate, with messages written for a learner:
//! what went wrong, in which process, and what to do next.

use std::fmt;
use std::io;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use crate::process::ExitStatus;

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in this crate.
///
/// `Display` says what happened and what to try; [`Error::kind`] lets a program
/// react to one case (a timeout, say) without parsing text.
///
/// Its `Debug` output is the same text, because that is what Rust prints when
/// `main` returns an error: `fn main() -> mp::Result<()>` then tells the
/// learner what happened in words, not as a struct dump.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    /// The process in which the error was noticed.
    pid: u32,
}

/// What went wrong: the cases a program may want to tell apart. Like
/// `std::io::ErrorKind`, it can be cloned and compared:
/// `assert_eq!(err.kind(), &ErrorKind::QueueEmpty)`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A system call failed; `what` says what the crate was trying to do.
    Os {
        /// What the crate was doing, e.g. "create a pipe for a Queue".
        what: &'static str,
        /// The operating system's error (an [`io::Error`], which it derefs to).
        source: OsError,
    },
    /// A value could not be turned into bytes to cross to another process.
    Serialize(String),
    /// Bytes from another process could not be turned back into a value.
    Deserialize(String),
    /// The spawn start method needs `mp::init()` to run first in `main`.
    InitNotCalled,
    /// `join` or `terminate` on a process that was never started.
    NotStarted {
        /// The process's name.
        name: String,
    },
    /// `start` called twice on the same process.
    AlreadyStarted {
        /// The process's name.
        name: String,
    },
    /// Waited longer than allowed: Python's `multiprocessing.TimeoutError`
    /// (`AsyncResult::get_timeout`), and `Connection::recv_timeout`, for
    /// which Python has no call. A queue's timed `get` gives
    /// [`ErrorKind::QueueEmpty`] instead, as Python raises `queue.Empty`.
    Timeout {
        /// What was being waited for, e.g. "Queue::get".
        what: &'static str,
        /// How long we waited.
        after: Duration,
    },
    /// A pool task panicked in a worker process.
    TaskPanicked {
        /// The worker that ran the task.
        pid: u32,
        /// The panic message.
        message: String,
    },
    /// A pool worker died (killed, aborted) while running a task.
    WorkerDied {
        /// The worker that died.
        pid: u32,
        /// How it ended.
        status: ExitStatus,
    },
    /// A spawned child ended before it had read its start arguments: its
    /// program did not reach `mp::init()`, or died on the way.
    ChildDiedAtStart {
        /// The child, now reaped.
        pid: u32,
        /// How it ended.
        status: ExitStatus,
    },
    /// `Queue::get` (without a timeout) found the queue empty and no process
    /// left that could put on it, by the rule of [`ErrorKind::WaitAbandoned`].
    QueueAbandoned,
    /// `Queue::put` found the queue's pipe full and no process left that
    /// could read from it, so the put could never finish.
    QueueUnread,
    /// A message on a `Queue` or a pipe was cut off or malformed: a process
    /// died halfway through writing or reading it, or bytes that are not a
    /// message came down the stream, so it no longer knows where messages
    /// start. It stays broken: every later `get`/`put` (`recv`) says so.
    MessageTruncated,
    /// A message is larger than a queue or pipe accepts.
    MessageTooLarge {
        /// The message's size in bytes.
        len: usize,
        /// The largest size allowed.
        max: usize,
    },
    /// The pool was closed or terminated: it takes no more work, and the
    /// tasks it had not finished when terminated or dropped were cancelled.
    PoolClosed,
    /// An argument that can never work, such as a pool of zero processes;
    /// the text says which and what to pass instead.
    InvalidArgument(&'static str),
    /// The previous holder of a lock died while holding it.
    OwnerDied {
        /// The process that died holding the lock, or `None` when it died in
        /// the instant of taking or releasing it, before its pid could be
        /// written or after it was cleared.
        pid: Option<u32>,
    },
    /// An index past the end of a shared `Array`.
    IndexOutOfRange {
        /// The index asked for.
        index: usize,
        /// The array's length.
        len: usize,
    },
    /// An object that lives in shared memory (a `Queue`, `Value`, `Lock`, …) was
    /// serialized anywhere but in a process's start arguments.
    NotInStartArguments {
        /// The type, e.g. "Queue".
        what: &'static str,
    },
    /// Something this platform cannot do.
    Unsupported(&'static str),
    /// `Queue::try_get` found nothing to take right now, or
    /// `Queue::get_timeout` nothing before its timeout: Python's `queue.Empty`,
    /// which both raise.
    QueueEmpty,
    /// `Queue::try_put` found no room in the queue's pipe right now (Python's
    /// `queue.Full`).
    QueueFull,
    /// This process closed the queue (`Queue::close`): it can no longer put
    /// or get through it.
    QueueClosed,
    /// `JoinableQueue::task_done` was called more times than items were put
    /// (Python's `ValueError`).
    TaskDoneTooOften,
    /// A pool's initializer failed (panicked) in a worker, so that worker
    /// runs no task: each task given to it fails with this error.
    InitializerFailed {
        /// The worker whose initializer failed.
        pid: u32,
        /// The panic message.
        message: String,
    },
    /// A wait without a timeout gave up because nobody is left who could end
    /// it: no other thread in this process, no child it started still running
    /// (a pool's workers count), and (in a child) no parent. `what` names the
    /// wait, e.g. "Event::wait". A wait with a timeout never gives up early:
    /// it runs to its timeout. Where Python would hang, this is returned
    /// instead.
    WaitAbandoned {
        /// The call that was waiting.
        what: &'static str,
    },
    /// A thread asked for a lock it already holds: waiting would never end.
    AlreadyHeld {
        /// The call that asked, e.g. "Array::get".
        what: &'static str,
        /// The call that holds the lock, e.g. "Array::lock".
        held_by: &'static str,
    },
    /// The other end of a pipe was closed, or every process that had it ended.
    ConnectionClosed,
    /// A `Barrier` was broken: a party timed out, died, or called `abort`.
    BrokenBarrier,
    /// A `BoundedSemaphore` was released more times than it was acquired.
    ReleasedTooOften {
        /// The semaphore's bound (its initial value).
        bound: usize,
    },
    /// A thread released a semaphore bare, right after a guard of that
    /// semaphore it held was dropped: that guard gave the permit back already
    /// (Python's `acquire(); ...; release()`, ported word for word).
    ReleasedByItsGuard,
}

/// The operating system's error in an [`ErrorKind::Os`]: an [`io::Error`]
/// (it derefs to one) that can be cloned and compared, so that `ErrorKind`
/// can be. Two are equal when they carry the same error number, or, without
/// one, the same [`io::ErrorKind`].
#[derive(Clone)]
pub struct OsError(Arc<io::Error>);

impl Deref for OsError {
    type Target = io::Error;

    fn deref(&self) -> &io::Error {
        &self.0
    }
}

impl From<io::Error> for OsError {
    fn from(error: io::Error) -> OsError {
        OsError(Arc::new(error))
    }
}

impl PartialEq for OsError {
    fn eq(&self, other: &OsError) -> bool {
        match (self.raw_os_error(), other.raw_os_error()) {
            (Some(ours), Some(theirs)) => ours == theirs,
            (None, None) => self.kind() == other.kind(),
            _ => false,
        }
    }
}

impl Eq for OsError {}

impl fmt::Debug for OsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for OsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl Error {
    /// Makes an error of the given kind, noticed in the current process.
    pub fn new(kind: ErrorKind) -> Self {
        Error {
            kind,
            pid: std::process::id(),
        }
    }

    /// A system call failed while the crate was doing `what`.
    pub(crate) fn os(what: &'static str, source: io::Error) -> Self {
        Error::new(ErrorKind::Os {
            what,
            source: source.into(),
        })
    }

    /// The last OS error (`errno`), while doing `what`.
    pub(crate) fn last_os(what: &'static str) -> Self {
        Error::os(what, io::Error::last_os_error())
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The process in which the error was noticed.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Whether this is a [`ErrorKind::Timeout`].
    pub fn is_timeout(&self) -> bool {
        matches!(self.kind, ErrorKind::Timeout { .. })
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Error::new(kind)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pid = self.pid;
        match &self.kind {
            ErrorKind::Os { what, source } => {
                write!(f, "process {pid} could not {what}: {source}")?;
                // Only a limit's errors get the hint: a broken pipe or a refused
                // permission has nothing to do with ulimit.
                match source.raw_os_error() {
                    Some(libc::EMFILE | libc::ENFILE) => write!(
                        f,
                        "; too many open files: check the system's limit (ulimit -n)"
                    ),
                    Some(libc::EAGAIN) => write!(
                        f,
                        "; check the system's limits (ulimit -u for processes, \
                         ulimit -n for open files)"
                    ),
                    _ => Ok(()),
                }
            }
            ErrorKind::Serialize(msg) => write!(
                f,
                "process {pid} could not serialize a value to send it to another process: {msg}"
            ),
            ErrorKind::Deserialize(msg) => write!(
                f,
                "process {pid} received bytes it could not turn back into a value: {msg}; \
                 both sides must agree on the type (Queue<T>, fn(A) -> R)"
            ),
            ErrorKind::InitNotCalled => write!(
                f,
                "the spawn start method re-runs this program, so `mp::init()` must be the first \
                 line of `main` (it is Rust's `if __name__ == '__main__'`); add it and run again"
            ),
            ErrorKind::NotStarted { name } => {
                write!(f, "process '{name}' was never started: call start() first")
            }
            ErrorKind::AlreadyStarted { name } => write!(
                f,
                "process '{name}' was already started: a process starts once; make a new one"
            ),
            ErrorKind::Timeout { what, after } => {
                write!(f, "{what} timed out after {after:?} in process {pid}")
            }
            ErrorKind::TaskPanicked { pid, message } => {
                write!(f, "the task panicked in worker process {pid}: {message}")
            }
            ErrorKind::WorkerDied { pid, status } => write!(
                f,
                "worker process {pid} {status} while running this task; \
                 the pool replaced it and goes on"
            ),
            ErrorKind::ChildDiedAtStart { pid: child, status } => write!(
                f,
                "spawned child process {child} {status} before it read what to run; a spawned \
                 child runs this program's `main` again, which must call `mp::init()` first, \
                 before anything that could exit or fail"
            ),
            ErrorKind::QueueAbandoned => write!(
                f,
                "Queue::get in process {pid}: the queue is empty and every process that could put \
                 on it has ended, so nothing can arrive; did a producer die before putting?"
            ),
            ErrorKind::QueueUnread => write!(
                f,
                "Queue::put in process {pid}: the queue is full and every process that could get \
                 from it has ended, so there will never be room; did the reader die?"
            ),
            ErrorKind::MessageTruncated => write!(
                f,
                "process {pid} found a message on a Queue or pipe cut off or malformed: a \
                 process died halfway through writing or reading it (or wrote bytes that are \
                 not a message), so the stream can no longer tell where messages start; make a \
                 new Queue or pipe"
            ),
            ErrorKind::MessageTooLarge { len, max } => write!(
                f,
                "a message of {len} bytes is too large (the limit is {max} bytes); \
                 send it in smaller pieces, or put large data in a shared Array"
            ),
            ErrorKind::PoolClosed => write!(
                f,
                "the pool was closed or terminated: it takes no new work, and a task it had not \
                 finished when it was terminated or dropped is cancelled; make a new Pool"
            ),
            ErrorKind::InvalidArgument(what) => write!(f, "{what}"),
            ErrorKind::OwnerDied { pid: Some(owner) } => write!(
                f,
                "process {owner} died while holding a lock that process {pid} then took; \
                 the data it guarded may be half-updated: check it before going on"
            ),
            ErrorKind::OwnerDied { pid: None } => write!(
                f,
                "a process (which one is unknown: it died just as it took or released the lock) \
                 died while holding a lock that process {pid} then took; \
                 the data it guarded may be half-updated: check it before going on"
            ),
            ErrorKind::IndexOutOfRange { index, len } => write!(
                f,
                "index {index} is out of range for a shared Array of length {len}"
            ),
            ErrorKind::NotInStartArguments { what } => write!(
                f,
                "a {what} lives in shared memory and can only be handed to a process in its start \
                 arguments (Process::new or Pool), not sent through a Queue or a pool task"
            ),
            ErrorKind::Unsupported(what) => write!(f, "not supported on this platform: {what}"),
            ErrorKind::QueueEmpty => write!(
                f,
                "the queue was empty for process {pid}: Queue::try_get found nothing right now, \
                 or Queue::get_timeout nothing before its timeout (Python's queue.Empty); \
                 use get() to wait for an item, or a longer timeout"
            ),
            ErrorKind::QueueFull => write!(
                f,
                "Queue::try_put in process {pid}: the queue's pipe has no room right now; \
                 use put() to wait until a reader makes room"
            ),
            ErrorKind::QueueClosed => write!(
                f,
                "process {pid} closed this queue (Queue::close), so it can no longer put or get \
                 through it; other processes still can"
            ),
            ErrorKind::TaskDoneTooOften => write!(
                f,
                "JoinableQueue::task_done in process {pid} was called more times than items were \
                 put: call it once for each item taken with get, and only then"
            ),
            ErrorKind::InitializerFailed { pid, message } => write!(
                f,
                "the pool's initializer failed in worker process {pid}, so that worker runs no \
                 task: {message}; fix the initializer (it runs once in every worker)"
            ),
            ErrorKind::WaitAbandoned { what } => write!(
                f,
                "{what} in process {pid} gave up: nothing had woken it, and nobody is left who \
                 could (no other thread here, no child process still running, no parent); \
                 did the process that should have woken it die first?"
            ),
            ErrorKind::AlreadyHeld { what, held_by } => write!(
                f,
                "{what} in process {pid}: this thread already holds the lock, taken by \
                 {held_by} and not released yet, so waiting for it would never end; use the \
                 guard that {held_by} returned, or drop it first"
            ),
            ErrorKind::ConnectionClosed => write!(
                f,
                "process {pid} found the other end of its pipe closed: the process holding it \
                 closed it or ended, so nothing more can be sent or received"
            ),
            ErrorKind::BrokenBarrier => write!(
                f,
                "the barrier is broken (seen in process {pid}): a party timed out, died or called \
                 abort, so the parties will never all arrive; make a new Barrier"
            ),
            ErrorKind::ReleasedByItsGuard => write!(
                f,
                "Semaphore::release in process {pid}: this thread's last guard of this semaphore \
                 already gave its permit back when it was dropped, so this release would add a \
                 permit nobody took. Keep the guard (`let permit = sem.acquire()?;` ... \
                 `drop(permit);`) instead of calling release(), or call `permit.forget()` first"
            ),
            ErrorKind::ReleasedTooOften { bound } => write!(
                f,
                "a BoundedSemaphore of {bound} was released more times than it was acquired \
                 (in process {pid}); every release must match an acquire"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::Os { source, .. } => Some(&**source),
            _ => None,
        }
    }
}

/// The text of a panic's payload.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic without a message)".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os_error(errno: i32) -> String {
        Error::os(
            "create a pipe for a Queue",
            io::Error::from_raw_os_error(errno),
        )
        .to_string()
    }

    #[test]
    fn error_kinds_can_be_cloned_and_compared() {
        let os = |errno| ErrorKind::Os {
            what: "create a pipe",
            source: io::Error::from_raw_os_error(errno).into(),
        };
        assert_eq!(os(libc::EMFILE).clone(), os(libc::EMFILE));
        assert_ne!(os(libc::EMFILE), os(libc::EPIPE));
        assert_eq!(ErrorKind::QueueEmpty, ErrorKind::QueueEmpty);
        assert_ne!(ErrorKind::QueueEmpty, ErrorKind::QueueFull);
        let panicked = Error::new(ErrorKind::TaskPanicked {
            pid: 7,
            message: "boom".to_owned(),
        });
        assert_eq!(panicked.clone().kind(), panicked.kind());
    }

    #[test]
    fn the_ulimit_hint_goes_only_with_the_errors_of_a_limit() {
        assert!(os_error(libc::EMFILE).contains("ulimit -n"));
        assert!(os_error(libc::ENFILE).contains("ulimit -n"));
        assert!(os_error(libc::EAGAIN).contains("ulimit -u"));
        for errno in [libc::EPIPE, libc::EPERM, libc::EINVAL] {
            let message = os_error(errno);
            assert!(!message.contains("ulimit"), "{message}");
            assert!(
                message.contains("could not create a pipe for a Queue"),
                "{message}"
            );
        }
    }
}
