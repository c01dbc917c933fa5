//! The queue tells the truth under faults: a writer waiting for room hears
//! that the reader died; a reader killed while finding the queue empty breaks
//! nothing; nor do producers and consumers of small messages killed at any
//! instant; a reader thread in this process counts as a reader; an idle pool's
//! workers do not count as producers.

mod harness;

use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use mp::{ErrorKind, ExitStatus, Pool, Process, Queue};

/// More than any pipe holds (`/proc/sys/fs/pipe-max-size` is 1 MiB unless raised).
const BIG: usize = 4 << 20;

/// Waits until `done()` holds: a condition another process will make true,
/// checked every millisecond. The bound only turns a bug into a failure
/// instead of a hang.
fn wait_until(what: &str, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "never saw: {what}"
        );
        thread::sleep(Duration::from_millis(1));
    }
}

fn put_big_expecting_truncated(q: Queue<Vec<u8>>) {
    let err = q
        .put(vec![7; BIG])
        .expect_err("the reader died mid-message");
    assert!(matches!(err.kind(), ErrorKind::MessageTruncated), "{err}");
}

fn get_one(q: Queue<Vec<u8>>) {
    let _ = q.get();
}

fn signal(p: &Process, signal: libc::c_int) {
    let pid = p.pid().unwrap() as libc::pid_t;
    // SAFETY: kill only sends a signal to our own child, which is not reaped yet.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    if signal == libc::SIGSTOP {
        let mut status = 0;
        // SAFETY: `status` is a valid place to write. WUNTRACED returns once
        // the child has stopped, and reaps nothing.
        let ret = unsafe { libc::waitpid(pid, &mut status, libc::WUNTRACED) };
        assert!(ret == pid && libc::WIFSTOPPED(status), "the writer stopped");
    }
}

/// The reader dies halfway through a message whose writer is still waiting
/// for room to write the rest. Nobody will ever read it: the writer must say
/// so within a slice, not wait as long as the parent lives.
///
/// The bad timing is made on purpose: the writer is stopped (SIGSTOP) once
/// its message has started, the reader drains the pipe (so it is inside the
/// message, which cannot be complete), then the reader is killed and the
/// writer let go.
fn a_writer_waiting_for_room_hears_that_the_reader_died() {
    let q: Queue<Vec<u8>> = Queue::new().unwrap();
    let mut writer = Process::new(put_big_expecting_truncated, q.clone());
    writer.start().unwrap();
    wait_until("the writer's first bytes", || !q.empty().unwrap());
    signal(&writer, libc::SIGSTOP);

    let mut reader = Process::new(get_one, q.clone());
    reader.start().unwrap();
    wait_until("the reader draining the pipe", || q.empty().unwrap());
    reader.kill().unwrap();
    assert_eq!(reader.join().unwrap(), ExitStatus::Signal(libc::SIGKILL));

    signal(&writer, libc::SIGCONT);
    let status = writer.join_timeout(Duration::from_secs(10)).unwrap();
    if status.is_none() {
        writer.kill().unwrap();
        writer.join().unwrap();
    }
    assert_eq!(
        status,
        Some(ExitStatus::Code(0)),
        "the writer must give up with MessageTruncated"
    );
    let err = q.get_timeout(Duration::ZERO).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::MessageTruncated), "{err}");
}

fn poll_for_ever((q, started): (Queue<u64>, Queue<()>)) {
    started.put(()).unwrap();
    loop {
        let _ = q.get_timeout(Duration::ZERO);
    }
}

/// A consumer that keeps looking at an empty queue, killed at any instant:
/// it took nothing, so the queue is not broken. Where the kill lands is up to
/// the scheduler: this repeats a fixed number of times and checks each time.
fn a_reader_killed_while_finding_the_queue_empty_breaks_nothing() {
    for round in 0..200_u64 {
        let q = Queue::new().unwrap();
        let started = Queue::new().unwrap();
        let mut p = Process::new(poll_for_ever, (q.clone(), started.clone()));
        p.start().unwrap();
        started.get().unwrap();
        p.kill().unwrap();
        assert_eq!(p.join().unwrap(), ExitStatus::Signal(libc::SIGKILL));
        q.put(round)
            .unwrap_or_else(|err| panic!("round {round}: put after the kill: {err}"));
        let got = q
            .get()
            .unwrap_or_else(|err| panic!("round {round}: get: {err}"));
        assert_eq!(got, round);
    }
}

fn put_for_ever((q, started, me): (Queue<(u32, u32)>, Queue<()>, u32)) {
    started.put(()).unwrap();
    for seq in 0.. {
        q.put((me, seq)).unwrap();
    }
}

fn get_for_ever((q, started): (Queue<(u32, u32)>, Queue<()>)) {
    started.put(()).unwrap();
    loop {
        q.get().unwrap();
    }
}

/// A producer and a consumer of small messages, both killed at any instant
/// (holding a lock, halfway through copying a record, between publishing a
/// record and moving the ring's end on, asleep): a small message is never
/// half there, so the queue is never broken. What is left holds each
/// producer's messages in order, none twice (those the consumer took are
/// gone with it). Where the kills land is up to the scheduler: this repeats
/// a fixed number of times, at a different moment each time, and checks
/// each time.
fn small_messages_survive_producers_and_consumers_killed_at_any_instant() {
    let q = Queue::new().unwrap();
    let started = Queue::new().unwrap();
    for round in 0..40_u32 {
        let mut producer = Process::new(put_for_ever, (q.clone(), started.clone(), round));
        let mut consumer = Process::new(get_for_ever, (q.clone(), started.clone()));
        producer.start().unwrap();
        consumer.start().unwrap();
        started.get().unwrap();
        started.get().unwrap();
        thread::sleep(Duration::from_micros(100 * u64::from(round % 10)));
        let (first, second) = if round % 2 == 0 {
            (&mut producer, &mut consumer)
        } else {
            (&mut consumer, &mut producer)
        };
        first.kill().unwrap();
        second.kill().unwrap();
        assert_eq!(producer.join().unwrap(), ExitStatus::Signal(libc::SIGKILL));
        assert_eq!(consumer.join().unwrap(), ExitStatus::Signal(libc::SIGKILL));
        let mut last = None;
        loop {
            match q.get_timeout(Duration::ZERO) {
                Ok((who, seq)) => {
                    assert_eq!(who, round, "a message of another round");
                    assert!(last < Some(seq), "round {round}: {seq} after {last:?}");
                    last = Some(seq);
                }
                Err(err) if matches!(err.kind(), ErrorKind::QueueEmpty) => break,
                Err(err) => panic!("round {round}: {err}"),
            }
        }
        q.put((u32::MAX, round)).unwrap();
        assert_eq!(q.get().unwrap(), (u32::MAX, round));
    }
}

/// A message bigger than the pipe, read by a thread of this process: the
/// writer waits for it, however long it takes to start reading. The reader
/// starts only after the pipe has been full for longer than the writer's
/// 50 ms slice, the moment an older `put` gave up with `QueueUnread`.
fn a_put_bigger_than_the_pipe_waits_for_a_reader_thread() {
    let q: Queue<Vec<u8>> = Queue::new().unwrap();
    let reader = q.clone();
    let (put, got) = thread::scope(|s| {
        let got = s.spawn(move || {
            wait_until("the writer's first bytes", || !reader.empty().unwrap());
            thread::sleep(Duration::from_millis(300));
            reader.get()
        });
        let put = q.put(vec![7; BIG]);
        (put, got.join().unwrap())
    });
    put.expect("a reader thread of this process holds the queue");
    assert!(got.unwrap() == vec![7; BIG], "the message arrived whole");
}

/// A pool's workers count as possible writers and readers, as every live
/// child does (a forked worker has every static of its parent, and Python's
/// workers can put too): a timed `get` runs to its timeout while they live.
/// Once the pool is gone, nobody is left, and `get` and a `put` into a full
/// pipe give up.
fn a_queue_counts_a_pools_workers_until_the_pool_is_gone() {
    let pool = Pool::new(2).unwrap();
    let q: Queue<u64> = Queue::new().unwrap();
    let err = q.get_timeout(Duration::from_millis(100)).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::QueueEmpty), "{err}");
    pool.join().unwrap();
    drop(pool);
    let err = q.get().unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::QueueAbandoned), "{err}");

    let big: Queue<Vec<u8>> = Queue::new().unwrap();
    let err = big.put(vec![7; BIG]).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::QueueUnread), "{err}");
}

fn main() -> ExitCode {
    harness::run(tests![
        a_writer_waiting_for_room_hears_that_the_reader_died,
        a_reader_killed_while_finding_the_queue_empty_breaks_nothing,
        small_messages_survive_producers_and_consumers_killed_at_any_instant,
        a_put_bigger_than_the_pipe_waits_for_a_reader_thread,
        a_queue_counts_a_pools_workers_until_the_pool_is_gone,
    ])
}
