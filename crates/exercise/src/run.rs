//! Runs a built check with a time limit, in a process group of its own, and afterwards kills
//! and reaps every process it left: its children, and theirs.
//!
//! The checker makes itself a *subreaper* (`prctl(PR_SET_CHILD_SUBREAPER)`): a process whose
//! parent dies is handed to the checker instead of to init, so the checker can wait for it.
//! That is a setting of the whole process, so only a program that runs checks calls
//! [`become_subreaper`]: the `exercise` binary, and the one test that proves the exercises.

use std::io::{self, Read as _};
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// The check's exit code when it saw a call that does not return (see checks/support.rs).
pub const HUNG_EXIT_CODE: i32 = 3;

/// How a check ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// Exit code 0: solved.
    Passed,
    /// A non-zero exit code, or a signal: still wrong.
    Failed(String),
    /// Still running at the time limit, or the check saw a call that does not return.
    Hung,
}

/// A finished run: how it ended, everything it printed (stdout and stderr in order), and how
/// many processes were killed afterwards.
#[derive(Debug)]
pub struct Run {
    /// How it ended.
    pub ended: Ended,
    /// What it printed, stdout and stderr in the order written.
    pub output: String,
    /// How many processes of its group were still running when it ended (or was stopped), all
    /// killed and reaped since.
    pub killed: usize,
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_interrupt(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst); // only an atomic store: async-signal-safe
}

/// Makes this process the one that reaps orphaned descendants, and turns Ctrl-C into a clean
/// stop: the running check's group is killed and reaped before the checker exits.
pub fn become_subreaper() {
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes plain integers and touches no memory.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    let handler: extern "C" fn(libc::c_int) = on_interrupt;
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, handler as libc::sighandler_t);
        libc::signal(libc::SIGTERM, handler as libc::sighandler_t);
    }
}

/// Whether Ctrl-C (or SIGTERM) arrived.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Runs `binary` from `dir`, at most `limit`, and cleans up after it.
pub fn run(binary: &Path, dir: &Path, limit: Duration) -> io::Result<Run> {
    let (mut reader, writer) = io::pipe()?;
    let mut child = Command::new(binary)
        .current_dir(dir)
        .env("RUST_BACKTRACE", "0")
        .env_remove("RUST_LIB_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(writer.try_clone()?)
        .stderr(writer)
        .process_group(0)
        .spawn()?;
    let group = child.id() as libc::pid_t;
    // The only write ends left are the check's (and its children's): end of file comes when
    // all of them have exited.
    let collector = thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = reader.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    });

    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if Instant::now() >= deadline || interrupted() {
            break None;
        }
        thread::sleep(Duration::from_millis(5));
    };
    let killed = kill_and_reap(group);
    let output = collector.join().unwrap_or_default();
    let ended = match status {
        None => Ended::Hung,
        Some(status) if status.success() => Ended::Passed,
        Some(status) if status.code() == Some(HUNG_EXIT_CODE) => Ended::Hung,
        Some(status) => Ended::Failed(match status.code() {
            Some(101) => "it panicked".to_owned(),
            Some(code) => format!("it exited with code {code}"),
            None => format!("it was ended by a signal ({status})"),
        }),
    };
    Ok(Run {
        ended,
        output,
        killed,
    })
}

/// Kills every process left in the check's group and waits for each, the check itself too.
/// Orphans come back to this process (a subreaper), still in that group. Returns how many
/// processes were still running (the check itself among them, if it had not ended).
fn kill_and_reap(group: libc::pid_t) -> usize {
    let alive = count_group(group);
    // SAFETY: killpg takes plain integers; the group is the check's, made for it alone.
    unsafe { libc::killpg(group, libc::SIGKILL) };
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes only to `status`, which lives across the call.
        let pid = unsafe { libc::waitpid(-group, &mut status, 0) };
        if pid > 0 {
            continue;
        }
        if pid < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        break; // ECHILD: nobody of that group is left
    }
    alive
}

/// How many live (not zombie) processes are in `group`, from /proc.
fn count_group(group: libc::pid_t) -> usize {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter_map(|entry| std::fs::read_to_string(entry.path().join("stat")).ok())
        .filter(|stat| {
            // pid (comm) state ppid pgrp ...: comm may hold spaces, so start after ')'.
            let fields: Vec<&str> = stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .split_whitespace()
                .collect();
            fields.first() != Some(&"Z") && fields.get(2) == Some(&group.to_string().as_str())
        })
        .count()
}
