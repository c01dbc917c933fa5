//! Helpers that several test files share (each file that needs them says
//! `mod support;`). The test harness itself is in `harness/`.

use mp::{ErrorKind, ExitStatus};

/// Waits until child `pid` has ended, without reaping it: the code under
/// test (a `Process`, a pool) must still be the one to reap it.
// Not every file that says `mod support;` waits for a death.
#[allow(dead_code)]
pub fn wait_until_dead(pid: u32) {
    // SAFETY: an all-zero siginfo_t is a valid value of this plain C struct.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: `info` is a valid place for the kernel to write; WNOWAIT leaves
    // the child unreaped.
    let ret = unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOWAIT,
        )
    };
    assert_eq!(ret, 0, "waitid: {}", std::io::Error::last_os_error());
}

/// Asserts that `result` is the error of a task whose worker was killed
/// with SIGKILL; `context` goes into the message if it is not.
// Not every file that says `mod support;` kills workers.
#[allow(dead_code)]
pub fn assert_worker_killed<T: std::fmt::Debug>(result: mp::Result<T>, context: &str) {
    let err = result.unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::WorkerDied {
                status: ExitStatus::Signal(libc::SIGKILL),
                ..
            }
        ),
        "{context}: {err}"
    );
}

/// Runs `body` with this process's stderr going into a pipe; returns what
/// was written there (by this process or by children started meanwhile).
// Not every file that says `mod support;` reads stderr.
#[allow(dead_code)]
pub fn capture_stderr(body: impl FnOnce()) -> String {
    use std::io::Read;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let mut fds = [0; 2];
    // SAFETY: `fds` is a valid place for two descriptors.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: pipe() just opened both; nothing else owns them.
    let (reader, writer) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: dup and dup2 on descriptors this test owns; the saved copy is
    // put back and closed below.
    let saved = unsafe { libc::dup(2) };
    // SAFETY: as above.
    assert!(unsafe { libc::dup2(writer.as_raw_fd(), 2) } >= 0);
    body();
    // SAFETY: as above.
    unsafe {
        libc::dup2(saved, 2);
        libc::close(saved);
    }
    drop(writer);
    let mut text = String::new();
    std::fs::File::from(reader)
        .read_to_string(&mut text)
        .unwrap();
    text
}
