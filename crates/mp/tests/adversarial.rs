//! Bad input and bad timing, made to happen on purpose: bytes on a pipe that
//! are not what a peer of this crate would send, and waits whose deadline
//! passes while the waiter cannot run.

mod harness;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use mp::{Connection, ErrorKind, Event, ExitStatus, Process};
use serde::{Deserialize, Serialize};

/// The descriptor behind a pipe end, read from its `Debug` output: the
/// tests below write raw bytes to it, as a broken or hostile peer would.
fn raw_fd<T>(end: &Connection<T>) -> i32 {
    let text = format!("{end:?}");
    let rest = text.split_once("fd: ").expect("Debug shows the fd").1;
    rest[..rest.find(',').expect("a field follows")]
        .parse()
        .expect("a number")
}

/// Writes `bytes` to descriptor `fd` whole.
fn write_raw(fd: i32, bytes: &[u8]) {
    // SAFETY: `bytes` is valid for reads of its length; `fd` is open (the
    // caller holds the end it belongs to).
    let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
    assert_eq!(
        n,
        bytes.len() as isize,
        "{}",
        std::io::Error::last_os_error()
    );
}

/// This process's virtual memory size, in bytes.
fn vm_size() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmSize:"))
        .expect("a VmSize line");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .expect("a number")
        .parse()
        .unwrap();
    kib * 1024
}

/// Caps this process's address space at 256 MiB more than it uses now, then
/// receives: the frame waiting claims 1 GiB and holds three bytes.
fn recv_huge_claim_in_little_memory(rx: Connection<Vec<u8>>) {
    let cap = vm_size() + (256 << 20);
    let limit = libc::rlimit {
        rlim_cur: cap,
        rlim_max: cap,
    };
    // SAFETY: `limit` is a valid rlimit for the call to read.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) }, 0);
    let err = rx.recv().expect_err("three bytes are no 1 GiB message");
    assert!(
        matches!(err.kind(), ErrorKind::MessageTruncated),
        "unexpected error: {err}"
    );
}

/// A peer writes a header claiming a message of 1 GiB (the largest allowed),
/// three bytes of it, and dies. The receiver must say the message was cut
/// off, without first setting aside a gigabyte for bytes that never came
/// (it used to: in a process with less memory than that, recv aborted).
fn pipe_header_claiming_a_huge_message_allocates_nothing_huge() {
    let (rx, tx) = mp::pipe::<Vec<u8>>(false).unwrap();
    let mut frame = (1u32 << 30).to_le_bytes().to_vec();
    frame.extend_from_slice(b"abc");
    write_raw(raw_fd(&tx), &frame);
    drop(tx);
    let mut p = Process::new(recv_huge_claim_in_little_memory, rx);
    p.start().unwrap();
    assert_eq!(p.join().unwrap(), ExitStatus::Code(0));
}

/// The state letter of process `pid` (`S` asleep, `T` stopped, ...).
fn state(pid: i32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("it is alive");
    // The state follows the command name, which is in parentheses.
    let after = stat.rsplit_once(") ").expect("a stat line").1;
    after.chars().next().expect("a state")
}

/// Waits until process `pid` is in state `want`.
fn wait_for_state(pid: i32, want: char) {
    while state(pid) != want {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Whether stopped process `pid` stopped inside one of system calls `numbers`.
fn stopped_in(pid: i32, numbers: &[i64]) -> bool {
    let syscall = std::fs::read_to_string(format!("/proc/{pid}/syscall")).unwrap();
    let first = syscall.split_whitespace().next().unwrap_or_default();
    numbers.iter().any(|n| n.to_string() == first)
}

fn signal(pid: i32, sig: i32) {
    // SAFETY: kill has no memory-safety preconditions.
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
}

fn set_subreaper(on: bool) {
    // SAFETY: PR_SET_CHILD_SUBREAPER takes an integer flag and touches no memory.
    let ret = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, libc::c_ulong::from(on)) };
    assert_eq!(ret, 0);
}

/// How long the waiter below waits.
const TIMEOUT: Duration = Duration::from_secs(2);

/// What the waiter below waits for.
#[derive(Serialize, Deserialize)]
enum Wait {
    /// An event nobody sets.
    Event(Event),
    /// A message on a pipe nobody sends on.
    Message(Connection<u32>),
}

/// Says its pid, waits `TIMEOUT`, and says how that ended: 0 timed out,
/// 1 woken, 2 abandoned, 3 another error.
fn wait_and_report(args: (Connection<u32>, Wait)) {
    let (report, wait) = args;
    report.send(std::process::id()).unwrap();
    let ended = match wait {
        Wait::Event(event) => event.wait_timeout(TIMEOUT).map(|set| set as u32),
        Wait::Message(incoming) => incoming.recv_timeout(TIMEOUT).map(|_| 1),
    };
    let code = match ended {
        Ok(code) => code,
        Err(e) if matches!(e.kind(), ErrorKind::Timeout { .. }) => 0,
        Err(e) if matches!(e.kind(), ErrorKind::WaitAbandoned { .. }) => 2,
        Err(_) => 3,
    };
    report.send(code).unwrap();
}

/// Starts the waiter, then stays until it is killed: while it lives, the
/// waiter has a parent who could wake it.
fn start_waiter_and_stay(args: (Connection<u32>, Wait)) {
    let mut waiter = Process::new(wait_and_report, args);
    waiter.start().unwrap();
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

/// A waiter that cannot run while its deadline passes must report a timeout
/// when it runs again, even if by then nobody is left who could wake it. It
/// used to see that its idle slice had passed too, find nobody left, and give
/// up with `WaitAbandoned` (seen under load as `wait_timeout(20ms)` failing).
/// Here the waiter (`wait`, started by a middle process) is stopped inside its
/// sleep, its parent is killed, its deadline passes, and it is let go; it
/// reports 0 for a timeout.
fn stopped_past_deadline(wait: Wait, in_syscall: &[i64]) {
    // The waiter is orphaned to this process, which can then reap it.
    set_subreaper(true);
    let (report, report_tx) = mp::pipe::<u32>(false).unwrap();
    let mut middle = Process::new(start_waiter_and_stay, (report_tx, wait));
    middle.start().unwrap();
    let waiter = report.recv().unwrap() as i32;
    // It is in its wait once asleep; stop it there, inside the system call
    // (if it was between two 50 ms slices, let it go back to sleep first).
    wait_for_state(waiter, 'S');
    let asleep_at = Instant::now();
    loop {
        signal(waiter, libc::SIGSTOP);
        wait_for_state(waiter, 'T');
        if stopped_in(waiter, in_syscall) {
            break;
        }
        signal(waiter, libc::SIGCONT);
        wait_for_state(waiter, 'S');
    }
    // Nobody is left who could wake it, and the deadline passes.
    middle.kill().unwrap();
    middle.join().unwrap();
    let past = asleep_at + TIMEOUT + Duration::from_millis(100);
    std::thread::sleep(past.saturating_duration_since(Instant::now()));
    signal(waiter, libc::SIGCONT);
    let code = report.recv().unwrap();
    // SAFETY: the waiter was orphaned to this subreaper; a null status is allowed.
    let reaped = unsafe { libc::waitpid(waiter, std::ptr::null_mut(), 0) };
    assert_eq!(reaped, waiter);
    set_subreaper(false);
    assert_eq!(
        code, 0,
        "0 timed out, 1 woken, 2 abandoned, 3 another error"
    );
}

fn an_event_wait_past_its_deadline_times_out_rather_than_giving_up() {
    stopped_past_deadline(Wait::Event(Event::new().unwrap()), &[libc::SYS_futex]);
}

fn a_pipe_recv_past_its_deadline_times_out_rather_than_giving_up() {
    // This process keeps the sending end open, and sends nothing.
    let (rx, _tx) = mp::pipe::<u32>(false).unwrap();
    // poll() is the poll or the ppoll system call, depending on the platform.
    #[cfg(target_arch = "x86_64")]
    let calls = [libc::SYS_poll, libc::SYS_ppoll];
    #[cfg(not(target_arch = "x86_64"))]
    let calls = [libc::SYS_ppoll];
    stopped_past_deadline(Wait::Message(rx), &calls);
}

/// Receives for 10 ms on an end nobody sends on: a timeout (exit code 0).
fn recv_briefly(conn: Connection<u32>) {
    match conn.recv_timeout(Duration::from_millis(10)) {
        Err(e) if matches!(e.kind(), ErrorKind::Timeout { .. }) => {}
        other => panic!("expected a timeout, got {other:?}"),
    }
}

/// A thread of the parent waits in `recv` on an end while the parent forks
/// a child that uses a clone of the same end. The child must be able to
/// receive: `recv` used to hold the end's buffer lock while it waited, so the
/// child got a copy of a lock held by a thread it does not have, and its
/// `recv` hung for ever.
fn a_child_forked_while_a_thread_waits_in_recv_can_receive() {
    let (ours, theirs) = mp::pipe::<u32>(true).unwrap();
    let ours_in_thread = ours.clone();
    let (tid_tx, tid_rx) = std::sync::mpsc::channel();
    std::thread::scope(|s| {
        let waiter = s.spawn(move || {
            // SAFETY: gettid has no preconditions.
            tid_tx.send(unsafe { libc::gettid() }).unwrap();
            ours_in_thread.recv()
        });
        let tid = tid_rx.recv().unwrap();
        // Asleep after saying so: it is in its recv's wait.
        let path = format!("/proc/self/task/{tid}/stat");
        loop {
            let stat = std::fs::read_to_string(&path).unwrap();
            if stat.rsplit_once(") ").unwrap().1.starts_with('S') {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let mut child = Process::new(recv_briefly, ours.clone());
        child.start().unwrap();
        // Bounded, so that the old hang fails the test instead of hanging it.
        let status = child.join_timeout(Duration::from_secs(10)).unwrap();
        if status.is_none() {
            child.kill().unwrap();
            child.join().unwrap();
        }
        theirs.send(7).unwrap();
        assert_eq!(waiter.join().unwrap().unwrap(), 7);
        assert_eq!(status, Some(ExitStatus::Code(0)), "None: the child hung");
    });
}

fn main() -> ExitCode {
    harness::run(tests![
        pipe_header_claiming_a_huge_message_allocates_nothing_huge,
        an_event_wait_past_its_deadline_times_out_rather_than_giving_up,
        a_pipe_recv_past_its_deadline_times_out_rather_than_giving_up,
        a_child_forked_while_a_thread_waits_in_recv_can_receive,
    ])
}
