//! Processes and the pool under faults: grandchildren, a worker whose task
//! left a process behind, `SIGPIPE` at its default, forks while a thread
//! prints, forged start arguments, bad arguments, panics at once.
//!
//! Every bad timing is made on purpose (pipes that hold a process at a known
//! point, a signal at a known moment); where a test bounds a wait, the bound
//! only turns a hang of the old code into a failure, it never decides a pass.

mod harness;
mod support;

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use mp::{AtomicValue, ErrorKind, ExitStatus, Lock, Pool, Process, Queue, StartMethod};
use serde::Serialize;

/// Set in the environment of a spawned child that must die before `mp::init`.
const EXIT_BEFORE_INIT: &str = "MP_FAULTS_EXIT_BEFORE_INIT";

/// How long a test waits before it calls a wait a hang. Never reached by
/// correct code; it only turns the old code's hangs into failures.
const HANG: Duration = Duration::from_secs(30);

fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe writes.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: pipe just returned these two descriptors, owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// Runs `body` with this process's descriptor `fd` replaced by `with`, then
/// puts the original back (also when `body` panics, so that the harness can
/// still report the failure).
fn redirect(fd: RawFd, with: RawFd, body: impl FnOnce()) {
    struct Restore(RawFd, RawFd);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = std::io::stdout().flush();
            // SAFETY: puts the original back and closes the saved copy.
            unsafe {
                libc::dup2(self.1, self.0);
                libc::close(self.1);
            }
        }
    }
    std::io::stdout().flush().unwrap();
    // SAFETY: dup/dup2 on descriptors this test owns.
    let saved = unsafe { libc::dup(fd) };
    let _restore = Restore(fd, saved);
    // SAFETY: as above.
    assert!(unsafe { libc::dup2(with, fd) } >= 0);
    body();
}

/// What `body` writes to stderr.
fn capture_stderr(body: impl FnOnce()) -> String {
    let (reader, writer) = pipe();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        redirect(2, writer.as_raw_fd(), body)
    }));
    drop(writer);
    let mut text = String::new();
    std::fs::File::from(reader)
        .read_to_string(&mut text)
        .unwrap();
    if let Err(panic) = outcome {
        eprint!("{text}"); // the failure's message went to the capture
        std::panic::resume_unwind(panic);
    }
    text
}

/// Joins `p`, failing the test (after killing it) if it hangs.
fn join_or_fail(p: &mut Process, what: &str) -> ExitStatus {
    match p.join_timeout(HANG).unwrap() {
        Some(status) => status,
        None => {
            p.kill().unwrap();
            p.join().unwrap();
            panic!("{what}: the child hung");
        }
    }
}

fn own_pid((): ()) -> u32 {
    std::process::id()
}

fn square(x: u64) -> u64 {
    x * x
}

// ---- item 4: grandchildren know who they are --------------------------------

/// Runs at every depth: checks its own name (the first level takes it as it
/// is), then that `Queue::get` knows its parent is alive and could still
/// put, then starts two children, one forked and one spawned, a level deeper.
fn descend((queue, expected, depth): (Queue<u32>, Option<String>, u32)) {
    let me = mp::current_process_name().to_owned();
    if let Some(expected) = expected {
        assert_eq!(me, expected);
    }
    // The parent holds the queue and is alive, waiting for us: a get with
    // a timeout runs to it and finds the queue empty (Python's queue.Empty).
    let err = queue.get_timeout(Duration::from_millis(50)).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::QueueEmpty), "{me}: {err}");
    if depth > 0 {
        for (n, method) in [(1, StartMethod::Fork), (2, StartMethod::Spawn)] {
            let name = format!("{me}:{n}");
            let args = (queue.clone(), Some(name.clone()), depth - 1);
            let mut child = Process::new(descend, args).start_method(method);
            child.start().unwrap();
            assert_eq!(
                join_or_fail(&mut child, &name),
                ExitStatus::Code(0),
                "{name}"
            );
        }
    }
}

/// In a forked child: a pool of its own keeps its worker while idle for
/// longer than a worker waits between checks on its parent.
fn pool_in_a_child((): ()) {
    let pool = Pool::with_start_method(1, StartMethod::Fork).unwrap();
    let first = pool.apply_async(own_pid, ()).unwrap().get().unwrap();
    std::thread::sleep(Duration::from_millis(1500)); // idle past the 1 s check
    let second = pool.apply_async(own_pid, ()).unwrap().get().unwrap();
    assert_eq!(first, second, "the pool lost its worker while idle");
}

fn grandchildren_know_who_they_are() {
    let queue = Queue::<u32>::new().unwrap();
    let mut child = Process::new(descend, (queue, None, 2)).start_method(StartMethod::Fork);
    assert!(child.name().starts_with("Process-"));
    assert!(!child.name().contains(':'));
    child.start().unwrap();
    assert_eq!(join_or_fail(&mut child, "child"), ExitStatus::Code(0));

    let mut child = Process::new(pool_in_a_child, ()).start_method(StartMethod::Fork);
    child.start().unwrap();
    assert_eq!(join_or_fail(&mut child, "pool"), ExitStatus::Code(0));
}

// ---- item 5: a worker's death is seen while its helper holds the pipe -------

/// In a worker: starts a helper process that waits on `release`, reports the
/// helper's pid on `report`, and dies by SIGKILL. The helper holds copies of
/// the worker's pipes, so they do not reach end of file.
fn start_helper_then_die((release, report): (RawFd, RawFd)) -> u32 {
    let mut helper = Process::new(wait_for_release, release).start_method(StartMethod::Fork);
    helper.start().unwrap();
    let pid = helper.pid().unwrap();
    // SAFETY: `report` is the write end of the test's pipe, inherited by
    // fork; `pid` is 4 readable bytes.
    let written = unsafe { libc::write(report, (&raw const pid).cast(), 4) };
    assert_eq!(written, 4);
    // SAFETY: kill has no memory-safety preconditions; this worker ends here.
    unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
    unreachable!("SIGKILL cannot be caught")
}

fn wait_for_release(release: RawFd) {
    let mut byte = 0u8;
    // SAFETY: `release` is the read end of the test's pipe, inherited by fork.
    unsafe { libc::read(release, (&raw mut byte).cast(), 1) };
}

fn set_subreaper(on: bool) {
    // SAFETY: PR_SET_CHILD_SUBREAPER takes an integer flag and touches no memory.
    let ret = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, libc::c_ulong::from(on)) };
    assert_eq!(ret, 0);
}

fn a_worker_death_is_seen_while_a_process_it_started_holds_its_pipes() {
    // Orphans come to this process, so the test can reap the helper itself.
    set_subreaper(true);
    let (release_r, release_w) = pipe();
    let (report_r, report_w) = pipe();
    let pool = Pool::with_start_method(1, StartMethod::Fork).unwrap();
    let handle = pool
        .apply_async(
            start_helper_then_die,
            (release_r.as_raw_fd(), report_w.as_raw_fd()),
        )
        .unwrap();
    // The helper is alive and waits for us until after the get.
    let result = handle.get_timeout(HANG);
    let mut pid = [0u8; 4];
    std::fs::File::from(report_r).read_exact(&mut pid).unwrap();
    let helper = u32::from_ne_bytes(pid) as libc::pid_t;
    release_and_reap(release_w, helper);
    drop((release_r, report_w, pool));
    support::assert_worker_killed(result, "the worker that started a helper and died");
}

/// Lets the helper go, reaps it (this process is its subreaper) and stops
/// being a subreaper; returns the helper's wait status.
fn release_and_reap(release_w: OwnedFd, helper: libc::pid_t) -> libc::c_int {
    std::fs::File::from(release_w).write_all(&[1]).unwrap();
    let mut status = 0;
    // SAFETY: the helper was orphaned to this subreaper; `status` is valid.
    let reaped = unsafe { libc::waitpid(helper, &mut status, 0) };
    assert_eq!(reaped, helper);
    set_subreaper(false);
    status
}

/// In a worker: starts a helper that will kill this worker halfway through
/// sending its result (see `kill_worker_halfway`), then returns a result four
/// times bigger than the result channel can hold, so that the worker is
/// still sending it when nobody reads.
fn big_result_killed_halfway(fds: (RawFd, RawFd, RawFd)) -> Vec<u8> {
    let worker = std::process::id();
    let mut helper =
        Process::new(kill_worker_halfway, (worker, fds)).start_method(StartMethod::Fork);
    helper.start().unwrap();
    // Not joined: the worker dies first, and the test (a subreaper) reaps it.
    std::mem::forget(helper);
    vec![7; 4 * channel_capacity()]
}

/// The most a pool worker's bulk socket (which its big results take) can hold,
/// at least: its send buffer is at most `wmem_max` (or `wmem_default`, if
/// larger), and at least a megabyte is assumed where `/proc` cannot tell.
fn channel_capacity() -> usize {
    let limit = |name: &str| {
        std::fs::read_to_string(format!("/proc/sys/net/core/{name}"))
            .ok()
            .and_then(|text| text.trim().parse::<usize>().ok())
            .unwrap_or(0)
    };
    // The kernel counts twice the bytes asked for, for its bookkeeping.
    (2 * limit("wmem_max").max(limit("wmem_default"))).max(1 << 20)
}

/// The one socket, among this process's inherited descriptors, that has
/// bytes waiting for its peer: the worker's end of its bulk socket, which
/// nobody reads yet.
fn result_socket(skip: [RawFd; 2]) -> Option<RawFd> {
    (3..1024).filter(|fd| !skip.contains(fd)).find(|&fd| {
        // SAFETY: `stat` is a plain C struct, for which all zeroes is a value.
        let mut stat: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: fstat writes one `stat` through a valid pointer, or fails
        // on a descriptor that is not open.
        let is_socket = unsafe { libc::fstat(fd, &mut stat) } == 0
            && stat.st_mode & libc::S_IFMT == libc::S_IFSOCK;
        is_socket && unread(fd) > 0
    })
}

/// How many bytes the socket's peer has not read yet (`SIOCOUTQ`, which
/// Linux defines as `TIOCOUTQ`).
fn unread(fd: RawFd) -> usize {
    let mut count: libc::c_int = 0;
    // SAFETY: SIOCOUTQ writes one c_int through a valid pointer.
    assert_eq!(unsafe { libc::ioctl(fd, libc::TIOCOUTQ, &mut count) }, 0);
    count as usize
}

/// In the helper: once the worker has started to send its result, freezes
/// the worker halfway through its frame (SIGSTOP: it cannot have finished,
/// the result being bigger than the channel holds) and tells the test, which
/// starts reading. Once the test has read all there is, and so waits for the rest,
/// kills the worker, then waits (at most `HANG`) for the test to let it go.
/// Until then it holds a copy of the result channel, which therefore never
/// reaches end of file.
fn kill_worker_halfway((worker, (report, release, release_w)): (u32, (RawFd, RawFd, RawFd))) {
    let worker = worker as libc::pid_t;
    let socket = loop {
        match result_socket([report, release_w]) {
            Some(fd) => break fd,
            None => std::thread::sleep(Duration::from_millis(1)),
        }
    };
    // SAFETY: kill has no memory-safety preconditions; the worker is our parent.
    assert_eq!(unsafe { libc::kill(worker, libc::SIGSTOP) }, 0);
    let me = std::process::id();
    // SAFETY: `report` is the test's pipe, inherited by fork; 4 bytes readable.
    assert_eq!(unsafe { libc::write(report, (&raw const me).cast(), 4) }, 4);
    while unread(socket) > 0 {
        std::thread::sleep(Duration::from_millis(1));
    }
    // SAFETY: as above.
    assert_eq!(unsafe { libc::kill(worker, libc::SIGKILL) }, 0);
    let mut released = libc::pollfd {
        fd: release,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let ready = unsafe { libc::poll(&mut released, 1, HANG.as_millis() as libc::c_int) };
    assert_eq!(
        ready, 1,
        "the test never let the helper go: it waited on the dead worker"
    );
}

/// A worker killed halfway through writing a result, while a process it
/// started keeps the result pipe open: the parent, waiting for the rest of
/// the frame, sees the death at once instead of waiting for the helper.
fn a_worker_killed_halfway_through_its_result_is_seen_while_its_helper_holds_the_pipe() {
    set_subreaper(true);
    let (release_r, release_w) = pipe();
    let (report_r, report_w) = pipe();
    let pool = Pool::with_start_method(1, StartMethod::Fork).unwrap();
    let fds = (
        report_w.as_raw_fd(),
        release_r.as_raw_fd(),
        release_w.as_raw_fd(),
    );
    let handle = pool.apply_async(big_result_killed_halfway, fds).unwrap();
    // The helper says when the worker is frozen halfway through its result.
    let mut pid = [0u8; 4];
    std::fs::File::from(report_r).read_exact(&mut pid).unwrap();
    let helper = u32::from_ne_bytes(pid) as libc::pid_t;
    let result = handle.get_timeout(HANG);
    let status = release_and_reap(release_w, helper);
    drop((release_r, report_w, pool));
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the helper was not let go in time: the parent waited on the dead worker's channel"
    );
    support::assert_worker_killed(result, "the worker killed halfway");
}

/// In a worker: starts a helper that holds copies of the worker's pipes and
/// waits on `release`; returns the worker's pid and the helper's.
fn start_helper(release: RawFd) -> (u32, u32) {
    let mut helper = Process::new(wait_for_release, release).start_method(StartMethod::Fork);
    helper.start().unwrap();
    let pid = helper.pid().unwrap();
    // Not joined: the worker dies first, and the test (a subreaper) reaps it.
    std::mem::forget(helper);
    (std::process::id(), pid)
}

fn echo(bytes: Vec<u8>) -> Vec<u8> {
    bytes
}

/// A worker dies while idle, and a helper it started holds the reading end
/// of its task pipe, so the pipe never breaks. The next task, bigger than
/// the pipe holds, must not leave the parent writing for ever into a pipe
/// nobody reads: it sees the worker's death and gives the task to the
/// replacement.
fn a_big_task_for_a_worker_that_died_idle_goes_to_its_replacement() {
    set_subreaper(true);
    let (release_r, release_w) = pipe();
    let pool = Pool::with_start_method(1, StartMethod::Fork).unwrap();
    let (worker, helper) = pool
        .apply_async(start_helper, release_r.as_raw_fd())
        .unwrap()
        .get()
        .unwrap();
    // SAFETY: kill has no memory-safety preconditions; `worker` is the pool's child.
    unsafe { libc::kill(worker as libc::pid_t, libc::SIGKILL) };
    support::wait_until_dead(worker);
    // More than the task pipe's 1 MiB: the write cannot finish unread.
    let big: Vec<u8> = (0..(4 << 20)).map(|i| (i % 251) as u8).collect();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let release_w = std::thread::scope(|scope| {
        scope.spawn(|| {
            let result = pool.apply_async(echo, big.clone()).and_then(|r| r.get());
            let _ = done_tx.send(result);
        });
        let done = done_rx.recv_timeout(HANG);
        // Letting the helper go closes the pipe's last reader: a stuck write ends.
        let status = release_and_reap(release_w, helper as libc::pid_t);
        (done, status)
    });
    let (done, status) = release_w;
    drop((release_r, pool));
    let result = done.expect("the parent kept writing into the dead worker's pipe");
    assert!(
        result.unwrap() == big,
        "the task did not run on the replacement"
    );
    assert!(libc::WIFEXITED(status), "helper status {status:#x}");
}

fn bytes(len: usize) -> Vec<u8> {
    vec![5; len]
}

/// Bytes waiting to be read in socket `fd` (`FIONREAD`); 0 if it is no
/// socket, or has none.
fn waiting_in(fd: RawFd) -> usize {
    // SAFETY: `stat` is a plain C struct, for which all zeroes is a value.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat writes one `stat` through a valid pointer, or fails.
    if unsafe { libc::fstat(fd, &mut stat) } != 0 || stat.st_mode & libc::S_IFMT != libc::S_IFSOCK {
        return 0;
    }
    let mut count: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through a valid pointer.
    if unsafe { libc::ioctl(fd, libc::FIONREAD, &mut count) } != 0 {
        return 0;
    }
    count as usize
}

/// In a child: makes a pool, then starts a helper (after the pool, so it
/// holds copies of this process's ends of the worker's task pipe and result
/// channel) that waits on `release`. With `big_result`, asks for a result far
/// bigger than the channel holds and waits until the worker is sending it.
/// Then reports the worker's and the helper's pids on `report` and dies at
/// once, the pool never dropped: nobody closes the worker's channels but
/// the helper.
fn pool_then_helper_then_die((release, report, big_result): (RawFd, RawFd, bool)) {
    let pool = Pool::with_start_method(1, StartMethod::Fork).unwrap();
    let worker = pool.apply_async(own_pid, ()).unwrap().get().unwrap();
    let mut helper = Process::new(wait_for_release, release).start_method(StartMethod::Fork);
    helper.start().unwrap();
    if big_result {
        let _result = pool.apply_async(bytes, 64 << 20).unwrap();
        // The worker is sending once its bulk socket has bytes for us.
        while !(3..1024).any(|fd| waiting_in(fd) > 0) {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let pids = [worker, helper.pid().unwrap()];
    // SAFETY: `report` is the write end of the test's pipe, inherited by
    // fork; `pids` is 8 readable bytes.
    assert_eq!(unsafe { libc::write(report, pids.as_ptr().cast(), 8) }, 8);
    // SAFETY: _exit ends this process without running anything of it.
    unsafe { libc::_exit(0) };
}

/// Runs `pool_then_helper_then_die` in a child and checks that its worker,
/// orphaned to this process, ends by itself; `waiting` says what the worker
/// was doing, for the message if it did not.
fn the_orphaned_worker_ends(big_result: bool, waiting: &str) {
    // Orphans come to this process: the worker and the helper.
    set_subreaper(true);
    let (release_r, release_w) = pipe();
    let (report_r, report_w) = pipe();
    let args = (release_r.as_raw_fd(), report_w.as_raw_fd(), big_result);
    let mut owner = Process::new(pool_then_helper_then_die, args).start_method(StartMethod::Fork);
    owner.start().unwrap();
    let mut pids = [0u8; 8];
    std::fs::File::from(report_r).read_exact(&mut pids).unwrap();
    let pid = |at: usize| u32::from_ne_bytes(pids[at..at + 4].try_into().unwrap());
    let (worker, helper) = (pid(0) as libc::pid_t, pid(4) as libc::pid_t);
    assert_eq!(
        join_or_fail(&mut owner, "the pool's process"),
        ExitStatus::Code(0)
    );
    let (ended, status) = wait_for_orphan(worker);
    let helper_status = release_and_reap(release_w, helper);
    drop((release_r, report_w));
    assert!(
        ended,
        "the worker outlived its pool: it waited for {waiting}"
    );
    assert!(libc::WIFEXITED(status), "worker status {status:#x}");
    assert!(
        libc::WIFEXITED(helper_status),
        "helper status {helper_status:#x}"
    );
}

/// The pool's process dies while a process it started later keeps the
/// worker's task pipe open, so the pipe never reaches end of file: the
/// idle worker must end all the same, and not wait for tasks forever.
fn a_worker_ends_when_its_pool_dies_while_a_later_process_holds_its_task_pipe() {
    the_orphaned_worker_ends(false, "tasks");
}

/// A worker is sending a result bigger than its channel holds when its
/// pool's process dies; a process that one forked later holds the channel's
/// reading ends, so the channel never breaks. The worker must end all the
/// same, not wait for ever for room.
fn a_worker_sending_a_big_result_ends_when_its_pool_dies() {
    the_orphaned_worker_ends(true, "room");
}

/// Waits (at most `HANG`) for `pid`, a child orphaned to this subreaper, to
/// end, kills it if it has not, and reaps it: (whether it ended by itself,
/// its wait status).
fn wait_for_orphan(pid: libc::pid_t) -> (bool, libc::c_int) {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor
    // or -1; `pid` is our child now, not reaped, so the pid is its.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as RawFd;
    assert!(
        pidfd >= 0,
        "pidfd_open: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: the kernel just returned this descriptor, owned by nobody else.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
    let mut ended = libc::pollfd {
        fd: pidfd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let ready = unsafe { libc::poll(&mut ended, 1, HANG.as_millis() as libc::c_int) };
    if ready != 1 {
        // SAFETY: kill has no memory-safety preconditions; `pid` is our child.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    let mut status = 0;
    // SAFETY: reaping our own child into a local.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    (ready == 1, status)
}

// ---- item 6: no death by SIGPIPE ----------------------------------------------

fn set_sigpipe(action: libc::sighandler_t) {
    // SAFETY: SIG_DFL and SIG_IGN are valid dispositions; no handler runs.
    unsafe { libc::signal(libc::SIGPIPE, action) };
}

/// With SIGPIPE's default action back (as many command-line programs put
/// it), the pool writes a task to a worker that died while idle: it must
/// get an error, replace the worker, and run the task, not die.
fn the_pool_survives_writing_to_a_dead_worker_with_sigpipe_at_its_default() {
    for method in [StartMethod::Fork, StartMethod::Spawn] {
        set_sigpipe(libc::SIG_DFL);
        let pool = Pool::with_start_method(1, method).unwrap();
        let worker = pool.apply_async(own_pid, ()).unwrap().get().unwrap();
        // SAFETY: kill has no memory-safety preconditions; `worker` is the pool's child.
        unsafe { libc::kill(worker as libc::pid_t, libc::SIGKILL) };
        support::wait_until_dead(worker);
        // The idle worker's death is not yet noticed: this task is written
        // to its pipe, which nobody reads any more.
        let result = pool.apply_async(square, 7).unwrap().get();
        drop(pool);
        set_sigpipe(libc::SIG_IGN);
        assert_eq!(result.unwrap(), 49, "{method:?}");
    }
}

// ---- item 8: fork while another thread prints -----------------------------------

fn compute(n: u64) {
    assert_eq!(
        (0..n).map(|i| i * i).sum::<u64>(),
        (n - 1) * n * (2 * n - 1) / 6
    );
}

fn print_lines(n: u64) {
    for i in 0..n {
        println!("child line {i}");
    }
}

/// What the test tells the printing thread.
enum ToPrinter {
    /// Take stdout's lock, print while holding it, and say so.
    Hold,
    /// The fork is done: let go of the lock.
    Forked,
}

/// The printing thread's two channels, for the `pthread_atfork` handler.
type PrinterLine = (
    std::sync::mpsc::Sender<ToPrinter>,
    std::sync::mpsc::Receiver<()>,
);
static PRINTER: std::sync::Mutex<Option<PrinterLine>> = std::sync::Mutex::new(None);

/// Runs in the forking thread just before every fork (`pthread_atfork`'s
/// "prepare"), after the crate's own preparations: asks the printing thread
/// to take stdout's lock, and waits until it holds it. A fork that holds
/// that lock itself keeps the thread from taking it: then, after a short
/// wait, the fork goes on. Either way is a legal order; the bad one, a fork
/// while the other thread holds the lock, is made to happen whenever the
/// fork leaves the lock to be taken.
extern "C" fn printer_takes_stdout() {
    let line = PRINTER.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((orders, held)) = line.as_ref() {
        while held.try_recv().is_ok() {} // late word of an earlier hold
        if orders.send(ToPrinter::Hold).is_ok() {
            let _ = held.recv_timeout(Duration::from_millis(10));
        }
    }
}

/// A thread that prints to stdout, made to hold stdout's lock at the moment
/// of each fork. Dropping it stops and joins the thread, also when the test
/// fails.
struct Printer {
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Printer {
    fn start() -> Printer {
        static REGISTER: std::sync::Once = std::sync::Once::new();
        REGISTER.call_once(|| {
            // SAFETY: the handler is a plain function that stays valid for
            // the whole program; it does nothing unless a `Printer` runs.
            unsafe { libc::pthread_atfork(Some(printer_takes_stdout), None, None) };
        });
        let (orders, inbox) = std::sync::mpsc::channel();
        let (holding, held) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            while let Ok(order) = inbox.recv() {
                let ToPrinter::Hold = order else {
                    continue; // a late `Forked`: the lock was let go already
                };
                let mut stdout = std::io::stdout().lock();
                writeln!(stdout, "the printing thread holds stdout").unwrap();
                let _ = holding.send(());
                // Hold it until the fork is done; should the forking thread
                // itself wait for the lock, let go after a while regardless.
                let _ = inbox.recv_timeout(Duration::from_millis(10));
                writeln!(stdout, "the printing thread lets go of stdout").unwrap();
            }
        });
        *PRINTER.lock().unwrap() = Some((orders, held));
        Printer {
            thread: Some(thread),
        }
    }

    /// Tells the thread that a fork is done.
    fn forked(&self) {
        if let Some((orders, _)) = PRINTER.lock().unwrap().as_ref() {
            let _ = orders.send(ToPrinter::Forked);
        }
    }
}

impl Drop for Printer {
    fn drop(&mut self) {
        // Dropping the sender ends the thread's loop.
        PRINTER.lock().unwrap_or_else(|p| p.into_inner()).take();
        let _ = self.thread.take().map(|thread| thread.join());
    }
}

/// Fifty forks of a computing target, fifty of a printing one, and a fork
/// pool's hundred tasks, each fork made while another thread holds stdout's
/// lock, or waits for it: every child finishes (the child's exit flushes stdout; a worker
/// flushes after each task). The fork-with-threads warning is still printed.
fn forks_while_another_thread_prints_all_finish() {
    let null = std::fs::File::options()
        .write(true)
        .open("/dev/null")
        .unwrap();
    let warnings = capture_stderr(|| {
        redirect(1, null.as_raw_fd(), || {
            let printer = Printer::start();
            for round in 0..50 {
                for (target, what) in [(compute as fn(u64), "computing"), (print_lines, "printing")]
                {
                    let mut p = Process::new(target, 10).start_method(StartMethod::Fork);
                    let started = p.start();
                    printer.forked();
                    started.unwrap();
                    let status = join_or_fail(&mut p, &format!("{what} child {round}"));
                    assert_eq!(status, ExitStatus::Code(0));
                }
            }
            let pool = Pool::with_start_method(2, StartMethod::Fork);
            printer.forked();
            let pool = pool.unwrap();
            let handles: Vec<_> = (0..100u64)
                .map(|x| pool.apply_async(square, x).unwrap())
                .collect();
            let results: Vec<u64> = handles
                .iter()
                .map(|h| h.get_timeout(HANG).unwrap())
                .collect();
            drop(pool);
            drop(printer);
            assert_eq!(results, (0..100u64).map(square).collect::<Vec<_>>());
        });
    });
    assert_eq!(warnings.matches("warning:").count(), 1, "{warnings}");
    assert!(warnings.contains("StartMethod::Spawn"), "{warnings}");
}

// ---- item 9: the spawned child's entry point trusts nothing ------------------------

/// Runs this test program as a would-be spawned child with `args`, feeding
/// `stdin` (when given) through a pipe; returns its exit status and stderr.
fn run_as_spawned_child(
    args: &[&str],
    stdin: Option<&[u8]>,
    stdout_piped: bool,
) -> (std::process::ExitStatus, String) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(if stdout_piped {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    if let Some(bytes) = stdin {
        // The child may refuse before reading it all: a broken pipe is fine.
        let _ = child.stdin.take().unwrap().write_all(bytes);
    }
    let output = child.wait_with_output().unwrap();
    (
        output.status,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The old (unchecked) start arguments' layout, filled in by a forger.
#[derive(Serialize)]
struct OldPayload {
    name: String,
    parent: i32,
    function: (isize, isize),
    fds: Vec<i32>,
    args: Vec<u8>,
}

/// The current start arguments' layout (see `process/mod.rs`).
#[derive(Serialize)]
struct Payload {
    me: (i32, String, String),
    function: (isize, isize),
    fds: Vec<i32>,
    args: Vec<u8>,
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `body` behind a header: magic, version, length, checksum.
fn sealed(body: &[u8], len: u64, sum: u64) -> Vec<u8> {
    let mut bytes = b"mp-start".to_vec();
    bytes.extend_from_slice(&1u32.to_le_bytes());
    bytes.extend_from_slice(&len.to_le_bytes());
    bytes.extend_from_slice(&sum.to_le_bytes());
    bytes.extend_from_slice(body);
    bytes
}

fn the_spawned_child_entry_point_trusts_nothing() {
    let flag = "--mp-spawned-child";
    let me = std::process::id() as i32;
    let forged_old = postcard::to_stdvec(&OldPayload {
        name: "forged".into(),
        parent: me,
        function: (0x1234, -0x5678),
        fds: vec![],
        args: vec![],
    })
    .unwrap();
    // A well-formed payload that names the wrong parent.
    let wrong_parent = postcard::to_stdvec(&Payload {
        me: (1, "forged".into(), "1".into()),
        function: (0x1234, -0x5678),
        fds: vec![],
        args: vec![],
    })
    .unwrap();
    let garbage = b"\x07\x00\xff garbage, not start arguments".to_vec();
    // (what, arguments, bytes on stdin if piped, stdout piped)
    type Case<'a> = (&'a str, Vec<&'a str>, Option<Vec<u8>>, bool);
    let cases: Vec<Case<'_>> = vec![
        ("a negative descriptor", vec![flag, "-1"], None, false),
        ("no descriptor", vec![flag], None, false),
        ("a word", vec![flag, "zero"], None, false),
        ("a closed descriptor", vec![flag, "99"], None, false),
        ("not a pipe (/dev/null)", vec![flag, "0"], None, false),
        ("a pipe's writing end", vec![flag, "1"], None, true),
        ("nothing at all", vec![flag, "0"], Some(vec![]), false),
        ("garbage", vec![flag, "0"], Some(garbage.clone()), false),
        (
            "forged in the old layout",
            vec![flag, "0"],
            Some(forged_old),
            false,
        ),
        (
            "a cut header",
            vec![flag, "0"],
            Some(sealed(&[], 0, 0)[..20].to_vec()),
            false,
        ),
        (
            "a cut body",
            vec![flag, "0"],
            Some(sealed(&garbage, 1000, fnv(&garbage))),
            false,
        ),
        (
            "a body longer than stated",
            vec![flag, "0"],
            Some(sealed(&garbage, 3, fnv(&garbage[..3]))),
            false,
        ),
        (
            "a wrong checksum",
            vec![flag, "0"],
            Some(sealed(&garbage, garbage.len() as u64, 12345)),
            false,
        ),
        (
            "an undecodable body",
            vec![flag, "0"],
            Some(sealed(&garbage, garbage.len() as u64, fnv(&garbage))),
            false,
        ),
        (
            "the wrong parent",
            vec![flag, "0"],
            Some(sealed(
                &wrong_parent,
                wrong_parent.len() as u64,
                fnv(&wrong_parent),
            )),
            false,
        ),
    ];
    let mut wrong = Vec::new();
    for (what, args, stdin, stdout_piped) in cases {
        let (status, stderr) = run_as_spawned_child(&args, stdin.as_deref(), stdout_piped);
        let refused = status.code().is_some_and(|code| code != 0)
            && stderr.lines().count() == 1
            && stderr.starts_with("mp::init: ")
            && !stderr.contains("panicked");
        if !refused {
            wrong.push(format!("{what}: ended with {status}, stderr: {stderr:?}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

// ---- item 10: bad arguments get errors, not panics or zombies ---------------------

fn exit_with(code: i32) {
    std::process::exit(code);
}

fn echo_len(bytes: Vec<u8>) {
    assert!(!bytes.is_empty());
}

fn bad_arguments_get_errors_not_panics_or_zombies() {
    // A pool no system could run.
    let err = Pool::new(usize::MAX).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidArgument(_)), "{err}");

    // A timeout later than any clock can tell means: no limit.
    let mut p = Process::new(exit_with, 0).start_method(StartMethod::Fork);
    p.start().unwrap();
    assert_eq!(
        p.join_timeout(Duration::MAX).unwrap(),
        Some(ExitStatus::Code(0))
    );
    let pool = Pool::with_start_method(1, StartMethod::Fork).unwrap();
    let handle = pool.apply_async(square, 9).unwrap();
    assert_eq!(handle.get_timeout(Duration::MAX).unwrap(), 81);
    drop(pool);

    // A spawned child that dies before reading its start arguments (more
    // than a pipe holds, so the parent's write must fail) is reaped and
    // reported, with SIGPIPE at its default so the write cannot kill us.
    set_sigpipe(libc::SIG_DFL);
    // SAFETY: no other thread of this test program runs now.
    unsafe { std::env::set_var(EXIT_BEFORE_INIT, "3") };
    let mut p = Process::new(echo_len, vec![7u8; 1 << 20]).start_method(StartMethod::Spawn);
    let started = p.start();
    // SAFETY: as above.
    unsafe { std::env::remove_var(EXIT_BEFORE_INIT) };
    set_sigpipe(libc::SIG_IGN);
    let err = started.unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::ChildDiedAtStart {
                status: ExitStatus::Code(3),
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("mp::init()"), "{err}");
}

/// Start arguments that a safe but odd program sends as one thing and
/// receives as another: the parent sends a four-byte `AtomicValue`'s memory,
/// the child reads it as a `Lock`.
struct Mismatched {
    sent: Option<AtomicValue<i32>>,
    received: Option<Lock>,
}

impl Serialize for Mismatched {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.sent.serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for Mismatched {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Mismatched {
            sent: None,
            received: Option::<Lock>::deserialize(d)?,
        })
    }
}

fn lock_it(args: Mismatched) {
    drop(args.received.unwrap().lock());
}

/// A `Lock` received in start arguments checks its memory's size, as `Value`
/// and `Array` do: the child refuses to start instead of locking past the
/// end of a four-byte file.
fn a_lock_received_in_start_arguments_checks_its_size() {
    let args = Mismatched {
        sent: Some(AtomicValue::new(1i32).unwrap()),
        received: None,
    };
    let mut p = Process::new(lock_it, args).start_method(StartMethod::Spawn);
    let stderr = capture_stderr(|| {
        p.start().unwrap();
        assert_eq!(join_or_fail(&mut p, "lock_it"), ExitStatus::Code(2));
    });
    // (postcard drops the error's own text: the line says the bytes did not
    // decode.)
    assert!(stderr.starts_with("mp::init: "), "{stderr}");
}

// ---- item 11: two children that panic at once print two whole lines --------------

/// Waits for one byte on `gate`, then panics with a long message.
fn panic_at_gate(gate: RawFd) {
    let mut byte = 0u8;
    // SAFETY: `gate` is the read end of the test's pipe, inherited by fork.
    unsafe { libc::read(gate, (&raw mut byte).cast(), 1) };
    panic!("{}", "long panic message ".repeat(50));
}

fn panic_now(_: ()) {
    panic!("{}", "long panic message ".repeat(50));
}

/// Stderr goes to a SOCK_SEQPACKET socket, which keeps each `write` as one
/// packet: each panic's line must come as exactly one packet, whole. One
/// write of under PIPE_BUF bytes is what keeps two children's lines apart
/// when they panic at the same moment, as two do here.
fn a_panic_message_is_one_write() {
    let mut sockets = [0; 2];
    // SAFETY: `sockets` has room for the two descriptors socketpair writes.
    let ret =
        unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_SEQPACKET, 0, sockets.as_mut_ptr()) };
    assert_eq!(ret, 0);
    // SAFETY: socketpair just returned these, owned by nobody else.
    let (reader, writer) = unsafe {
        (
            OwnedFd::from_raw_fd(sockets[0]),
            OwnedFd::from_raw_fd(sockets[1]),
        )
    };
    let (gate_r, gate_w) = pipe();
    let mut names = Vec::new();
    redirect(2, writer.as_raw_fd(), || {
        let mut children: Vec<Process> = (0..2)
            .map(|_| {
                Process::new(panic_at_gate, gate_r.as_raw_fd()).start_method(StartMethod::Fork)
            })
            .chain((0..2).map(|_| Process::new(panic_now, ()).start_method(StartMethod::Spawn)))
            .collect();
        for child in &mut children {
            child.start().unwrap();
            names.push(child.name().to_owned());
        }
        // Both forked children go at once.
        std::fs::File::from(gate_w.try_clone().unwrap())
            .write_all(&[1, 1])
            .unwrap();
        for child in &mut children {
            assert_eq!(join_or_fail(child, "panicking child"), ExitStatus::Code(1));
        }
    });
    drop((writer, gate_r, gate_w));
    let mut packets = Vec::new();
    loop {
        let mut buf = vec![0u8; 1 << 16];
        // SAFETY: `buf` is valid for its length; `reader` is an open socket.
        let n = unsafe { libc::recv(reader.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        assert!(n >= 0, "recv: {}", std::io::Error::last_os_error());
        if n == 0 {
            break; // every writer is closed
        }
        buf.truncate(n as usize);
        packets.push(String::from_utf8(buf).unwrap());
    }
    assert_eq!(packets.len(), 4, "{packets:#?}");
    let message = "long panic message ".repeat(50);
    for packet in &packets {
        assert!(packet.starts_with("process '"), "{packet}");
        assert!(
            packet.contains(&format!("panicked at {}:", file!())),
            "{packet}"
        );
        assert!(packet.ends_with(&format!(": {message}\n")), "{packet}");
        assert_eq!(packet.lines().count(), 1, "{packet}");
    }
    for name in names {
        assert_eq!(
            packets
                .iter()
                .filter(|p| p.starts_with(&format!("process '{name}'")))
                .count(),
            1,
            "{name}: {packets:#?}"
        );
    }
}

fn main() -> ExitCode {
    if let Some(code) = std::env::var_os(EXIT_BEFORE_INIT) {
        // A spawned child told to die before `mp::init` reads anything.
        std::process::exit(code.to_str().and_then(|c| c.parse().ok()).unwrap_or(3));
    }
    harness::run(tests![
        forks_while_another_thread_prints_all_finish,
        grandchildren_know_who_they_are,
        a_worker_death_is_seen_while_a_process_it_started_holds_its_pipes,
        a_worker_killed_halfway_through_its_result_is_seen_while_its_helper_holds_the_pipe,
        a_worker_ends_when_its_pool_dies_while_a_later_process_holds_its_task_pipe,
        a_big_task_for_a_worker_that_died_idle_goes_to_its_replacement,
        a_worker_sending_a_big_result_ends_when_its_pool_dies,
        the_pool_survives_writing_to_a_dead_worker_with_sigpipe_at_its_default,
        the_spawned_child_entry_point_trusts_nothing,
        bad_arguments_get_errors_not_panics_or_zombies,
        a_lock_received_in_start_arguments_checks_its_size,
        a_panic_message_is_one_write,
    ])
}
