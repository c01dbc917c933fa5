//! The worker's side of the pool: what each worker process runs, and the
//! messages it exchanges with the parent.
//!
//! A worker waits for an order on its task pipe, runs the task, and sends
//! its results back, in one or more frames, as they come; then it waits for
//! the next order. It runs one task at a time and answers in order, so the
//! parent always knows which task a worker is on.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::init::InitSpec;
use crate::codec;
use crate::error::panic_message;
use crate::error::{Error, ErrorKind, Result};
use crate::ipc::channel::{FrameReader, FrameWriter, MAX_FRAME};
use crate::process;
use crate::process::function::{self, Discard, Output, RemoteFn};
use crate::sync::wait::look_a_while;
use crate::{inherit, sys};

/// What the parent tells a worker: a frame's head. A `Run` frame's payload is
/// the task's input.
#[derive(Serialize, Deserialize)]
pub(super) enum Order {
    Run(RemoteFn),
    Stop,
}

/// How a worker answers a `Run`, in a frame's head: some `Values` and `Raw`
/// frames as the results come, then `Done`, or one of the failures, which
/// ends the task too (any results sent before it are void).
#[derive(Serialize, Deserialize)]
pub(super) enum Reply {
    /// `count` results, serialized back to back in the frame's payload.
    Values(usize),
    /// One result's raw bytes in the frame's payload (a big `Vec<u8>` or
    /// `Vec<f64>`: see `batch.rs`).
    Raw,
    /// The task is done: the payload holds its last `count` results; these
    /// items (by position) panicked.
    Done {
        count: usize,
        panics: Vec<(usize, String)>,
    },
    /// The task panicked outside any one item (say, serializing a result).
    Panicked(String),
    Serialize(String),
    Deserialize(String),
    TooLarge(u64),
    /// The pool's initializer failed in this worker, which runs no task.
    InitFailed(String),
}

/// A worker's start arguments: its ends of its two pipes. With spawn, the
/// descriptors travel by number (see `inherit.rs`).
#[derive(Serialize, Deserialize)]
pub(super) struct WorkerArgs {
    #[serde(serialize_with = "serialize_pipe")]
    #[serde(deserialize_with = "inherit::deserialize_fd")]
    pub(super) tasks: OwnedFd,
    #[serde(serialize_with = "serialize_pipe")]
    #[serde(deserialize_with = "inherit::deserialize_fd")]
    pub(super) results: OwnedFd,
    /// The socket that big results take (see `FrameWriter::with_bulk`).
    #[serde(serialize_with = "serialize_pipe")]
    #[serde(deserialize_with = "inherit::deserialize_fd")]
    pub(super) bulk: OwnedFd,
    /// The parent's descriptors that a forked worker has copies of and must
    /// close. Never serialized: a spawned worker inherits none of them (they
    /// are closed on `exec`), and their numbers would mean nothing there.
    #[serde(skip)]
    pub(super) inherited: Vec<RawFd>,
    /// The pool's initializer and its argument, to run once before the
    /// first task (see `init.rs`).
    pub(super) init: Option<InitSpec>,
}

fn serialize_pipe<S: serde::Serializer>(fd: &OwnedFd, s: S) -> Result<S::Ok, S::Error> {
    inherit::serialize_fd(fd.as_raw_fd(), "Pool worker's pipe", s)
}

/// How often an idle worker checks that its pool's process is still alive,
/// where it cannot watch it (no pidfd: see [`watch_parent`]).
const PARENT_CHECK: Duration = Duration::from_secs(1);

/// A worker's life: run tasks until told to stop, or until the pool's
/// process is gone.
pub(super) fn worker_main(args: WorkerArgs) {
    for &fd in &args.inherited {
        // SAFETY: a forked child has copies of the parent's descriptors; these
        // belong to the parent's `Worker`s, whose copies in this process are
        // never used or dropped (a forked child ends with `_exit`), so closing
        // the numbers here pulls them from under nobody.
        unsafe { libc::close(fd) };
    }
    // A panicking task is reported to the parent, which turns it into the
    // error of that task's `get`. Printing it here as well, with a backtrace
    // (RUST_BACKTRACE=1), would be noise, and capturing that backtrace is slow.
    panic::set_hook(Box::new(|_| {}));
    let init_failed = args.init.and_then(|init| initialize(init.prepare()));

    let mut tasks = FrameReader::new(args.tasks, None);
    let parent = watch_parent();
    let mut pipe = FrameWriter::with_bulk(args.results, args.bulk);
    if let Some(parent) = &parent {
        // Unwatched, a result bigger than the channel holds would wait for
        // ever for a parent that died, should a process it forked after
        // starting this worker hold the channel's reading ends.
        let _ = pipe.watch(Arc::clone(parent));
    }
    let mut results = ToParent {
        pipe,
        head: Vec::new(),
        broken: false,
    };
    while parent_alive_while_waiting(&tasks, parent.as_deref()) {
        // End of file: the parent closed the pipe, or died.
        let Ok(Some(frame)) = tasks.recv() else {
            break;
        };
        let Ok(Order::Run(function)) = postcard::from_bytes::<Order>(frame.head) else {
            break; // a stop order (or a garbled frame: only a bug makes one)
        };
        let failure = match &init_failed {
            None => run_task(function, &frame.payload, &mut results),
            Some(message) => Some(Reply::InitFailed(message.clone())),
        };
        if let Some(failure) = failure {
            let _ = results.send(&failure, &[]);
        }
        // Should the pool's process be gone, a write fails with EPIPE rather
        // than killing the worker by SIGPIPE: it ends as it should.
        if results.broken {
            break; // nobody reads the results any more: the parent has gone
        }
        // Lines a task printed show up now, not when the worker ends.
        let _ = std::io::Write::flush(&mut std::io::stdout());
    }
}

/// The worker's end of its result channel, as a task's [`Output`]: each
/// piece of results goes to the parent as one frame, at once.
struct ToParent {
    pipe: FrameWriter,
    /// The last frame's head, encoded: the next one reuses its room.
    head: Vec<u8>,
    /// A write failed: the parent is gone.
    broken: bool,
}

impl ToParent {
    fn send(&mut self, reply: &Reply, payload: &[u8]) -> Result<()> {
        if payload.len() > MAX_FRAME {
            return Err(ErrorKind::MessageTooLarge {
                len: payload.len(),
                max: MAX_FRAME,
            }
            .into());
        }
        codec::to_bytes_into(reply, &mut self.head)?;
        self.pipe.send(&self.head, payload).map_err(|e| {
            self.broken = true;
            Error::os("send results to the pool's process", e)
        })
    }
}

impl Output for ToParent {
    fn values(&mut self, count: usize, bytes: &[u8]) -> Result<()> {
        self.send(&Reply::Values(count), bytes)
    }

    fn raw(&mut self, bytes: &[u8]) -> Result<()> {
        self.send(&Reply::Raw, bytes)
    }

    fn done(&mut self, count: usize, bytes: &[u8], panics: &[(usize, String)]) -> Result<()> {
        let panics = panics.to_vec();
        self.send(&Reply::Done { count, panics }, bytes)
    }
}

/// Runs the pool's initializer; the reason, if it failed.
fn initialize(call: Result<function::Prepared>) -> Option<String> {
    match panic::catch_unwind(AssertUnwindSafe(|| call?(&mut Discard))) {
        Ok(Ok(())) => None,
        Ok(Err(err)) => Some(err.to_string()),
        Err(payload) => Some(panic_message(payload.as_ref())),
    }
}

/// Runs one task, whose results go to `results` as they come. If it fails
/// as a whole, returns the reply that says why.
fn run_task(function: RemoteFn, input: &[u8], results: &mut ToParent) -> Option<Reply> {
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| function.prepare(input)?(&mut *results)));
    let err = match outcome {
        Ok(Ok(())) => return None,
        Ok(Err(err)) => err,
        Err(payload) => return Some(Reply::Panicked(panic_message(payload.as_ref()))),
    };
    let here = std::process::id();
    Some(match err.kind() {
        ErrorKind::Serialize(message) => {
            Reply::Serialize(format!("in worker process {here}: {message}"))
        }
        ErrorKind::Deserialize(message) => {
            Reply::Deserialize(format!("in worker process {here}: {message}"))
        }
        ErrorKind::MessageTooLarge { len, .. } => Reply::TooLarge(*len as u64),
        // Nothing else can fail in a batch; say what it was all the same.
        _ => Reply::Deserialize(err.to_string()),
    })
}

/// A descriptor that becomes readable when the pool's process ends (a
/// pidfd), or `None` where there is none, or the pool's process has already
/// ended.
fn watch_parent() -> Option<Arc<File>> {
    let pidfd = sys::pidfd(sys::parent_pid())?;
    // Had the parent died before `pidfd_open`, its pid could name another
    // process by now; this process would have been handed to a new parent,
    // so checking after the open tells which process the pidfd is for.
    process::parent_alive().then(|| Arc::new(File::from(pidfd)))
}

/// Waits until a task frame can be read; `false` if the pool's process died
/// meanwhile. The task pipe normally reports the parent's death as end of
/// file, but a process forked later (another pool's worker, say) may hold a
/// copy of its writing end and keep it open: so the worker also watches the
/// parent (`parent`, its pidfd), or, without one, checks its parent's pid
/// every [`PARENT_CHECK`]. Watching needs no timeout, which would cost a
/// timer for every task.
fn parent_alive_while_waiting(tasks: &FrameReader, parent: Option<&File>) -> bool {
    // The next task often comes within microseconds: look for it a while
    // before sleeping (see `wait::look_a_while`).
    if tasks.has_buffered() || look_a_while(|| sys::has_bytes(tasks.fd())) {
        return true;
    }
    while !tasks.has_buffered() {
        // Whether a task (or the pipe's end) is there.
        let task = match parent {
            Some(parent) => sys::poll_readable([tasks.fd(), parent.as_fd()], None).map(|[t, _]| t),
            None => sys::poll_readable([tasks.fd()], Some(PARENT_CHECK)).map(|[t]| t),
        };
        match task {
            // The task first, even if the parent died too.
            Ok(true) => return true,
            Ok(false) if parent.is_some() || !process::parent_alive() => return false,
            Ok(false) => {}
            Err(_) => return false,
        }
    }
    true
}
