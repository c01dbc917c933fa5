//! Bad input and bad timing, made to happen on purpose: bytes on a pipe that
//! are not what a peer of this crate would send, and waits whose deadline
//! passes while the waiter cannot run.

mod harness;

use std::process::ExitCode;

use mp::{Connection, ErrorKind, ExitStatus, Process};

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
    assert_eq!(n, bytes.len() as isize, "{}", std::io::Error::last_os_error());
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

fn main() -> ExitCode {
    harness::run(tests![pipe_header_claiming_a_huge_message_allocates_nothing_huge])
}
