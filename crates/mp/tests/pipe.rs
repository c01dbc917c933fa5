//! `mp::pipe`: both directions across fork and spawn and between threads,
//! one-way ends, timeouts and `poll`, and every way a `recv` or `send` learns
//! that the other side is gone: closed, killed, killed halfway through a
//! message, or never going to send while a forgotten copy keeps the pipe open.

mod harness;

use std::process::ExitCode;
use std::time::Duration;

use mp::{Connection, ErrorKind, Event, ExitStatus, Process, Queue, StartMethod};

const METHODS: [StartMethod; 2] = [StartMethod::Fork, StartMethod::Spawn];

fn start<A>(target: fn(A), args: A, method: StartMethod) -> Process
where
    A: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
{
    let mut p = Process::new(target, args).start_method(method);
    p.start().unwrap();
    p
}

/// Sends back every message it receives, until the pipe closes.
fn echo(conn: Connection<Vec<u64>>) {
    loop {
        match conn.recv() {
            Ok(v) => conn.send(v).unwrap(),
            Err(e) if matches!(e.kind(), ErrorKind::ConnectionClosed) => return,
            Err(e) => panic!("{e}"),
        }
    }
}

fn round_trips_of_every_size_across_fork_and_spawn() {
    for method in METHODS {
        let (ours, theirs) = mp::pipe(true).unwrap();
        let mut p = start(echo, theirs, method);
        // Sizes around the frame header and the read chunk, and big ones (up to
        // 1.5 MB serialized), far more than the socket's buffer.
        for len in [0, 1, 2, 511, 2048, 2049, 100_000, 300_000] {
            let sent: Vec<u64> = (0..len as u64).map(|i| i * 2_654_435_761).collect();
            ours.send(sent.clone()).unwrap();
            assert_eq!(ours.recv().unwrap(), sent, "{method:?}, {len} items");
        }
        ours.shutdown(); // the forked child holds a copy of `ours` too: shut it for both
        assert!(p.join().unwrap().success(), "{method:?}");
    }
}

fn send_numbers(conn: Connection<u32>) {
    for i in 0..1000 {
        conn.send(i).unwrap();
    }
}

fn messages_arrive_in_order_between_threads_and_processes() {
    let (rx, tx) = mp::pipe::<u32>(false).unwrap();
    std::thread::scope(|s| {
        s.spawn(|| send_numbers(tx.clone()));
        for i in 0..1000 {
            assert_eq!(rx.recv().unwrap(), i);
        }
    });
    for method in METHODS {
        let mut p = start(send_numbers, tx.clone(), method);
        for i in 0..1000 {
            assert_eq!(rx.recv().unwrap(), i);
        }
        assert!(p.join().unwrap().success());
    }
}

fn one_way_ends_refuse_the_other_direction() {
    let (rx, tx) = mp::pipe::<u8>(false).unwrap();
    let err = rx.send(1).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidArgument(_)), "{err}");
    assert!(err.to_string().contains("receiving end"), "{err}");
    let err = tx.recv().unwrap_err();
    assert!(err.to_string().contains("sending end"), "{err}");
    assert!(tx.poll(Duration::ZERO).is_err());
    tx.send(7).unwrap();
    assert_eq!(rx.recv().unwrap(), 7);
}

fn recv_timeout_and_poll() {
    let (a, b) = mp::pipe::<String>(true).unwrap();
    assert!(!a.poll(Duration::ZERO).unwrap());
    assert!(!a.poll(Duration::from_millis(10)).unwrap());
    let err = a.recv_timeout(Duration::from_millis(20)).unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert!(err.to_string().contains("Connection::recv"), "{err}");
    b.send("hello".to_owned()).unwrap();
    assert!(a.poll(Duration::ZERO).unwrap());
    assert!(a.poll(Duration::from_secs(3600)).unwrap());
    assert_eq!(a.recv_timeout(Duration::ZERO).unwrap(), "hello");
    assert!(!a.poll(Duration::ZERO).unwrap());
}

fn send_three_then_close(conn: Connection<u32>) {
    for i in 0..3 {
        conn.send(i).unwrap();
    }
    conn.close();
}

fn recv_after_the_other_end_closes_is_connection_closed() {
    for method in METHODS {
        let (ours, theirs) = mp::pipe(true).unwrap();
        let mut p = start(send_three_then_close, theirs, method);
        // The messages sent before the close all arrive, then the error.
        for i in 0..3 {
            assert_eq!(ours.recv().unwrap(), i);
        }
        let err = ours.recv().unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::ConnectionClosed), "{err}");
        assert!(err.to_string().contains("other end"), "{err}");
        assert!(
            ours.poll(Duration::ZERO).unwrap(),
            "end of stream is readable"
        );
        assert!(p.join().unwrap().success(), "{method:?}");
    }
}

/// Says it is ready, then waits on an event nobody sets until it is killed.
fn signal_then_block((_conn, here, never): (Connection<u32>, Event, Event)) {
    here.set();
    let _ = never.wait();
    std::process::exit(3);
}

/// Starts a child that holds `end` and blocks (see `signal_then_block`),
/// and returns once it is there.
fn start_blocked(end: Connection<u32>, method: StartMethod) -> Process {
    let here = Event::new().unwrap();
    let p = start(
        signal_then_block,
        (end, here.clone(), Event::new().unwrap()),
        method,
    );
    here.wait().unwrap();
    p
}

fn kill_and_reap(p: &mut Process) {
    p.kill().unwrap();
    assert_eq!(p.join().unwrap(), ExitStatus::Signal(libc::SIGKILL));
}

fn a_long_recv_timeout_times_out_while_the_sender_lives() {
    for method in METHODS {
        let (ours, theirs) = mp::pipe::<u32>(true).unwrap();
        let mut p = start_blocked(theirs, method);
        // Longer than a slice, so the receiver checks for a sender between
        // slices: the child lives and could send, so this is a timeout, not
        // "nobody left".
        let err = ours.recv_timeout(Duration::from_millis(120)).unwrap_err();
        assert!(err.is_timeout(), "{err}");
        kill_and_reap(&mut p);
    }
}

fn recv_when_the_sender_is_killed_is_connection_closed() {
    for method in METHODS {
        let (ours, theirs) = mp::pipe::<u32>(true).unwrap();
        let mut p = start_blocked(theirs, method);
        kill_and_reap(&mut p);
        // Our copy of their end went away with `theirs`: the killed child
        // held the last one.
        let err = ours.recv().unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::ConnectionClosed), "{err}");
    }
}

fn recv_gives_up_when_a_forgotten_copy_keeps_the_pipe_open() {
    for method in METHODS {
        let (ours, theirs) = mp::pipe::<u32>(true).unwrap();
        // Python's trap: the parent keeps a handle on the child's end, so
        // the end never closes, and Python's recv would wait forever.
        let forgotten = theirs.clone();
        let mut p = start_blocked(theirs, method);
        kill_and_reap(&mut p);
        let err = ours.recv().unwrap_err();
        assert!(
            matches!(
                err.kind(),
                ErrorKind::WaitAbandoned {
                    what: "Connection::recv"
                }
            ),
            "{err}"
        );
        drop(forgotten);
    }
}

/// Sends one message far larger than the socket's buffer: it blocks
/// halfway until the parent reads, which it never does.
fn send_a_huge_message(conn: Connection<Vec<u8>>) {
    let _ = conn.send(vec![7; 4 << 20]);
    std::process::exit(3);
}

fn a_sender_killed_mid_message_is_a_truncated_message() {
    for method in METHODS {
        let (ours, theirs) = mp::pipe::<Vec<u8>>(true).unwrap();
        let mut p = start(send_a_huge_message, theirs, method);
        // The first bytes are in: the child is inside its send, which cannot
        // finish (4 MiB never fit in the buffer) until we read.
        assert!(ours.poll(Duration::from_secs(3600)).unwrap());
        kill_and_reap(&mut p);
        let err = ours.recv().unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::MessageTruncated), "{err}");
        // And it stays so: the stream has lost its place.
        let err = ours.recv().unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::MessageTruncated), "{err}");
    }
}

/// In a child forked while another thread of its parent was halfway through
/// sending on `conn`: a send of its own must say why it cannot, not wait
/// forever for a lock whose holder is not in this process. Exits 0 if so.
fn send_on_an_end_another_thread_was_sending_on(conn: Connection<Vec<u8>>) {
    let outcome = conn.send(vec![1]);
    let refused = matches!(outcome, Err(ref e) if matches!(e.kind(), ErrorKind::Unsupported(_)));
    std::process::exit(if refused { 0 } else { 6 });
}

fn a_child_forked_while_a_thread_sends_gets_an_error_not_a_hang() {
    let (ours, theirs) = mp::pipe::<Vec<u8>>(true).unwrap();
    let sender = theirs.clone();
    let thread = std::thread::spawn(move || sender.send(vec![7; 4 << 20]));
    // The first bytes are in: the thread is inside its send, which cannot
    // finish (4 MiB never fit in the buffer) until we read.
    assert!(ours.poll(Duration::from_secs(3600)).unwrap());
    let mut child = start(
        send_on_an_end_another_thread_was_sending_on,
        theirs,
        StartMethod::Fork,
    );
    let status = child.join_timeout(Duration::from_secs(30)).unwrap();
    if status.is_none() {
        child.kill().unwrap();
        child.join().unwrap();
    }
    assert_eq!(ours.recv().unwrap().len(), 4 << 20);
    thread.join().unwrap().unwrap();
    assert_eq!(
        status,
        Some(ExitStatus::Code(0)),
        "the child's send hung or did not refuse"
    );
}

/// Restores SIGPIPE's default (which kills), sends to a closed end, and
/// exits 0 if the send returned ConnectionClosed instead.
fn send_to_closed_end_with_sigpipe_armed(conn: Connection<u32>) {
    // SAFETY: restoring a signal's default action has no memory-safety
    // preconditions; this child runs only this function.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let outcome = conn.send(1);
    let closed = matches!(outcome, Err(ref e) if matches!(e.kind(), ErrorKind::ConnectionClosed));
    std::process::exit(if closed { 0 } else { 5 });
}

fn send_to_a_closed_end_is_an_error_never_sigpipe() {
    for method in METHODS {
        let (ours, theirs) = mp::pipe::<u32>(true).unwrap();
        ours.close();
        let mut p = start(send_to_closed_end_with_sigpipe_armed, theirs, method);
        assert_eq!(p.join().unwrap(), ExitStatus::Code(0), "{method:?}");
    }
}

fn a_connection_inside_a_message_is_refused() {
    let q: Queue<Connection<u8>> = Queue::new().unwrap();
    let (a, _b) = mp::pipe::<u8>(true).unwrap();
    let err = q.put(a).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::NotInStartArguments { what: "Connection" }
        ),
        "{err}"
    );
}

fn main() -> ExitCode {
    harness::run(tests![
        round_trips_of_every_size_across_fork_and_spawn,
        messages_arrive_in_order_between_threads_and_processes,
        one_way_ends_refuse_the_other_direction,
        recv_timeout_and_poll,
        recv_after_the_other_end_closes_is_connection_closed,
        a_long_recv_timeout_times_out_while_the_sender_lives,
        recv_when_the_sender_is_killed_is_connection_closed,
        recv_gives_up_when_a_forgotten_copy_keeps_the_pipe_open,
        a_sender_killed_mid_message_is_a_truncated_message,
        a_child_forked_while_a_thread_sends_gets_an_error_not_a_hang,
        send_to_a_closed_end_is_an_error_never_sigpipe,
        a_connection_inside_a_message_is_refused,
    ])
}
