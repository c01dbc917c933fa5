//! Life inside a child: it takes its identity, runs its target, speaks for
//! its panics ("process 'Process-1' (pid 42) panicked at ..."), ends its own
//! children, and exits with Python's codes: 0, or 1 after a panic or an
//! `Err`.

use std::io::Write;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::Ordering;

use super::exit;
use super::identity::{CHILD, ChildInfo, STARTED_HERE};
use super::info::current_process_name;
use crate::error::panic_message;
use crate::sys;

/// In a new child: runs `body`, ends its own children (see `exit.rs`), then
/// ends the process with code 0, or 1 if `body` panicked or returned an
/// error (as Python's child exits with 1 on an exception).
pub(super) fn run_child(
    me: ChildInfo,
    body: impl FnOnce() -> std::result::Result<(), String>,
) -> ! {
    CHILD.set(me);
    STARTED_HERE.store(0, Ordering::Relaxed);
    exit::PANICKED.store(false, Ordering::Relaxed);
    match panic::catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => {
            exit::finish_children(false);
            sys::exit_child(0)
        }
        Ok(Err(message)) => fail_child(&message),
        Err(_) => {
            exit::finish_children(true);
            sys::exit_child(1)
        }
    }
}

/// Ends this child whose target returned `Err(message)`: one line on stderr,
/// "process 'Process-1' (pid 42) failed: …", its children ended, exit code 1.
pub(super) fn fail_child(message: &str) -> ! {
    let line = format!(
        "process '{}' (pid {}) failed: {message}\n",
        current_process_name(),
        std::process::id()
    );
    let _ = std::io::stderr().write_all(line.as_bytes());
    exit::finish_children(false);
    sys::exit_child(1)
}

/// Installs, once and before the first child starts, a panic hook that speaks
/// for children: "process 'Process-1' (pid 42) panicked at src/main.rs:7:5: …",
/// without a backtrace (a learner wants the message, and capturing one is slow). In
/// the main process it hands over to the hook that was there before.
/// Installing it before the fork, not in the child, spares the child a write.
pub(super) fn install_child_panic_hook() {
    static HOOK_INSTALLED: std::sync::Once = std::sync::Once::new();
    HOOK_INSTALLED.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| match CHILD.get() {
            Some(child) => {
                // One `write` for the whole line: two children panicking at
                // once then print two whole lines, never one mixed into the
                // other (a pipe keeps writes of up to PIPE_BUF bytes whole).
                // The place comes first, as in Rust's own panic message.
                let place = info
                    .location()
                    .map(|at| format!(" at {}:{}:{}", at.file(), at.line(), at.column()))
                    .unwrap_or_default();
                let line = format!(
                    "process '{}' (pid {}) panicked{place}: {}\n",
                    child.name,
                    std::process::id(),
                    panic_message(info.payload()),
                );
                let _ = std::io::stderr().write_all(line.as_bytes());
            }
            None => {
                if std::thread::current().name() == Some("main") {
                    exit::PANICKED.store(true, Ordering::Relaxed);
                }
                previous(info)
            }
        }));
    });
}
