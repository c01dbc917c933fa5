//! The worker's side of the pool: what each worker process runs, and the
//! messages it exchanges with the parent.
//!
//! A worker waits for an order on its task pipe, runs the task, and writes
//! the reply on its result pipe; then it waits for the next one. It runs one
//! task at a time and answers in order, so the parent always knows which
//! task a worker is on.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::panic::{self, AssertUnwindSafe};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::panic_message;
use crate::error::{ErrorKind, Result};
use crate::ipc::channel::{FrameReader, FrameWriter, MAX_FRAME};
use crate::process;
use crate::process::function::{self, RemoteFn};
use crate::{inherit, sys};

/// What the parent tells a worker. A `Run` frame continues with the task's input.
#[derive(Serialize, Deserialize)]
pub(super) enum Order {
    Run(RemoteFn),
    Stop,
}

/// How a worker answers a `Run`. A `Done` frame continues with the result.
#[derive(Serialize, Deserialize)]
pub(super) enum Reply {
    Done,
    /// The task panicked outside any one item (say, serializing a result).
    Panicked(String),
    Serialize(String),
    Deserialize(String),
    TooLarge(u64),
    /// The pool's initializer failed in this worker, which runs no task.
    InitFailed(String),
}

/// Room left in a frame for an `Order` and a `Reply` before the payload.
pub(super) const MAX_ORDER: usize = 64;
pub(super) const MAX_REPLY: usize = 64;

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
    /// The parent's descriptors that a forked worker has copies of and must
    /// close. Never serialized: a spawned worker inherits none of them (they
    /// are closed on `exec`), and their numbers would mean nothing there.
    #[serde(skip)]
    pub(super) inherited: Vec<RawFd>,
    /// The pool's initializer and its serialized argument, to run once
    /// before the first task.
    pub(super) init: Option<(RemoteFn, Vec<u8>)>,
}

fn serialize_pipe<S: serde::Serializer>(fd: &OwnedFd, s: S) -> Result<S::Ok, S::Error> {
    inherit::serialize_fd(fd.as_raw_fd(), "Pool worker's pipe", s)
}

/// How often an idle worker checks that its pool's process is still alive.
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
    let init_failed = args
        .init
        .and_then(|(function, input)| initialize(function, &input));

    let mut tasks = FrameReader::new(args.tasks);
    let mut results = FrameWriter::new(args.results);
    while parent_alive_while_waiting(&tasks) {
        // End of file: the parent closed the pipe, or died.
        let Ok(Some(frame)) = tasks.recv() else {
            break;
        };
        let Ok((Order::Run(function), input)) = postcard::take_from_bytes::<Order>(&frame) else {
            break; // a stop order (or a garbled frame: only a bug makes one)
        };
        let (reply, output) = match &init_failed {
            None => run_task(function, input),
            Some(message) => (Reply::InitFailed(message.clone()), Vec::new()),
        };
        let reply = function::to_bytes(&reply).unwrap_or_default();
        // Should the pool's process be gone, the write fails with EPIPE
        // rather than killing the worker by SIGPIPE: it ends as it should.
        if sys::without_sigpipe(|| results.send(&reply, &output)).is_err() {
            break; // nobody reads the results any more: the parent has gone
        }
        // Lines a task printed show up now, not when the worker ends.
        let _ = std::io::Write::flush(&mut std::io::stdout());
    }
}

/// Runs the pool's initializer; the reason, if it failed.
fn initialize(function: RemoteFn, input: &[u8]) -> Option<String> {
    match panic::catch_unwind(AssertUnwindSafe(|| function.prepare(input)?())) {
        Ok(Ok(_)) => None,
        Ok(Err(err)) => Some(err.to_string()),
        Err(payload) => Some(panic_message(payload.as_ref())),
    }
}

/// Runs one task, returning the reply and the result's bytes.
fn run_task(function: RemoteFn, input: &[u8]) -> (Reply, Vec<u8>) {
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| function.prepare(input)?()));
    match outcome {
        Ok(Ok(output)) if output.len() > MAX_FRAME - MAX_REPLY => {
            (Reply::TooLarge(output.len() as u64), Vec::new())
        }
        Ok(Ok(output)) => (Reply::Done, output),
        Ok(Err(err)) => {
            let here = std::process::id();
            let reply = match err.kind() {
                ErrorKind::Serialize(message) => {
                    Reply::Serialize(format!("in worker process {here}: {message}"))
                }
                ErrorKind::Deserialize(message) => {
                    Reply::Deserialize(format!("in worker process {here}: {message}"))
                }
                // Nothing else can fail in a batch; say what it was all the same.
                _ => Reply::Deserialize(err.to_string()),
            };
            (reply, Vec::new())
        }
        Err(payload) => (Reply::Panicked(panic_message(payload.as_ref())), Vec::new()),
    }
}

/// Waits until a task frame can be read; `false` if the pool's process died
/// meanwhile. The task pipe normally reports the parent's death as end of
/// file, but a process forked later (another pool's worker, say) may hold a
/// copy of its writing end and keep it open: checking the parent's pid now
/// and then makes sure a worker never outlives its pool.
fn parent_alive_while_waiting(tasks: &FrameReader) -> bool {
    while !tasks.has_buffered() {
        match sys::poll_readable(&[tasks.fd()], Some(PARENT_CHECK)) {
            Ok(ready) if !ready.is_empty() => return true,
            Ok(_) if !process::parent_alive() => return false,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    true
}
