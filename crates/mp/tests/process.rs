//! Process: both start methods, exit statuses, timeouts, signals, drop.

mod harness;

use std::process::ExitCode;
use std::time::Duration;

use mp::{ErrorKind, ExitStatus, Lock, Process, StartMethod};

const METHODS: [StartMethod; 2] = [StartMethod::Fork, StartMethod::Spawn];

fn exit_with(code: i32) {
    std::process::exit(code);
}

fn sleep_ms(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

fn panics(message: String) {
    panic!("{message}");
}

fn child_exit_code_comes_back() {
    for method in METHODS {
        let mut p = Process::new(exit_with, 7).start_method(method);
        p.start().unwrap();
        assert!(p.pid().is_some());
        assert_eq!(p.join().unwrap(), ExitStatus::Code(7), "{method:?}");
        // Joining again gives the same answer.
        assert_eq!(p.join().unwrap(), ExitStatus::Code(7));
    }
}

fn a_panicking_target_exits_with_code_1() {
    for method in METHODS {
        let mut p = Process::new(panics, "boom".to_owned()).start_method(method);
        p.start().unwrap();
        assert_eq!(p.join().unwrap(), ExitStatus::Code(1), "{method:?}");
    }
}

fn join_timeout_gives_up_then_succeeds() {
    for method in METHODS {
        let mut p = Process::new(sleep_ms, 300).start_method(method);
        p.start().unwrap();
        assert_eq!(p.join_timeout(Duration::from_millis(10)).unwrap(), None);
        assert!(p.is_alive());
        assert_eq!(
            p.join_timeout(Duration::from_secs(30)).unwrap(),
            Some(ExitStatus::Code(0))
        );
        assert!(!p.is_alive());
    }
}

fn terminate_and_kill_report_the_signal() {
    for method in METHODS {
        let mut p = Process::new(sleep_ms, 60_000).start_method(method);
        p.start().unwrap();
        p.terminate().unwrap();
        assert_eq!(p.join().unwrap(), ExitStatus::Signal(libc::SIGTERM));
        let mut p = Process::new(sleep_ms, 60_000).start_method(method);
        p.start().unwrap();
        p.kill().unwrap();
        let status = p.join().unwrap();
        assert_eq!(status, ExitStatus::Signal(libc::SIGKILL));
        assert_eq!(status.to_string(), "was killed by signal 9 (SIGKILL)");
    }
}

fn starting_twice_and_joining_unstarted_are_errors() {
    let mut p = Process::new(exit_with, 0);
    assert!(matches!(
        p.join().unwrap_err().kind(),
        ErrorKind::NotStarted { .. }
    ));
    p.start().unwrap();
    assert!(matches!(
        p.start().unwrap_err().kind(),
        ErrorKind::AlreadyStarted { .. }
    ));
    p.join().unwrap();
}

fn drop_without_join_reaps_the_child() {
    for method in METHODS {
        let mut p = Process::new(sleep_ms, 20).start_method(method);
        p.start().unwrap();
        let pid = p.pid().unwrap();
        drop(p); // does not wait: the child runs on, as in Python
        // `active_children` reaps the dropped children that have ended, as
        // Python's does; the harness checks nothing is left.
        while mp::active_children().iter().any(|c| c.pid() == pid) {
            std::thread::sleep(Duration::from_millis(1));
        }
        // A daemon is not killed when its handle is dropped (only when the
        // program ends): this test ends it by hand.
        let mut daemon = Process::new(sleep_ms, 60_000)
            .start_method(method)
            .daemon(true);
        daemon.start().unwrap();
        let pid = daemon.pid().unwrap();
        drop(daemon);
        assert!(mp::active_children().iter().any(|c| c.pid() == pid));
        // SAFETY: kill has no memory-safety preconditions; the pid is our
        // unreaped child, so it cannot have been reused.
        assert_eq!(unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) }, 0);
        while mp::active_children().iter().any(|c| c.pid() == pid) {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

fn hold_lock_and_die(lock: Lock) {
    let _guard = lock.lock().unwrap();
    // abort ends the process at once: the guard is never dropped, the lock never released.
    std::process::abort();
}

fn lock_holder_death_is_reported_to_the_next_locker() {
    for method in METHODS {
        let lock = Lock::new().unwrap();
        let mut p = Process::new(hold_lock_and_die, lock.clone()).start_method(method);
        p.start().unwrap();
        let pid = p.pid().unwrap();
        assert_eq!(p.join().unwrap(), ExitStatus::Signal(libc::SIGABRT));
        let Err(mp::LockError::OwnerDied(died)) = lock.lock() else {
            panic!("the holder died");
        };
        assert_eq!(died.pid(), Some(pid));
        drop(died.into_guard());
        // The lock works normally afterwards.
        drop(lock.lock().expect("the lock is consistent again"));
    }
}

/// Runs `body` with this process's descriptor `fd` (1 for stdout, 2 for
/// stderr) sent into a pipe, and returns what was written there.
fn capture(fd: i32, body: impl FnOnce()) -> String {
    use std::io::Read;
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe writes.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    use std::io::Write;
    std::io::stdout().flush().unwrap();
    // SAFETY: dup/dup2/close on descriptors this test owns.
    let saved = unsafe {
        let saved = libc::dup(fd);
        libc::dup2(fds[1], fd);
        libc::close(fds[1]);
        saved
    };
    body();
    std::io::stdout().flush().unwrap();
    // SAFETY: puts the real descriptor back and closes our copy; the pipe's
    // last write end (`fd` until now) closes, so the read below ends.
    unsafe {
        libc::dup2(saved, fd);
        libc::close(saved);
    }
    let mut text = String::new();
    // SAFETY: fds[0] is the pipe's read end, owned by nobody else.
    let mut reader = std::fs::File::from(unsafe { std::os::fd::OwnedFd::from_raw_fd(fds[0]) });
    reader.read_to_string(&mut text).unwrap();
    text
}

fn print_without_newline(text: String) {
    print!("{text}");
}

/// Rust's stdout keeps an unfinished line in a buffer. A fork copies that
/// buffer: unless it is flushed first, the child prints it a second time. And
/// a child ending with `_exit` must flush its own, or its last words are lost.
fn stdout_is_flushed_around_fork_nothing_twice_nothing_lost() {
    for method in METHODS {
        let printed = capture(1, || {
            print!("parent, unfinished line; ");
            let mut p = Process::new(print_without_newline, "child, unfinished line".to_owned())
                .start_method(method);
            p.start().unwrap();
            assert!(p.join().unwrap().success());
        });
        assert_eq!(
            printed, "parent, unfinished line; child, unfinished line",
            "{method:?}"
        );
    }
}

fn forking_with_threads_alive_warns_once() {
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::spawn(move || stopped.recv());
    let warnings = capture(2, || {
        for _ in 0..2 {
            let mut p = Process::new(exit_with, 0).start_method(StartMethod::Fork);
            p.start().unwrap();
            assert!(p.join().unwrap().success());
        }
    });
    drop(stop);
    thread.join().unwrap().unwrap_err();
    assert_eq!(warnings.matches("warning:").count(), 1, "{warnings}");
    assert!(warnings.contains("has 2 threads and forks"), "{warnings}");
    assert!(warnings.contains("StartMethod::Spawn"), "{warnings}");
}

/// Exits with 3 if `SIGUSR1` is blocked in this process, else 0.
fn exit_3_if_sigusr1_is_blocked(_: ()) {
    // SAFETY: an all-zero sigset_t is a valid value to write into.
    let mut blocked: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: with a null new set, pthread_sigmask only writes the current
    // mask into `blocked`, a valid place for it.
    let ret = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut blocked) };
    assert_eq!(ret, 0);
    // SAFETY: `blocked` was just filled in.
    if unsafe { libc::sigismember(&blocked, libc::SIGUSR1) } == 1 {
        std::process::exit(3);
    }
}

/// A spawned child starts the program with no signal blocked, whatever the
/// thread that started it had blocked (as `std::process::Command` does; the
/// crate starts the program itself, with `posix_spawn`). A forked child is a
/// copy of that thread, blocked signals included, as in C and in Python.
fn a_spawned_child_starts_with_no_signal_blocked() {
    std::thread::spawn(|| {
        // SAFETY: an all-zero sigset_t is valid; sigemptyset and sigaddset
        // initialize it; pthread_sigmask changes this thread's mask only.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGUSR1);
            assert_eq!(
                libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()),
                0
            );
        }
        let mut spawned =
            Process::new(exit_3_if_sigusr1_is_blocked, ()).start_method(StartMethod::Spawn);
        spawned.start().unwrap();
        assert_eq!(spawned.join().unwrap(), ExitStatus::Code(0));
        let mut forked =
            Process::new(exit_3_if_sigusr1_is_blocked, ()).start_method(StartMethod::Fork);
        forked.start().unwrap();
        assert_eq!(forked.join().unwrap(), ExitStatus::Code(3));
    })
    .join()
    .unwrap();
}

fn main() -> ExitCode {
    harness::run(tests![
        child_exit_code_comes_back,
        a_panicking_target_exits_with_code_1,
        join_timeout_gives_up_then_succeeds,
        terminate_and_kill_report_the_signal,
        starting_twice_and_joining_unstarted_are_errors,
        drop_without_join_reaps_the_child,
        lock_holder_death_is_reported_to_the_next_locker,
        stdout_is_flushed_around_fork_nothing_twice_nothing_lost,
        forking_with_threads_alive_warns_once,
        a_spawned_child_starts_with_no_signal_blocked,
    ])
}
