//! Queue: the tutorial's pattern, many producers and consumers with big
//! messages, every way `get` gives up, the full-pipe trap, and clear errors.

mod harness;

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::Duration;

use mp::{ErrorKind, ExitStatus, Lock, Process, Queue, StartMethod};
use serde::{Deserialize, Serialize};

const METHODS: [StartMethod; 2] = [StartMethod::Fork, StartMethod::Spawn];

const MIB: usize = 1 << 20;
const PRODUCERS: u32 = 4;
/// Messages each producer puts in the many-producer tests: 12 MiB in all.
const CHUNKS: u32 = 3;

/// The tutorial's job: compute a sum and put it on the queue.
fn job(q: Queue<u64>) {
    let result: u64 = (0..1000).map(|i| i + i * i).sum();
    q.put(result).unwrap();
}

fn tutorial_pattern_join_then_get() {
    for method in METHODS {
        let q = Queue::new().unwrap();
        let mut p1 = Process::new(job, q.clone()).start_method(method);
        let mut p2 = Process::new(job, q.clone()).start_method(method);
        p1.start().unwrap();
        p2.start().unwrap();
        // Joining before `get` is safe: both results fit in the pipe.
        assert_eq!(p1.join().unwrap(), ExitStatus::Code(0), "{method:?}");
        assert_eq!(p2.join().unwrap(), ExitStatus::Code(0), "{method:?}");
        assert_eq!(q.get().unwrap(), 333_333_000);
        assert_eq!(q.get().unwrap(), 333_333_000);
        assert!(q.empty().unwrap());
    }
}

/// A 1 MiB message whose every byte depends on who sent it and when, so a
/// message with another's bytes mixed in, or cut short, does not match.
#[derive(Serialize, Deserialize)]
struct Chunk {
    producer: u32,
    seq: u32,
    #[serde(with = "bytes")]
    body: Vec<u8>,
}

/// Byte `i` is `(7 i + offset) mod 251`: the pattern repeats every 251 bytes,
/// so it is built by copying, which is fast even in a debug build.
fn body(producer: u32, seq: u32) -> Vec<u8> {
    let offset = (producer * 131 + seq * 17) as usize;
    let period: Vec<u8> = (0..251).map(|i| ((i * 7 + offset) % 251) as u8).collect();
    let mut body = Vec::with_capacity(MIB);
    while body.len() < MIB {
        let n = period.len().min(MIB - body.len());
        body.extend_from_slice(&period[..n]);
    }
    body
}

/// Serde sends a `Vec<u8>` one byte at a time, which takes a noticeable
/// fraction of a second per MiB in a debug build; as "bytes", it is one copy.
mod bytes {
    use serde::Serializer;
    use serde::de::{Deserializer, Error, Visitor};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(bytes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        struct Bytes;
        impl Visitor<'_> for Bytes {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: Error>(self, bytes: &[u8]) -> Result<Vec<u8>, E> {
                Ok(bytes.to_vec())
            }
        }
        d.deserialize_byte_buf(Bytes)
    }
}

fn check(chunk: &Chunk) -> (u32, u32) {
    assert!(chunk.producer < PRODUCERS && chunk.seq < CHUNKS);
    assert!(
        chunk.body == body(chunk.producer, chunk.seq),
        "message {} of producer {} arrived damaged",
        chunk.seq,
        chunk.producer
    );
    (chunk.producer, chunk.seq)
}

fn produce((producer, q): (u32, Queue<Option<Chunk>>)) {
    for seq in 0..CHUNKS {
        let body = body(producer, seq);
        q.put(Some(Chunk {
            producer,
            seq,
            body,
        }))
        .unwrap();
    }
}

/// Asserts that a consumer saw each producer's messages in the order put.
fn assert_in_order(received: &[(u32, u32)]) {
    for producer in 0..PRODUCERS {
        let seqs: Vec<u32> = received
            .iter()
            .filter(|(p, _)| *p == producer)
            .map(|(_, s)| *s)
            .collect();
        assert!(
            seqs.is_sorted(),
            "producer {producer}'s messages out of order: {seqs:?}"
        );
    }
}

fn start_producers(q: &Queue<Option<Chunk>>, method: StartMethod) -> Vec<Process> {
    (0..PRODUCERS)
        .map(|producer| {
            let mut p = Process::new(produce, (producer, q.clone())).start_method(method);
            p.start().unwrap();
            p
        })
        .collect()
}

fn four_producers_of_big_messages_one_consumer() {
    for method in METHODS {
        let q = Queue::new().unwrap();
        let mut producers = start_producers(&q, method);
        // `get` first, then `join`: the messages are far bigger than the pipe.
        let received: Vec<(u32, u32)> = (0..PRODUCERS * CHUNKS)
            .map(|_| check(&q.get().unwrap().expect("only chunks were put")))
            .collect();
        for p in &mut producers {
            assert_eq!(p.join().unwrap(), ExitStatus::Code(0), "{method:?}");
        }
        assert_in_order(&received);
        let distinct: BTreeSet<_> = received.iter().collect();
        assert_eq!(distinct.len(), received.len(), "a message came twice");
        assert!(q.empty().unwrap());
    }
}

/// What a consumer sends home: `(producer, seq)` of each chunk it took, in order.
type Taken = Queue<Vec<(u32, u32)>>;

/// Takes chunks until `None`, checks each, and sends home what it took.
fn consume((q, taken): (Queue<Option<Chunk>>, Taken)) {
    let mut received = Vec::new();
    while let Some(chunk) = q.get().unwrap() {
        received.push(check(&chunk));
    }
    taken.put(received).unwrap();
}

fn four_producers_two_consumers_at_once() {
    let q = Queue::new().unwrap();
    let taken = Queue::new().unwrap();
    // Spawned consumers receive both queues in their start arguments; forked
    // producers inherit theirs.
    let mut consumers: Vec<Process> = (0..2)
        .map(|_| {
            let mut c =
                Process::new(consume, (q.clone(), taken.clone())).start_method(StartMethod::Spawn);
            c.start().unwrap();
            c
        })
        .collect();
    let mut producers = start_producers(&q, StartMethod::Fork);
    // The consumers drain the pipe, so the producers can finish.
    for p in &mut producers {
        assert_eq!(p.join().unwrap(), ExitStatus::Code(0));
    }
    // Every chunk is in the queue before these: each consumer stops at one.
    q.put(None).unwrap();
    q.put(None).unwrap();
    let first = taken.get().unwrap();
    let second = taken.get().unwrap();
    for c in &mut consumers {
        assert_eq!(c.join().unwrap(), ExitStatus::Code(0));
    }
    assert_in_order(&first);
    assert_in_order(&second);
    let all: BTreeSet<(u32, u32)> = first.iter().chain(&second).copied().collect();
    assert_eq!(
        all.len(),
        first.len() + second.len(),
        "a message came twice"
    );
    let expected: BTreeSet<(u32, u32)> = (0..PRODUCERS)
        .flat_map(|p| (0..CHUNKS).map(move |s| (p, s)))
        .collect();
    assert_eq!(all, expected, "a message was lost");
}

fn wait_for_go(go: Queue<()>) {
    go.get().unwrap();
}

fn get_timeout_times_out_while_a_producer_lives() {
    let q: Queue<u64> = Queue::new().unwrap();
    let go = Queue::new().unwrap();
    let mut p = Process::new(wait_for_go, go.clone());
    p.start().unwrap();
    // Python's `get(timeout=0.1)` raises `queue.Empty`.
    let err = q.get_timeout(Duration::from_millis(100)).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::QueueEmpty), "{err}");
    assert!(err.to_string().contains("get_timeout"), "{err}");
    // A zero timeout only looks.
    let err = q.get_timeout(Duration::ZERO).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::QueueEmpty), "{err}");
    // A timeout too long for the clock is no limit, not a panic.
    q.put(5).unwrap();
    assert_eq!(q.get_timeout(Duration::MAX).unwrap(), 5);
    go.put(()).unwrap();
    assert_eq!(p.join().unwrap(), ExitStatus::Code(0));
}

fn exit_without_putting(_q: Queue<u64>) {}

fn get_gives_up_when_the_producer_ends_without_putting() {
    for method in METHODS {
        let q: Queue<u64> = Queue::new().unwrap();
        let mut p = Process::new(exit_without_putting, q.clone()).start_method(method);
        p.start().unwrap();
        // Not joined yet: `get` must find out by itself that the child ended.
        let err = q.get().unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::QueueAbandoned),
            "{method:?}: {err}"
        );
        assert!(err.to_string().contains("every process that could put"));
        assert_eq!(p.join().unwrap(), ExitStatus::Code(0));
    }
}

/// With nobody left who could put, a `get_timeout` still runs to its
/// timeout and finds the queue empty, as Python's does; only `get`, which
/// has no timeout, gives up early.
fn a_get_timeout_that_ran_out_says_timeout_even_with_nobody_left() {
    let q: Queue<u64> = Queue::new().unwrap();
    let err = q.get_timeout(Duration::from_millis(120)).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::QueueEmpty), "{err}");
    let err = q.get().unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::QueueAbandoned), "{err}");
}

fn get_gives_up_when_the_producer_is_killed() {
    for method in METHODS {
        let q: Queue<u64> = Queue::new().unwrap();
        let go = Queue::new().unwrap();
        let mut p = Process::new(wait_for_go, go).start_method(method);
        p.start().unwrap();
        p.kill().unwrap();
        let err = q.get().unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::QueueAbandoned),
            "{method:?}: {err}"
        );
        assert_eq!(p.join().unwrap(), ExitStatus::Signal(libc::SIGKILL));
    }
}

fn put_one_mib(q: Queue<Vec<u8>>) {
    q.put(vec![7; MIB]).unwrap();
}

fn a_producer_of_a_big_message_cannot_end_before_get() {
    let q = Queue::new().unwrap();
    let mut p = Process::new(put_one_mib, q.clone());
    p.start().unwrap();
    // 1 MiB does not fit in the pipe: the child waits for room, whatever the timing.
    assert_eq!(p.join_timeout(Duration::from_millis(200)).unwrap(), None);
    assert_eq!(q.get().unwrap(), vec![7; MIB]);
    assert_eq!(p.join().unwrap(), ExitStatus::Code(0));
}

/// The same big message, with no other process to read it: instead of
/// waiting forever for room, `put` says nobody is left to read.
fn put_gives_up_when_nobody_is_left_to_read() {
    let q: Queue<Vec<u8>> = Queue::new().unwrap();
    let err = q.put(vec![7; MIB]).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::QueueUnread), "{err}");
    assert!(
        err.to_string().contains("every process that could get"),
        "{err}"
    );
    // Part of the message is in the pipe: the queue is broken from now on.
    let err = q.put(vec![1]).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::MessageTruncated), "{err}");
}

fn a_writer_killed_mid_message_breaks_the_queue() {
    let q: Queue<Vec<u8>> = Queue::new().unwrap();
    let mut p = Process::new(put_one_mib, q.clone());
    p.start().unwrap();
    // Once any byte is in the pipe, the child is partway through its 1 MiB
    // message (the pipe cannot hold it all), and stays there until read.
    wait_until_empty_is(false, &q, &mut p);
    p.kill().unwrap();
    assert_eq!(p.join().unwrap(), ExitStatus::Signal(libc::SIGKILL));
    let err = q.get().unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::MessageTruncated), "{err}");
    // The stream has lost its place: the queue says so from now on.
    assert!(matches!(
        q.get().unwrap_err().kind(),
        ErrorKind::MessageTruncated
    ));
    assert!(matches!(
        q.put(vec![1]).unwrap_err().kind(),
        ErrorKind::MessageTruncated
    ));
}

fn get_one_mib(q: Queue<Vec<u8>>) {
    q.get().unwrap();
}

/// Waits until the queue's pipe is empty (`true`) or not (`false`), while
/// `p` lives.
fn wait_until_empty_is(empty: bool, q: &Queue<Vec<u8>>, p: &mut Process) {
    while q.empty().unwrap() != empty {
        assert!(p.is_alive(), "{} ended too soon", p.name());
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn a_reader_killed_mid_message_breaks_the_queue() {
    let q: Queue<Vec<u8>> = Queue::new().unwrap();
    let mut writer = Process::new(put_one_mib, q.clone());
    writer.start().unwrap();
    // The writer is partway through its message: freeze it there.
    wait_until_empty_is(false, &q, &mut writer);
    let writer_pid = writer.pid().unwrap() as libc::pid_t;
    // SAFETY: kill has no memory-safety preconditions; the pid is our child's.
    assert_eq!(unsafe { libc::kill(writer_pid, libc::SIGSTOP) }, 0);
    // Wait until it has stopped (this reports the stop; it reaps nothing).
    let mut status = 0;
    // SAFETY: `status` is a valid place for the kernel to write.
    let stopped = unsafe { libc::waitpid(writer_pid, &mut status, libc::WUNTRACED) };
    assert!(stopped == writer_pid && libc::WIFSTOPPED(status));
    let mut reader = Process::new(get_one_mib, q.clone());
    reader.start().unwrap();
    // Once the reader has emptied the pipe, it holds the first part of the
    // message and waits for the rest, which the frozen writer cannot send.
    wait_until_empty_is(true, &q, &mut reader);
    reader.kill().unwrap();
    assert_eq!(reader.join().unwrap(), ExitStatus::Signal(libc::SIGKILL));
    let err = q.get().unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::MessageTruncated), "{err}");
    writer.kill().unwrap(); // SIGKILL ends a stopped process too
    assert_eq!(writer.join().unwrap(), ExitStatus::Signal(libc::SIGKILL));
}

fn messages_of_every_size_near_the_record_arrive_whole() {
    // A `Vec<u8>` of n < 128 bytes serializes to n + 1 bytes: 55 is the
    // largest that fits in its record (56 bytes of message), 56 the smallest
    // that does not and goes through the pipe.
    let sizes = (0..=130).chain(4030..=4100).chain([20_000, 60_000]);
    let q = Queue::new().unwrap();
    for len in sizes {
        let message: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
        q.put(message.clone()).unwrap();
        assert_eq!(q.get().unwrap(), message, "a message of {len} bytes");
    }
}

/// How many messages a queue holds before `put` waits for a reader (the
/// ring of records in `crates/mp/src/ipc/queue/ring.rs`).
const HOLDS: u32 = 16_384;

fn put_numbers((q, count): (Queue<u32>, u32)) {
    for i in 0..count {
        q.put(i).unwrap();
    }
}

fn more_small_messages_than_the_queue_holds_wait_for_a_reader() {
    let q = Queue::new().unwrap();
    let count = HOLDS + 1000;
    let mut p = Process::new(put_numbers, (q.clone(), count));
    p.start().unwrap();
    // The child fills the queue, then waits for room: it cannot end.
    while !q.full().unwrap() {
        assert!(p.is_alive(), "the producer ended with the queue not full");
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(q.qsize(), HOLDS as usize);
    assert!(p.is_alive());
    for i in 0..count {
        assert_eq!(q.get().unwrap(), i);
    }
    assert_eq!(p.join().unwrap(), ExitStatus::Code(0));
    assert!(q.empty().unwrap());
}

/// A small message on a full queue, with nobody to read: `put` says so,
/// having put nothing, and the queue goes on working.
fn a_put_on_a_full_queue_gives_up_when_nobody_is_left_to_read() {
    let q = Queue::new().unwrap();
    for i in 0..HOLDS {
        q.put(i).unwrap();
    }
    assert!(q.full().unwrap());
    assert!(matches!(q.try_put(HOLDS), Err(mp::TryPutError::Full(n)) if n == HOLDS));
    let err = q.put(HOLDS).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::QueueUnread), "{err}");
    assert_eq!(q.get().unwrap(), 0);
    q.put(HOLDS).unwrap();
    for i in 1..=HOLDS {
        assert_eq!(q.get().unwrap(), i);
    }
    assert!(q.empty().unwrap());
}

/// Whether thread `tid` of this process is asleep in the kernel (state `S`
/// in `/proc/self/task/TID/stat`, after the command name in parentheses).
fn asleep(tid: libc::pid_t) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap();
    stat.rsplit_once(')')
        .is_some_and(|(_, rest)| rest.trim_start().starts_with('S'))
}

/// A `put` on a full queue waits for room holding the queue's write lock.
/// A `try_put` meanwhile is refused at once, as Python's `put_nowait` is on
/// a full queue, instead of waiting behind that `put` for a reader.
fn try_put_is_refused_at_once_while_a_put_waits_for_room() {
    // Only turns a hang into a failure; never reached by correct code.
    const HANG: Duration = Duration::from_secs(30);
    let q = Queue::new().unwrap();
    for i in 0..HOLDS {
        q.put(i).unwrap();
    }
    let (tid_tx, tid_rx) = std::sync::mpsc::channel();
    let putter = std::thread::spawn({
        let q = q.clone();
        move || {
            // SAFETY: gettid has no preconditions.
            tid_tx.send(unsafe { libc::gettid() }).unwrap();
            q.put(HOLDS)
        }
    });
    // Asleep, the putter holds the write lock and waits for room: taking a
    // free lock does not sleep, so that wait is its only sleep in `put`.
    // (Should it sleep elsewhere first, the `try_put` below finds the queue
    // full all the same: every order has one right answer.)
    let tid = tid_rx.recv().unwrap();
    while !asleep(tid) {
        std::thread::yield_now();
    }
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let trier = std::thread::spawn({
        let q = q.clone();
        move || done_tx.send(q.try_put(HOLDS + 1).map_err(|e| e.to_string()))
    });
    let tried = done_rx.recv_timeout(HANG);
    // Let the waiting put in, whatever happened.
    assert_eq!(q.get().unwrap(), 0);
    putter.join().unwrap().unwrap();
    trier.join().unwrap().ok();
    let tried = tried.expect("try_put waited behind the put that waits for room");
    assert!(tried.is_err(), "try_put on a full queue put its item");
    for i in 1..=HOLDS {
        assert_eq!(q.get().unwrap(), i);
    }
    assert!(q.empty().unwrap());
}

fn a_message_too_large_is_a_clear_error() {
    let q = Queue::with_max_message_size(100).unwrap();
    q.put(vec![1u8; 99]).unwrap(); // 100 bytes serialized: the limit
    let err = q.put(vec![2u8; 100]).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::MessageTooLarge { len: 101, max: 100 }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("a message of 101 bytes is too large (the limit is 100 bytes)")
    );
    assert_eq!(q.get().unwrap(), vec![1u8; 99]);
    assert!(q.empty().unwrap());
}

fn a_queue_or_lock_inside_a_message_is_refused() {
    let outer: Queue<Option<Queue<u8>>> = Queue::new().unwrap();
    let err = outer.put(Some(Queue::new().unwrap())).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::NotInStartArguments { what: "Queue" }),
        "{err}"
    );
    assert!(err.to_string().contains("in its start arguments"));
    // Nothing of the refused message reached the pipe.
    outer.put(None).unwrap();
    assert!(outer.get().unwrap().is_none());

    let locks: Queue<Lock> = Queue::new().unwrap();
    let err = locks.put(Lock::new().unwrap()).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::NotInStartArguments { what: "Lock" }),
        "{err}"
    );
}

/// Big messages go through threads whose stacks are small: the queue keeps
/// its buffers on the heap.
fn big_messages_pass_through_threads_with_small_stacks() {
    let q: Queue<Vec<f64>> = Queue::new().unwrap();
    let floats: Vec<f64> = (0..100_000).map(|i| i as f64 / 3.0).collect();
    let small = || std::thread::Builder::new().stack_size(32 << 10);
    let (producer, expected) = (q.clone(), floats.clone());
    let put = small().spawn(move || producer.put(floats)).unwrap();
    let get = small().spawn(move || q.get()).unwrap();
    put.join().unwrap().unwrap();
    assert!(get.join().unwrap().unwrap() == expected);
}

fn main() -> ExitCode {
    harness::run(tests![
        tutorial_pattern_join_then_get,
        big_messages_pass_through_threads_with_small_stacks,
        four_producers_of_big_messages_one_consumer,
        four_producers_two_consumers_at_once,
        get_timeout_times_out_while_a_producer_lives,
        get_gives_up_when_the_producer_ends_without_putting,
        get_gives_up_when_the_producer_is_killed,
        a_get_timeout_that_ran_out_says_timeout_even_with_nobody_left,
        a_producer_of_a_big_message_cannot_end_before_get,
        put_gives_up_when_nobody_is_left_to_read,
        a_writer_killed_mid_message_breaks_the_queue,
        a_reader_killed_mid_message_breaks_the_queue,
        messages_of_every_size_near_the_record_arrive_whole,
        more_small_messages_than_the_queue_holds_wait_for_a_reader,
        a_put_on_a_full_queue_gives_up_when_nobody_is_left_to_read,
        try_put_is_refused_at_once_while_a_put_waits_for_room,
        a_message_too_large_is_a_clear_error,
        a_queue_or_lock_inside_a_message_is_refused,
    ])
}
