//! How a process ended: exited with a code, or killed by a signal.
//!
//! `ExitStatus` is a plain value that the error type names too ("process 42
//! was killed by signal 9"), so this file depends on nothing of the crate:
//! `error.rs`, the crate's ground, may import it without reaching up into
//! the rest of `process` (`tests/layering.rs` checks both).

use std::fmt;

use serde::{Deserialize, Serialize};

/// How a process ended: Python's `exitcode` (negative there for a signal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExitStatus {
    /// It exited with this code: 0 for success; 1 when its target panicked.
    Code(i32),
    /// It was ended by this signal (9 is `SIGKILL`, 15 is `SIGTERM`).
    Signal(i32),
}

impl ExitStatus {
    /// Whether it exited with code 0.
    pub fn success(self) -> bool {
        self == ExitStatus::Code(0)
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ExitStatus::Code(code) => write!(f, "exited with code {code}"),
            ExitStatus::Signal(signal) => {
                write!(f, "was killed by signal {signal} ({})", signal_name(signal))
            }
        }
    }
}

/// Decodes a `waitpid` status word.
pub(super) fn decode_status(status: libc::c_int) -> ExitStatus {
    if libc::WIFSIGNALED(status) {
        ExitStatus::Signal(libc::WTERMSIG(status))
    } else {
        ExitStatus::Code(libc::WEXITSTATUS(status))
    }
}

/// A short name for a signal number, for messages ("SIGKILL").
fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGUSR2 => "SIGUSR2",
        _ => "a signal",
    }
}
