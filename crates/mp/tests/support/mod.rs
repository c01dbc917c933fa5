//! Helpers that several test files share (each file that needs them says
//! `mod support;`). The test harness itself is in `harness/`.

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
