//! Thin, safe wrappers over the few system calls the crate needs.
//!
//! The largest share of the crate's `unsafe` blocks lives here: 45 of 101. The
//! rest sits where the mutex is called (`sync/raw_lock.rs`), where memory is
//! mapped (`shm.rs`) and viewed as typed values (`region.rs`), where a guard
//! reads what its lock guards (`shared/`), and in `process/target.rs`. Each wrapper turns a C convention (`-1` and `errno`)
//! into an `io::Result`.

use std::io::{self, Write};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// Turns a C return value of `-1` into the current `errno`.
fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Which side of a `fork` we are on.
pub(crate) enum Fork {
    /// In the parent: the child's pid.
    Parent(libc::pid_t),
    /// In the child.
    Child,
}

/// Forks the process. Stdout is flushed first, so the child does not print the
/// parent's buffered output a second time.
///
/// The standard streams' locks are taken just before the fork and released
/// just after it, in both processes (CPython does the same with its own
/// locks). Without that, a fork while another thread is printing hands the
/// child a stdout lock held by a thread the child does not have: the child's
/// first `println!`, or the flush on its way out, waits forever. Held by the
/// forking thread instead, the lock is released by that same thread's copy in
/// the child. Callers hold the crate's own process-local locks the same way
/// (see `fork_child` in `process/mod.rs`).
///
/// # Safety
///
/// After `Fork::Child`, the child is a copy of this process with one thread,
/// this one. The caller must
///
/// - end the child with [`exit_child`], never by returning into the frames it
///   shares with the parent: their destructors would run in both processes
///   (a buffer flushed twice, a temporary file removed while the parent uses
///   it);
/// - run in the child only code that may run after a fork of a process whose
///   other threads are gone: POSIX promises only async-signal-safe functions
///   there when the parent had threads. glibc keeps its allocator and stdio
///   usable across a fork (its fork handlers, and the stream locks held
///   here); a lock that another thread held at the fork stays held for ever
///   in the child, a hang rather than unsoundness, which the crate warns of.
pub(crate) unsafe fn fork() -> io::Result<Fork> {
    let mut stdout = io::stdout().lock();
    let _ = stdout.flush();
    let stderr = io::stderr().lock();
    // SAFETY: fork has no memory-safety preconditions of its own. The child
    // gets a copy of this thread only; the callers in this crate run nothing in
    // the child but the target function and `exit_child`, and warn when other
    // threads were alive (they may hold locks the child would wait on forever;
    // not the standard streams', which this thread holds).
    let pid = unsafe { libc::fork() };
    // In the child, this thread's copy of the guards releases the copies of
    // the locks: the child's streams work whatever other threads were doing.
    drop(stderr);
    drop(stdout);
    let pid = check(pid)?;
    Ok(if pid == 0 {
        Fork::Child
    } else {
        Fork::Parent(pid)
    })
}

/// The flag that makes a send on a socket return `EPIPE` instead of raising
/// `SIGPIPE` when the other end is gone (`MSG_NOSIGNAL`).
#[cfg(target_os = "linux")]
pub(crate) const NO_SIGPIPE: libc::c_int = libc::MSG_NOSIGNAL;
/// Elsewhere there is no such flag (0): callers hold the signal off with
/// [`without_sigpipe`]. (Rust's runtime ignores `SIGPIPE` before `main`; a
/// host program that restores it would be killed by a send to a closed end.)
#[cfg(not(target_os = "linux"))]
pub(crate) const NO_SIGPIPE: libc::c_int = 0;

/// Sends `pieces` on socket `fd` in one `sendmsg`, as `writev` would write
/// them, with [`NO_SIGPIPE`]. Returns how many bytes went.
pub(crate) fn send_vectored(fd: BorrowedFd<'_>, pieces: &[io::IoSlice<'_>]) -> io::Result<usize> {
    // SAFETY: an all-zero `msghdr` is a valid value of this plain C struct:
    // no address, no control data.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    // `IoSlice` is an `iovec` on Unix (std promises the same layout).
    msg.msg_iov = pieces.as_ptr().cast_mut().cast();
    msg.msg_iovlen = pieces.len() as _;
    // SAFETY: `msg` points at `pieces`, valid for reads during the call, and
    // the kernel only reads them; the descriptor is open for the call.
    let sent = unsafe { libc::sendmsg(fd.as_raw_fd(), &msg, NO_SIGPIPE) };
    if sent < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(sent as usize)
    }
}

/// `pwritev2`'s flag for "no `SIGPIPE`, only `EPIPE`", new in Linux 6.18
/// (`include/uapi/linux/fs.h`; the `libc` crate does not have it yet).
#[cfg(target_os = "linux")]
const RWF_NOSIGNAL: libc::c_int = 0x100;

/// Set once a kernel refused [`RWF_NOSIGNAL`]: older than 6.18.
#[cfg(target_os = "linux")]
static NO_RWF_NOSIGNAL: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Writes `pieces` to pipe `fd` as `writev` would, but a reader's absence is
/// an `EPIPE` error, never a `SIGPIPE`: the pipe's counterpart of
/// [`send_vectored`]. Returns how many bytes went.
///
/// On Linux 6.18 and later that is one `pwritev2` with [`RWF_NOSIGNAL`] (the
/// offset -1 means "where the file is", which is all a pipe has). A kernel
/// that does not know the flag says `EOPNOTSUPP`; that is remembered, and
/// from then on the write is a `writev` inside [`without_sigpipe`], which
/// costs two more system calls.
pub(crate) fn write_vectored_nosignal(
    fd: BorrowedFd<'_>,
    pieces: &[io::IoSlice<'_>],
) -> io::Result<usize> {
    use std::sync::atomic::Ordering::Relaxed;
    // The kernel takes at most 1,024 pieces at once (`UIO_MAXIOV`); the rest
    // go in the next call, as after any short write.
    let count = pieces.len().min(1024) as libc::c_int;
    let writev = || {
        // SAFETY: `IoSlice` is an `iovec` on Unix (std promises the same
        // layout); the kernel only reads the first `count` of them, valid
        // for the call; the descriptor is open for the call.
        let ret = unsafe { libc::writev(fd.as_raw_fd(), pieces.as_ptr().cast(), count) };
        if ret < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(ret as usize)
        }
    };
    #[cfg(target_os = "linux")]
    if !NO_RWF_NOSIGNAL.load(Relaxed) {
        // SAFETY: as for `writev` above; offset -1 writes at the current
        // position, as `writev` does, and the flag only turns the signal off.
        let ret = unsafe {
            libc::pwritev2(
                fd.as_raw_fd(),
                pieces.as_ptr().cast(),
                count,
                -1,
                RWF_NOSIGNAL,
            )
        };
        if ret >= 0 {
            return Ok(ret as usize);
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EOPNOTSUPP) {
            return Err(err);
        }
        NO_RWF_NOSIGNAL.store(true, Relaxed);
    }
    without_sigpipe(writev)
}

/// Writes all of `pieces` with `write`, which writes some of them (such as
/// [`write_vectored_nosignal`] or [`send_vectored`] on one descriptor).
pub(crate) fn write_all(
    mut pieces: &mut [io::IoSlice<'_>],
    write: impl Fn(&[io::IoSlice<'_>]) -> io::Result<usize>,
) -> io::Result<()> {
    while !pieces.is_empty() {
        match write(pieces) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(written) => io::IoSlice::advance_slices(&mut pieces, written),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Runs `write`, a write to a pipe or socket, such that a reader's absence
/// comes back as an `EPIPE` error and never kills the process.
///
/// Writing to a pipe whose readers are all gone raises `SIGPIPE`, whose
/// default action ends the process. Rust programs ignore it from the start,
/// but a program may have put the default back (many command-line tools do,
/// to die quietly in `| head`), and a library must not die of it then. So the
/// signal is blocked in this thread for the write; if the write failed with
/// `EPIPE`, the `SIGPIPE` it raised is waiting, blocked, and is taken off with
/// `sigtimedwait` before the old mask comes back. The cost is two
/// `pthread_sigmask` calls per write. If the caller already blocks `SIGPIPE`,
/// the write runs as it is and the caller's signal stays the caller's.
fn without_sigpipe<R>(write: impl FnOnce() -> io::Result<R>) -> io::Result<R> {
    // SAFETY: sigset_t is a plain C bitmask; sigemptyset/sigaddset initialize it.
    let mut pipe_only: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: both point to valid sigset_t values owned by this frame.
    unsafe {
        libc::sigemptyset(&mut pipe_only);
        libc::sigaddset(&mut pipe_only, libc::SIGPIPE);
        libc::pthread_sigmask(libc::SIG_BLOCK, &pipe_only, &mut old);
    }
    // SAFETY: `old` was filled in by pthread_sigmask.
    if unsafe { libc::sigismember(&old, libc::SIGPIPE) } == 1 {
        return write(); // blocked already: nothing of ours to undo
    }
    let result = write();
    if matches!(&result, Err(e) if e.raw_os_error() == Some(libc::EPIPE)) {
        // SIGPIPE was unblocked in this thread until just now, so none was
        // waiting for it: the one pending now is the write's own (or, at
        // worst, one that `kill` sent at the same instant, taken with it).
        let zero = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: valid pointers; a null siginfo pointer is allowed.
        while unsafe { libc::sigtimedwait(&pipe_only, std::ptr::null_mut(), &zero) } == -1
            && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted
        {}
    }
    // SAFETY: `old` is the mask this thread had on entry.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
    result
}

/// A descriptor that becomes readable when process `pid` ends (Linux 5.3 and
/// later): the pool polls it beside a worker's result channel, because the channel
/// alone reports the worker's death only once every process that inherited
/// its writing end (its own children, say) has ended too; a worker polls its
/// parent's beside its task pipe. `None` where the kernel has no pidfds;
/// callers then rely on the pipe.
///
/// `pid` must be a child of this process that has not been reaped yet, so
/// that the number cannot belong to another process meanwhile, or the caller
/// must check afterwards that it still names the process it meant (a
/// worker's parent: see `pool/worker.rs`).
pub(crate) fn pidfd(pid: libc::pid_t) -> Option<OwnedFd> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: pidfd_open takes a pid and flags and returns a new
        // descriptor (close-on-exec) or -1; no memory is passed.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        // SAFETY: the kernel just returned this new descriptor; nobody else owns it.
        (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pid;
        None
    }
}

/// Ends a child process at once with `code`, after flushing its stdout.
///
/// `_exit` skips the parent's `atexit` handlers and never returns into the
/// parent's `main`, which the child's copy of the stack still holds.
pub(crate) fn exit_child(code: i32) -> ! {
    let _ = io::stdout().flush();
    // SAFETY: `_exit` ends the process; it is always safe to call.
    unsafe { libc::_exit(code) }
}

/// Waits for child `pid` to end and reaps it: its raw status word, for
/// `process` to decode. With `block == false`, returns `Ok(None)` at once if
/// it is still running.
pub(crate) fn waitpid(pid: libc::pid_t, block: bool) -> io::Result<Option<libc::c_int>> {
    let flags = if block { 0 } else { libc::WNOHANG };
    let mut status = 0;
    loop {
        // SAFETY: `status` is a valid place for the kernel to write the status word.
        let ret = unsafe { libc::waitpid(pid, &mut status, flags) };
        match ret {
            -1 if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted => continue,
            -1 => return Err(io::Error::last_os_error()),
            0 => return Ok(None),
            _ => return Ok(Some(status)),
        }
    }
}

/// Whether child `pid` has ended, without reaping it (`WNOWAIT`): its exit
/// status stays for a later `waitpid`.
pub(crate) fn has_exited(pid: libc::pid_t) -> bool {
    // SAFETY: an all-zero siginfo_t is a valid value of this plain C struct.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: `info` is a valid place for the kernel to write into.
    let ret = unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    // SAFETY: `si_pid` is set by the kernel for a child that changed state, and
    // stays 0 when none did (we zeroed the struct).
    ret == -1 || unsafe { info.si_pid() } != 0
}

/// This process's pid, without a system call after the first ask.
///
/// A robust lock records its holder's pid every time it is taken, and glibc
/// stopped caching `getpid()` in version 2.25: each call is a system call, which
/// costs more than the whole uncontended lock. So the pid is kept here. A forked
/// child is a new process with a new pid: a `pthread_atfork` handler, which
/// `fork()` runs in the child, forgets the copied value. (A spawned child is a
/// fresh program and starts with nothing cached.)
#[cfg(target_os = "linux")]
pub(crate) fn pid() -> u32 {
    use std::sync::Once;
    use std::sync::atomic::{AtomicU32, Ordering};

    static PID: AtomicU32 = AtomicU32::new(0); // 0: not known yet
    static FORGET_IN_CHILDREN: Once = Once::new();

    extern "C" fn forget() {
        PID.store(0, Ordering::Relaxed);
    }

    match PID.load(Ordering::Relaxed) {
        0 => {
            // Register before caching: a fork can never copy a cached pid
            // without the handler that forgets it.
            FORGET_IN_CHILDREN.call_once(|| {
                // SAFETY: `forget` only stores to an atomic, which is safe in a
                // child just after fork; pthread_atfork has no other preconditions.
                unsafe { libc::pthread_atfork(None, None, Some(forget)) };
            });
            let pid = std::process::id();
            PID.store(pid, Ordering::Relaxed);
            pid
        }
        pid => pid,
    }
}

/// This process's pid (uncached: libc declares `pthread_atfork` only for Linux here).
#[cfg(not(target_os = "linux"))]
pub(crate) fn pid() -> u32 {
    std::process::id()
}

/// Checks that `fd` can be a spawned child's start pipe: an open descriptor,
/// the reading end of a pipe. Says what it is otherwise.
pub(crate) fn check_start_pipe(fd: RawFd) -> Result<(), String> {
    // SAFETY: F_GETFL only reads the open file's flags; it fails cleanly
    // (EBADF) when `fd` is not open.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags == -1 {
        return Err(io::Error::last_os_error().to_string());
    }
    // SAFETY: an all-zero `stat` is a valid value of this plain C struct.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `fd` is open (above) and `stat` is a valid place to write.
    check(unsafe { libc::fstat(fd, &mut stat) }).map_err(|e| e.to_string())?;
    if stat.st_mode & libc::S_IFMT != libc::S_IFIFO {
        return Err("it is not a pipe".to_owned());
    }
    if flags & libc::O_ACCMODE != libc::O_RDONLY {
        return Err("it is not a pipe's reading end".to_owned());
    }
    Ok(())
}

/// The device and inode of the executable file that process `pid` runs
/// (`None`: this process): two processes running the same file have the
/// same pair, even if the file was replaced or deleted since they started.
/// Other processes' executables are known only where `/proc` tells them.
pub(crate) fn executable_id(pid: Option<libc::pid_t>) -> io::Result<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let path: std::path::PathBuf = match pid {
        _ if cfg!(target_os = "linux") => match pid {
            None => "/proc/self/exe".into(),
            Some(pid) => format!("/proc/{pid}/exe").into(),
        },
        None => std::env::current_exe()?,
        Some(_) => return Err(io::ErrorKind::Unsupported.into()),
    };
    let meta = std::fs::metadata(path)?;
    Ok((meta.dev(), meta.ino()))
}

/// Sends `signal` to process `pid`.
pub(crate) fn kill(pid: libc::pid_t, signal: libc::c_int) -> io::Result<()> {
    // SAFETY: kill has no memory-safety preconditions.
    check(unsafe { libc::kill(pid, signal) }).map(drop)
}

/// This process's parent.
pub(crate) fn parent_pid() -> libc::pid_t {
    // SAFETY: getppid cannot fail and has no preconditions.
    unsafe { libc::getppid() }
}

/// A pipe: `(read end, write end)`, both closed on `exec`.
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    #[cfg(target_os = "linux")]
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    #[cfg(not(target_os = "linux"))]
    {
        // SAFETY: `fds` has room for the two descriptors pipe writes.
        check(unsafe { libc::pipe(fds.as_mut_ptr()) })?;
        for fd in fds {
            set_cloexec(fd, true)?;
        }
    }
    // SAFETY: pipe just returned these two descriptors, and nothing else owns them.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Makes a connected pair of Unix stream sockets, both closed on `exec`.
///
/// A byte stream like a pipe, but each direction has its own queue in the
/// kernel: a writer filling it and a reader emptying it do not take turns on
/// one lock, as a pipe's do. With several processes writing big results to
/// one reader, that is about a third faster than a pipe here (see the pool's
/// result channel in `pool/engine.rs`).
pub(crate) fn socketpair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    #[cfg(target_os = "linux")]
    let kind = libc::SOCK_STREAM | libc::SOCK_CLOEXEC;
    #[cfg(not(target_os = "linux"))]
    let kind = libc::SOCK_STREAM;
    // SAFETY: `fds` has room for the two descriptors socketpair writes.
    check(unsafe { libc::socketpair(libc::AF_UNIX, kind, 0, fds.as_mut_ptr()) })?;
    // SAFETY: socketpair just returned these two descriptors, and nothing else owns them.
    let pair = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    #[cfg(not(target_os = "linux"))]
    for fd in [&pair.0, &pair.1] {
        set_cloexec(fd.as_raw_fd(), true)?;
    }
    Ok(pair)
}

/// Makes descriptor `fd` of this process refer to what `with` refers to,
/// in one step (`dup3`, or `dup2` elsewhere), close-on-exec set. Whatever
/// `fd` referred to before loses this process's reference to it; `fd` stays
/// open, so its owner still owns a valid descriptor.
pub(crate) fn redirect_fd(fd: BorrowedFd<'_>, with: BorrowedFd<'_>) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    // SAFETY: dup3 only changes this process's descriptor table; both
    // descriptors are open for the call, and `fd` keeps its number.
    check(unsafe { libc::dup3(with.as_raw_fd(), fd.as_raw_fd(), libc::O_CLOEXEC) })?;
    #[cfg(not(target_os = "linux"))]
    {
        // SAFETY: as above, with dup2, which clears close-on-exec: set again below.
        check(unsafe { libc::dup2(with.as_raw_fd(), fd.as_raw_fd()) })?;
        set_cloexec(fd.as_raw_fd(), true)?;
    }
    Ok(())
}

/// Starts `program` as a new process, with `args` (the first is the name it
/// sees itself run as) and `env`, keeping the descriptors `keep` open in it
/// (they may be close-on-exec here); returns its pid. Its signal mask is
/// empty and `SIGPIPE` back at its default, as `std::process::Command`
/// leaves them.
///
/// This is `posix_spawn`, which glibc and musl run with `vfork`: the new
/// process borrows this one's memory until it has started the program, where
/// `fork` copies the page tables of every mapping first. The cost of a start
/// then does not grow with the memory this process uses (with 400 MB in use
/// a fork-then-exec took 16 ms, `posix_spawn` 0.8 ms). A `dup2` of a
/// descriptor onto itself in the spawn's file actions clears its
/// close-on-exec flag in the child only (POSIX 2024; glibc, musl).
#[cfg(target_os = "linux")]
pub(crate) fn spawn_keeping(
    program: &std::ffi::CStr,
    args: &[std::ffi::CString],
    env: &[std::ffi::CString],
    keep: &[RawFd],
) -> io::Result<libc::pid_t> {
    use std::mem::MaybeUninit;
    use std::ptr::null_mut;

    let argv: Vec<*mut libc::c_char> = args
        .iter()
        .map(|a| a.as_ptr().cast_mut())
        .chain([null_mut()])
        .collect();
    let envp: Vec<*mut libc::c_char> = env
        .iter()
        .map(|e| e.as_ptr().cast_mut())
        .chain([null_mut()])
        .collect();
    let ret = |code: libc::c_int| match code {
        0 => Ok(()),
        e => Err(io::Error::from_raw_os_error(e)),
    };
    let mut actions = MaybeUninit::<libc::posix_spawn_file_actions_t>::uninit();
    let mut attr = MaybeUninit::<libc::posix_spawnattr_t>::uninit();
    // SAFETY: each `_init` initializes the object it is given, ours and not
    // yet initialized. If the second fails, the first is destroyed before
    // returning; otherwise both are destroyed once, below, whatever happens
    // in between.
    unsafe {
        ret(libc::posix_spawn_file_actions_init(actions.as_mut_ptr()))?;
        if let Err(e) = ret(libc::posix_spawnattr_init(attr.as_mut_ptr())) {
            libc::posix_spawn_file_actions_destroy(actions.as_mut_ptr());
            return Err(e);
        }
    }
    // SAFETY: `actions` and `attr` were initialized just above; the signal
    // sets are locals, initialized by sigemptyset before any other use;
    // `argv` and `envp` are arrays of pointers to NUL-terminated strings that
    // `args` and `env` keep alive for the whole call, each ending with a null
    // pointer, as posix_spawn requires; `pid` is a valid place for the pid.
    // The child runs nothing of ours before `exec`: only the file actions.
    let started = unsafe {
        let mut setup = || -> io::Result<libc::pid_t> {
            for &fd in keep {
                ret(libc::posix_spawn_file_actions_adddup2(
                    actions.as_mut_ptr(),
                    fd,
                    fd,
                ))?;
            }
            let mut none = MaybeUninit::<libc::sigset_t>::uninit();
            libc::sigemptyset(none.as_mut_ptr());
            let mut pipe = MaybeUninit::<libc::sigset_t>::uninit();
            libc::sigemptyset(pipe.as_mut_ptr());
            libc::sigaddset(pipe.as_mut_ptr(), libc::SIGPIPE);
            ret(libc::posix_spawnattr_setsigmask(
                attr.as_mut_ptr(),
                none.as_ptr(),
            ))?;
            ret(libc::posix_spawnattr_setsigdefault(
                attr.as_mut_ptr(),
                pipe.as_ptr(),
            ))?;
            ret(libc::posix_spawnattr_setflags(
                attr.as_mut_ptr(),
                (libc::POSIX_SPAWN_SETSIGMASK | libc::POSIX_SPAWN_SETSIGDEF) as libc::c_short,
            ))?;
            let mut pid = 0;
            ret(libc::posix_spawn(
                &mut pid,
                program.as_ptr(),
                actions.as_ptr(),
                attr.as_ptr(),
                argv.as_ptr(),
                envp.as_ptr(),
            ))?;
            Ok(pid)
        };
        setup()
    };
    // SAFETY: both were initialized above and are not used after this.
    unsafe {
        libc::posix_spawn_file_actions_destroy(actions.as_mut_ptr());
        libc::posix_spawnattr_destroy(attr.as_mut_ptr());
    }
    started
}

/// Sets or clears close-on-exec on `fd`. Cleared, the descriptor survives the
/// `exec` of the spawn start method, so the new program can use it. (Linux
/// spawns with `spawn_keeping` instead.)
#[cfg(not(target_os = "linux"))]
pub(crate) fn set_cloexec(fd: RawFd, on: bool) -> io::Result<()> {
    // SAFETY: F_GETFD/F_SETFD only read and write the descriptor's flags.
    let flags = check(unsafe { libc::fcntl(fd, libc::F_GETFD) })?;
    let flags = if on {
        flags | libc::FD_CLOEXEC
    } else {
        flags & !libc::FD_CLOEXEC
    };
    // SAFETY: as above.
    check(unsafe { libc::fcntl(fd, libc::F_SETFD, flags) }).map(drop)
}

/// Whether a read of the pipe or socket `fd` would find bytes now
/// (`FIONREAD`), without taking any and without waiting. An error (not a
/// pipe or socket) says no: the caller's wait will meet it.
pub(crate) fn has_bytes(fd: BorrowedFd<'_>) -> bool {
    let mut count: libc::c_int = 0;
    // SAFETY: FIONREAD writes one `c_int` through the pointer, to `count`, a
    // local that outlives the call; it fails (EBADF, ENOTTY) without writing.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD, &raw mut count) };
    ret == 0 && count > 0
}

/// Puts `fd` in non-blocking mode: a read with nothing to read fails with
/// `WouldBlock` instead of waiting.
pub(crate) fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    let fd = fd.as_raw_fd();
    // SAFETY: F_GETFL/F_SETFL only read and write the open file's status flags.
    let flags = check(unsafe { libc::fcntl(fd, libc::F_GETFL) })?;
    // SAFETY: as above.
    check(unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) }).map(drop)
}

/// Asks the kernel to let the pipe `fd` hold `bytes` (`F_SETPIPE_SZ`, Linux
/// only), instead of the default 64 KiB, so that a big message goes through in
/// fewer, larger steps. It may refuse (above `/proc/sys/fs/pipe-max-size`, or
/// past the user's quota of pipe memory): the pipe then keeps its size, which
/// is slower but works the same, so a refusal is not an error.
pub(crate) fn enlarge_pipe(fd: BorrowedFd<'_>, bytes: usize) {
    #[cfg(target_os = "linux")]
    {
        let bytes = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
        // SAFETY: F_SETPIPE_SZ only changes the pipe's capacity, or fails.
        unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, bytes) };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (fd, bytes);
}

/// How many bytes the pipe `fd` holds when nobody reads it: what
/// `F_GETPIPE_SZ` says on Linux; elsewhere the least POSIX promises (512).
pub(crate) fn pipe_capacity(fd: BorrowedFd<'_>) -> usize {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: F_GETPIPE_SZ only reads the pipe's capacity, or fails.
        let size = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETPIPE_SZ) };
        if let Ok(size) = usize::try_from(size) {
            return size;
        }
    }
    let _ = fd;
    512
}

/// Makes a send on socket `fd` that waits for room give up after `timeout`
/// (`SO_SNDTIMEO`): it returns what it sent by then, or `EAGAIN` if nothing.
pub(crate) fn set_send_timeout(fd: BorrowedFd<'_>, timeout: Duration) -> io::Result<()> {
    let timeout = libc::timeval {
        tv_sec: timeout.as_secs().min(i32::MAX as u64) as libc::time_t,
        tv_usec: timeout.subsec_micros() as libc::suseconds_t,
    };
    // SAFETY: setsockopt reads one timeval through a valid pointer of the
    // size given; the descriptor is open for the call.
    check(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDTIMEO,
            (&raw const timeout).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    })
    .map(drop)
}

/// Duplicates `fd` (the copy is closed on `exec`).
pub(crate) fn dup(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC makes a new descriptor; it fails cleanly if `fd` is not open.
    let new = check(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) })?;
    // SAFETY: fcntl just returned this new descriptor, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// Waits until one of `fds` is readable (or at end of file or broken), for at
/// most `timeout` (`None`: no limit). Returns, for each, whether it is ready.
/// A set of a known size, on the stack: waiting allocates nothing.
pub(crate) fn poll_readable<const N: usize>(
    fds: [BorrowedFd<'_>; N],
    timeout: Option<Duration>,
) -> io::Result<[bool; N]> {
    let mut pollfds = fds.map(|fd| entry(fd, libc::POLLIN));
    poll(&mut pollfds, timeout)?;
    Ok(pollfds.map(|entry| entry.revents != 0))
}

/// The `poll(2)` entry that waits for `events` on `fd` (`POLLIN`: readable;
/// `POLLOUT`: room to write).
fn entry(fd: BorrowedFd<'_>, events: libc::c_short) -> libc::pollfd {
    libc::pollfd {
        fd: fd.as_raw_fd(),
        events,
        revents: 0,
    }
}

/// Descriptors to wait on together, as many as it takes (a pool's driver
/// watches every worker), kept from one wait to the next: once it has
/// grown, waiting allocates nothing.
#[derive(Default)]
pub(crate) struct PollSet {
    entries: Vec<libc::pollfd>,
}

impl PollSet {
    /// Empties the set, keeping its room.
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }

    /// Adds `fd`, to wait until it is readable, and returns its index. The
    /// set keeps only the number: the caller keeps `fd` open until the wait
    /// is over, or the number may name some other file by then (a wrong
    /// answer, never a memory error: `poll` only reads the numbers).
    pub(crate) fn add(&mut self, fd: BorrowedFd<'_>) -> usize {
        self.entries.push(entry(fd, libc::POLLIN));
        self.entries.len() - 1
    }

    /// Waits until some descriptor of the set is readable, for at most
    /// `timeout` (`None`: no limit); then [`PollSet::is_ready`] tells which.
    pub(crate) fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        poll(&mut self.entries, timeout)
    }

    /// Whether the descriptor added as `index` was ready after the last wait.
    pub(crate) fn is_ready(&self, index: usize) -> bool {
        self.entries[index].revents != 0
    }
}

/// Waits until `fd` has room for a write (or its readers are gone), for at
/// most `timeout`. Returns whether it is ready.
pub(crate) fn poll_writable(fd: BorrowedFd<'_>, timeout: Duration) -> io::Result<bool> {
    let mut pollfd = [entry(fd, libc::POLLOUT)];
    poll(&mut pollfd, Some(timeout))?;
    Ok(pollfd[0].revents != 0)
}

/// Waits until `fd` has room for a write (or its readers are gone), or
/// until `ended` is readable (a pidfd: its process has ended), with no time
/// limit. Returns whether `fd` is ready; `false` means only `ended` is.
pub(crate) fn poll_writable_unless(fd: BorrowedFd<'_>, ended: BorrowedFd<'_>) -> io::Result<bool> {
    let mut pollfds = [entry(fd, libc::POLLOUT), entry(ended, libc::POLLIN)];
    poll(&mut pollfds, None)?;
    Ok(pollfds[0].revents != 0)
}

/// `poll(2)` on `pollfds` for at most `timeout` (`None`: no limit), retried
/// when a signal interrupts it; the kernel fills in each entry's `revents`.
fn poll(pollfds: &mut [libc::pollfd], timeout: Option<Duration>) -> io::Result<()> {
    let ms = match timeout {
        None => -1,
        // Round up, so a short timeout does not become a busy loop of 0 ms polls.
        Some(d) => d.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int,
    };
    loop {
        // SAFETY: `pollfds` is a valid array of `pollfds.len()` entries.
        let ret = unsafe { libc::poll(pollfds.as_mut_ptr(), pollfds.len() as libc::nfds_t, ms) };
        if ret != -1 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// The number of threads in this process, where the platform tells it cheaply.
pub(crate) fn thread_count() -> Option<usize> {
    #[cfg(target_os = "linux")]
    {
        // One directory entry per thread; listing it is cheaper than reading
        // and parsing /proc/self/status, and this runs before every fork.
        Some(std::fs::read_dir("/proc/self/task").ok()?.count())
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    /// In a forked child with `SIGPIPE` at its default action (death), writes
    /// to a pipe whose reader is gone, through the flag or (`fallback`)
    /// through the signal mask; the child exits 0 only if the write said
    /// `EPIPE`. Returns the child's wait status.
    fn write_to_a_pipe_nobody_reads(fallback: bool) -> libc::c_int {
        // SAFETY: the child only calls async-signal-safe functions (signal,
        // pipe, close, pwritev2 or writev with pthread_sigmask and
        // sigtimedwait) and ends with _exit.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            #[cfg(target_os = "linux")]
            NO_RWF_NOSIGNAL.store(fallback, std::sync::atomic::Ordering::Relaxed);
            // SAFETY: SIG_DFL is a valid disposition; no handler runs.
            unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
            let (reader, writer) = pipe().expect("pipe");
            drop(reader);
            let result = write_vectored_nosignal(writer.as_fd(), &[io::IoSlice::new(b"x")]);
            let epipe = matches!(result, Err(e) if e.raw_os_error() == Some(libc::EPIPE));
            // SAFETY: ends the forked child without running the test harness's code.
            unsafe { libc::_exit(if epipe { 0 } else { 1 }) };
        }
        assert!(pid > 0, "fork failed");
        let mut status = 0;
        // SAFETY: reaping our own child into a local.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        status
    }

    /// A wait says which descriptors are ready, by the index each was added
    /// with; a set used again after `clear` says so for the new ones only.
    #[test]
    fn a_poll_set_says_which_descriptors_are_ready_and_can_be_used_again() {
        let pipes: Vec<_> = (0..3).map(|_| pipe().unwrap()).collect();
        let send = |index: usize| {
            let sent = write_vectored_nosignal(pipes[index].1.as_fd(), &[io::IoSlice::new(b"x")]);
            assert_eq!(sent.unwrap(), 1);
        };
        let mut set = PollSet::default();
        send(1);
        for (reader, _) in &pipes {
            set.add(reader.as_fd());
        }
        set.wait(None).unwrap();
        assert_eq!([0, 1, 2].map(|i| set.is_ready(i)), [false, true, false]);
        // Only the two it holds now: the first pipe (now with a byte) and the
        // last. The second, still readable, is not in it any more.
        send(0);
        set.clear();
        assert_eq!(set.add(pipes[0].0.as_fd()), 0);
        assert_eq!(set.add(pipes[2].0.as_fd()), 1);
        set.wait(Some(Duration::ZERO)).unwrap();
        assert_eq!([0, 1].map(|i| set.is_ready(i)), [true, false]);
        // The same on the stack, for a set of a known size.
        let ready = poll_readable([0, 1, 2].map(|i| pipes[i].0.as_fd()), Some(Duration::ZERO));
        assert_eq!(ready.unwrap(), [true, true, false]);
    }

    #[test]
    fn a_write_to_a_pipe_nobody_reads_is_epipe_never_sigpipe_either_way() {
        for fallback in [false, true] {
            let status = write_to_a_pipe_nobody_reads(fallback);
            assert!(
                libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
                "fallback {fallback}: wait status {status:#x} (killed by signal {})",
                libc::WTERMSIG(status)
            );
        }
    }
}
