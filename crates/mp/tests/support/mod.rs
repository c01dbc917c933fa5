//! Helpers that several test files share (each file that needs them says
//! `mod support;`). The test harness itself is in `harness/`.

use mp::{ErrorKind, ExitStatus};

/// Waits until child `pid` has ended, without reaping it: the code under
/// test (a `Process`, a pool) must still be the one to reap it.
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
