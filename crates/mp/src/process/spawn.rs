//! Starting a child as this same program run afresh (the spawn start
//! method), and the trust boundary it crosses.
//!
//! The parent starts its own executable again with `--mp-spawned-child N`
//! and writes the child's start arguments (who it is, the function to run as
//! a [`RemoteFn`], its argument's bytes, the descriptors it inherits) into
//! the pipe `N`. [`init`], first in the child's `main`, reads them and runs
//! the function.
//!
//! # The trust boundary
//!
//! Turning a number into a function pointer and calling it is only sound if
//! the number came from [`RemoteFn::new`] in a process running this same
//! executable. Inside the crate's own pipes (a forked child, a pool worker)
//! that holds by construction: only the crate writes to them. A spawned
//! child is different: it is a program started with `--mp-spawned-child N`,
//! and anyone can start a program with any arguments and any descriptor `N`.
//! So `mp::init` believes nothing it reads until it has checked, in order:
//!
//! 1. `N` is a number, an open descriptor, and the reading end of a pipe;
//! 2. the bytes start with the crate's header ([`seal`]): a magic word, the
//!    format's version, the length, and a checksum of what follows; the
//!    length and checksum match (nothing cut short, nothing changed);
//! 3. the payload decodes, and the parent pid it names is this process's
//!    parent;
//! 4. that parent runs the very same executable file as this process (same
//!    device and inode of `/proc/<pid>/exe`, on Linux).
//!
//! Any failure is one line on stderr and exit code 2, before any offset is
//! turned into a pointer. What remains trusted is a parent that runs this
//! same program: such a parent could make the program do anything it can do
//! anyway. The checksum guards against accidents (a truncated or mixed-up
//! pipe), not against a forger who runs this same executable as the parent;
//! the parent check is what keeps other programs out. On systems without
//! `/proc` the fourth check is skipped.

use std::fmt;
use std::io::{IoSlice, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

use super::child::{install_child_panic_hook, run_child};
use super::children::{Child, children};
use super::exit;
use super::function::{self, RemoteFn};
use super::handle::Job;
use super::identity::ChildInfo;
use super::status::decode_status;
use crate::error::{Error, ErrorKind, Result};
use crate::{codec, inherit, sys};

/// The first bytes of a spawned child's start arguments.
const MAGIC: [u8; 8] = *b"mp-start";
/// The start arguments' format: change it whenever [`SpawnPayload`]'s shape
/// changes, so that a child never misreads another version's bytes.
const VERSION: u32 = 1;
/// Magic, version, length (u64) and checksum (u64), little-endian.
const SEAL_HEADER: usize = 8 + 4 + 8 + 8;
/// The largest start arguments accepted: as large as a pool's frame.
const MAX_START: u64 = u32::MAX as u64;

/// A 64-bit FNV-1a hash: a simple checksum that catches cut or mixed-up bytes.
fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Puts the header in front of a spawned child's start arguments `body`.
fn seal(body: &[u8]) -> Result<Vec<u8>> {
    if body.len() as u64 > MAX_START {
        return Err(ErrorKind::MessageTooLarge {
            len: body.len(),
            max: MAX_START as usize,
        }
        .into());
    }
    let mut sealed = Vec::with_capacity(SEAL_HEADER + body.len());
    sealed.extend_from_slice(&MAGIC);
    sealed.extend_from_slice(&VERSION.to_le_bytes());
    sealed.extend_from_slice(&(body.len() as u64).to_le_bytes());
    sealed.extend_from_slice(&checksum(body).to_le_bytes());
    sealed.extend_from_slice(body);
    Ok(sealed)
}

/// Reads start arguments made by [`seal`] from `pipe`, to its end, and
/// returns the body once the header vouches for it; else says what is wrong.
fn unseal(mut pipe: impl std::io::Read) -> std::result::Result<Vec<u8>, String> {
    let mut header = [0u8; SEAL_HEADER];
    read_all(&mut pipe, &mut header, "the header")?;
    let (magic, rest) = header.split_at(8);
    let (version, rest) = rest.split_at(4);
    let (len, sum) = rest.split_at(8);
    if magic != MAGIC {
        return Err("the start arguments do not begin with the mp header: \
                    they were not sent by a parent using this crate"
            .to_owned());
    }
    let version = u32::from_le_bytes(version.try_into().expect("4 bytes"));
    if version != VERSION {
        return Err(format!(
            "the start arguments are in format version {version}; this program reads version {VERSION}"
        ));
    }
    let len = u64::from_le_bytes(len.try_into().expect("8 bytes"));
    if len > MAX_START {
        return Err(format!(
            "the start arguments claim {len} bytes, more than the {MAX_START} allowed"
        ));
    }
    let mut body = vec![0; len as usize];
    read_all(&mut pipe, &mut body, "the body")?;
    let mut extra = [0u8; 1];
    match pipe.read(&mut extra) {
        Ok(0) => {}
        Ok(_) => return Err("the start arguments go on past their stated length".to_owned()),
        Err(e) => return Err(format!("could not read the start pipe: {e}")),
    }
    if checksum(&body) != u64::from_le_bytes(sum.try_into().expect("8 bytes")) {
        return Err("the start arguments' checksum does not match: they were changed".to_owned());
    }
    Ok(body)
}

/// Fills `buf` from `pipe`; a short read says which `part` was cut short.
fn read_all(
    pipe: &mut impl std::io::Read,
    buf: &mut [u8],
    part: &str,
) -> std::result::Result<(), String> {
    let mut filled = 0;
    while filled < buf.len() {
        match pipe.read(&mut buf[filled..]) {
            Ok(0) => {
                return Err(format!(
                    "the start arguments are cut short: {filled} of the {} bytes of {part}",
                    buf.len()
                ));
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("could not read the start pipe: {e}")),
        }
    }
    Ok(())
}

/// The command-line flag that tells [`init`] that this run is a spawned child.
const CHILD_FLAG: &str = "--mp-spawned-child";

/// Set by [`init`]: spawn refuses to start without it.
static INIT_CALLED: AtomicBool = AtomicBool::new(false);

/// What a spawned child receives on its start pipe, after the header (see
/// [`seal`]).
#[derive(Serialize, Deserialize)]
struct SpawnPayload {
    /// Who the child is; its parent's pid, checked against `getppid()`.
    me: ChildInfo,
    function: RemoteFn,
    fds: Vec<RawFd>,
    args: Vec<u8>,
}

/// Starts this same program afresh as a child that runs `job`; returns its pid.
pub(super) fn spawn_child(me: ChildInfo, job: &dyn Job, daemon: bool) -> Result<libc::pid_t> {
    if !INIT_CALLED.load(Ordering::Relaxed) {
        return Err(ErrorKind::InitNotCalled.into());
    }
    let (function, args, fds) = job.encode()?;
    let name = me.name.clone();
    let payload = SpawnPayload {
        me,
        function,
        fds: fds.clone(),
        args,
    };
    let payload = seal(&codec::to_bytes(&payload)?)?;
    let (reader, writer) =
        sys::pipe().map_err(|e| Error::os("make a pipe to a spawned child", e))?;
    let mut keep = fds;
    keep.push(reader.as_raw_fd());

    // A spawned child does not copy our stdout buffer, but flushing it keeps
    // what the parent printed before the start ahead of what the child prints.
    let _ = std::io::stdout().flush();
    let pid = start_program(reader.as_raw_fd(), &keep)?;
    drop(reader);
    // The write fails (EPIPE, and no SIGPIPE) if the child closed the pipe
    // without reading it all: it has died, or will never run its target. Reap
    // it and say how it ended, rather than leave a zombie behind an error.
    let write = |pieces: &[IoSlice<'_>]| sys::write_vectored_nosignal(writer.as_fd(), pieces);
    if sys::write_all(&mut [IoSlice::new(&payload)], write).is_err() {
        let _ = sys::kill(pid, libc::SIGKILL); // in case it lives on regardless
        let status = sys::waitpid(pid, true)
            .map_err(|e| Error::os("wait for a spawned child that failed to start", e))?
            .expect("a blocking waitpid returns a status");
        return Err(ErrorKind::ChildDiedAtStart {
            pid: pid as u32,
            status: decode_status(status),
        }
        .into());
    }
    children().push(Child {
        pid,
        name,
        daemon,
        dropped: false,
    });
    Ok(pid)
}

/// Starts this executable again with `--mp-spawned-child start`, keeping the
/// descriptors `keep` open in it; returns its pid. On Linux with
/// `posix_spawn`, whose cost does not grow with this process's memory (see
/// `sys::spawn_keeping`); elsewhere with `std::process::Command`, clearing
/// close-on-exec in the forked child just before `exec`.
#[cfg(target_os = "linux")]
fn start_program(start: RawFd, keep: &[RawFd]) -> Result<libc::pid_t> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;

    let program = own_executable()?;
    let c = |bytes: &[u8]| {
        CString::new(bytes).map_err(|_| {
            Error::new(ErrorKind::InvalidArgument(
                "a program name, argument or environment variable holds a NUL byte",
            ))
        })
    };
    let arg0 = std::env::args_os()
        .next()
        .unwrap_or_else(|| program.clone().into_os_string());
    let args = [
        c(arg0.as_bytes())?,
        c(CHILD_FLAG.as_bytes())?,
        c(start.to_string().as_bytes())?,
    ];
    let env = std::env::vars_os()
        .map(|(key, value)| c(&[key.as_bytes(), b"=", value.as_bytes()].concat()))
        .collect::<Result<Vec<_>>>()?;
    sys::spawn_keeping(&c(program.as_os_str().as_bytes())?, &args, &env, keep)
        .map_err(|e| Error::os("spawn a child process", e))
}

#[cfg(not(target_os = "linux"))]
fn start_program(start: RawFd, keep: &[RawFd]) -> Result<libc::pid_t> {
    use std::os::unix::process::CommandExt;

    let mut command = std::process::Command::new(own_executable()?);
    if let Some(arg0) = std::env::args_os().next() {
        command.arg0(arg0);
    }
    command.arg(CHILD_FLAG).arg(start.to_string());
    let keep = keep.to_vec();
    // SAFETY: the closure runs in the forked child just before exec; it only
    // calls fcntl on descriptors (async-signal-safe) and allocates nothing.
    unsafe {
        command.pre_exec(move || inherit::keep_across_exec(&keep));
    }
    let child = command
        .spawn()
        .map_err(|e| Error::os("spawn a child process", e))?;
    Ok(child.id() as libc::pid_t)
}

/// The path that runs this very executable again.
fn own_executable() -> Result<std::path::PathBuf> {
    // On Linux, /proc/self/exe is the running file itself, even if it has
    // been rebuilt or deleted since: the child is guaranteed the same code.
    if cfg!(target_os = "linux") {
        Ok("/proc/self/exe".into())
    } else {
        std::env::current_exe().map_err(|e| Error::os("find this program's executable", e))
    }
}

/// Call this first in `main`: Rust's `if __name__ == '__main__':`.
///
/// With the spawn start method, a child is this same program run again. In
/// Python, the guard stops the child from re-running the main script's
/// top-level code. Here, `init` recognises a spawned child, runs its target
/// function, and ends the process, so the rest of `main` only ever runs in the
/// original program. In the original program it returns at once.
///
/// ```
/// mp::init(); // the first line of `main`
/// // ... the rest of the program ...
/// ```
#[doc(alias("freeze_support", "__main__"))]
pub fn init() {
    INIT_CALLED.store(true, Ordering::Relaxed);
    exit::install();
    let mut args = std::env::args_os().skip(1);
    if args.next().is_none_or(|flag| flag != CHILD_FLAG) {
        return;
    }
    // From here on, everything read is checked before it is believed: see
    // "The trust boundary" above. Any failure is one line on
    // stderr and exit code 2, never a panic.
    let refuse = |why: &dyn fmt::Display| -> ! {
        let line = format!("mp::init: not starting as a spawned child: {why}\n");
        let _ = std::io::stderr().write_all(line.as_bytes());
        sys::exit_child(2)
    };
    let fd = args.next();
    let fd = match fd
        .as_ref()
        .and_then(|fd| fd.to_str()?.parse::<RawFd>().ok())
    {
        Some(fd) if fd >= 0 => fd,
        _ => refuse(&format_args!(
            "{CHILD_FLAG} must be followed by the number of the start pipe, not {fd:?}"
        )),
    };
    if let Err(why) = sys::check_start_pipe(fd) {
        refuse(&format_args!("descriptor {fd} is not a start pipe: {why}"));
    }
    // SAFETY: `fd` is open (just checked), and nothing else in this new
    // program uses it: the parent left it open across exec for this child only.
    let start_pipe = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    let payload = match unseal(start_pipe)
        .and_then(|body| codec::from_bytes::<SpawnPayload>(&body).map_err(|e| e.to_string()))
    {
        Ok(payload) => payload,
        Err(err) => refuse(&err),
    };
    if let Err(why) = check_parent(&payload) {
        refuse(&why);
    }
    install_child_panic_hook();
    let prepared = inherit::with_incoming(&payload.fds, || payload.function.prepare(&payload.args));
    match prepared {
        Ok(call) => run_child(payload.me, || {
            if let Err(err) = call(&mut function::Discard) {
                panic!("{err}");
            }
            Ok(())
        }),
        Err(err) => refuse(&err),
    }
}

/// Checks that the process that sent `payload` is this child's parent, and
/// runs this same executable: only then do the code offsets in it mean what
/// they say (see `function.rs`).
fn check_parent(payload: &SpawnPayload) -> std::result::Result<(), String> {
    let parent = sys::parent_pid();
    if payload.me.parent != parent {
        return Err(format!(
            "the start arguments name process {} as the parent, but the parent is process {parent}",
            payload.me.parent
        ));
    }
    let ours = sys::executable_id(None)
        .map_err(|e| format!("cannot identify this program's executable: {e}"))?;
    let theirs = match sys::executable_id(Some(parent)) {
        Ok(theirs) => theirs,
        // No `/proc` to ask (see the module's docs): the other checks must do.
        Err(e) if e.kind() == std::io::ErrorKind::Unsupported => return Ok(()),
        Err(e) => {
            return Err(format!(
                "cannot identify the executable of parent process {parent}: {e}"
            ));
        }
    };
    if ours != theirs {
        return Err(format!(
            "parent process {parent} runs another executable than this one; \
             only a program can start itself as a spawned child"
        ));
    }
    Ok(())
}
