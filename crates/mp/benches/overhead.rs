//! What the crate's machinery costs, each figure beside the raw system limit
//! measured in the same run: `cargo bench -p mp --bench overhead`.
//!
//! Every `raw_*` benchmark does the least the operating system allows for the
//! same job (a bare `fork` + `waitpid`, one byte bounced over two pipes, …);
//! compare each crate benchmark with its raw neighbour, as a ratio.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::Command;

use divan::counter::{BytesCount, ItemsCount};
use divan::{Bencher, black_box};
use mp::{AtomicValue, Pool, Process, Queue, StartMethod, Value};

/// Spawned children re-run this binary: `mp::init()` must come first, and
/// `--exit-at-once` is the "re-run the binary and do nothing" raw limit.
fn main() {
    mp::init();
    if std::env::args().any(|a| a == "--exit-at-once") {
        return;
    }
    divan::main();
}

fn noop(_: ()) {}

fn identity(x: u64) -> u64 {
    x
}

fn square(x: u64) -> u64 {
    x * x
}

// ---- starting a process -------------------------------------------------

/// The floor for a forked child: `fork`, `_exit` in the child, `waitpid`.
#[divan::bench(sample_size = 1, sample_count = 300)]
fn raw_fork_waitpid() {
    // SAFETY: the child only calls `_exit`, which is async-signal-safe.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: ends the child at once.
        unsafe { libc::_exit(0) };
    }
    assert!(pid > 0, "fork failed");
    let mut status = 0;
    // SAFETY: `status` is a valid place for the status word.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
}

#[divan::bench(sample_size = 1, sample_count = 300)]
fn process_fork_start_join() {
    let mut p = Process::new(noop, ()).start_method(StartMethod::Fork);
    p.start().unwrap();
    assert!(p.join().unwrap().success());
}

/// The floor for a spawned child: run this executable again, doing nothing.
#[divan::bench(sample_size = 1, sample_count = 40)]
fn raw_rerun_binary() {
    let status = Command::new("/proc/self/exe")
        .arg("--exit-at-once")
        .status()
        .unwrap();
    assert!(status.success());
}

#[divan::bench(sample_size = 1, sample_count = 40)]
fn process_spawn_start_join() {
    let mut p = Process::new(noop, ()).start_method(StartMethod::Spawn);
    p.start().unwrap();
    assert!(p.join().unwrap().success());
}

// ---- a round trip to another process --------------------------------------

/// A child that echoes every byte it reads: the floor for a round trip,
/// over two pipes or over one socket pair, each side waiting as `wait` says.
struct Echo {
    pid: libc::pid_t,
    to_child: std::fs::File,
    from_child: std::fs::File,
    wait: Wait,
    /// Readable once the child has ended (for `Wait::Watched`).
    child_ended: Option<OwnedFd>,
}

/// How each side of an echo waits for the other's byte.
#[derive(Clone, Copy, PartialEq)]
enum Wait {
    /// Blocked in `read`: the least there is.
    Blocking,
    /// In `poll`, on its pipe and on the other process's pidfd, then `read`:
    /// what a pool's parent and its worker do, so that each notices the
    /// other's death even while a third process holds the pipe open.
    Watched,
    /// A `read` that does not wait, then, if nothing was there, `poll` for
    /// at most 50 ms, then `read` again: what a `Connection`'s `recv` does,
    /// so that it can look every 50 ms whether anybody is left who could send.
    Sliced,
}

/// Reads one byte from `fd` into `byte`, waiting as `wait` says (`other`:
/// the other process's pidfd, for `Wait::Watched`). `false` at end of file,
/// on an error, or once the other process has ended.
fn receive(fd: libc::c_int, byte: &mut [u8; 1], wait: Wait, other: libc::c_int) -> bool {
    loop {
        if wait == Wait::Watched {
            let mut fds = [fd, other].map(|fd| libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            });
            // SAFETY: two valid pollfds, which the kernel writes back.
            unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
            if fds[0].revents == 0 {
                return false; // only the other process's end
            }
        }
        // SAFETY: one byte into a local buffer, from a descriptor we own.
        match unsafe { libc::read(fd, byte.as_mut_ptr().cast(), 1) } {
            1 => return true,
            -1 if wait == Wait::Sliced => {
                let mut ready = libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one valid pollfd.
                unsafe { libc::poll(&mut ready, 1, 50) };
            }
            _ => return false,
        }
    }
}

/// A pidfd for process `pid` (for `Wait::Watched`).
fn pidfd(pid: libc::pid_t) -> libc::c_int {
    // SAFETY: pidfd_open takes a pid and flags, and returns a new descriptor.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as libc::c_int;
    assert!(fd >= 0, "pidfd_open failed");
    fd
}

impl Echo {
    /// `a` carries bytes to the child and `b` back: two pipes, or, for
    /// `socket`, the two directions of one socket pair (each end's
    /// descriptor duplicated, so that each side closes one and keeps one).
    fn start(socket: bool, wait: Wait) -> Echo {
        let (mut a, mut b) = ([0; 2], [0; 2]);
        // SAFETY: each array has room for the two descriptors pipe and
        // socketpair write; dup makes new descriptors of the pair's ends.
        unsafe {
            if socket {
                let mut pair = [0; 2];
                let kind = libc::SOCK_STREAM;
                assert_eq!(
                    libc::socketpair(libc::AF_UNIX, kind, 0, pair.as_mut_ptr()),
                    0
                );
                (a[1], a[0]) = (pair[0], pair[1]);
                (b[1], b[0]) = (libc::dup(pair[1]), libc::dup(pair[0]));
            } else {
                assert_eq!(libc::pipe(a.as_mut_ptr()), 0);
                assert_eq!(libc::pipe(b.as_mut_ptr()), 0);
            }
            if wait == Wait::Sliced {
                for fd in [a[0], b[0]] {
                    libc::fcntl(fd, libc::F_SETFL, libc::O_NONBLOCK);
                }
            }
        }
        // SAFETY: the child only reads, writes, polls and exits; it touches no lock.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let mut byte = [0u8; 1];
            // SAFETY: read/write on our own pipe ends into a local buffer. The
            // child first closes the parent's ends: holding its own copy of the
            // write end `a[1]` would keep it from ever seeing end-of-file.
            unsafe {
                libc::close(a[1]);
                libc::close(b[0]);
                let parent = match wait {
                    Wait::Watched => pidfd(libc::getppid()),
                    _ => -1,
                };
                while receive(a[0], &mut byte, wait, parent) {
                    libc::write(b[1], byte.as_ptr().cast(), 1);
                }
                libc::_exit(0);
            }
        }
        let child_ended = (wait == Wait::Watched).then(|| {
            // SAFETY: pidfd just returned this new descriptor, owned by nobody else.
            unsafe { OwnedFd::from_raw_fd(pidfd(pid)) }
        });
        // SAFETY: the parent keeps a[1] and b[0], owned by nobody else, and
        // closes the child's ends.
        unsafe {
            libc::close(a[0]);
            libc::close(b[1]);
            Echo {
                pid,
                to_child: OwnedFd::from_raw_fd(a[1]).into(),
                from_child: OwnedFd::from_raw_fd(b[0]).into(),
                wait,
                child_ended,
            }
        }
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        // Closing our end makes the child's read return 0: it exits. (A
        // socket's end is open twice here: it is shut for writing first.)
        // SAFETY: shutdown changes only the state of our own socket; on a
        // pipe it fails with ENOTSOCK and does nothing.
        unsafe { libc::shutdown(self.to_child.as_raw_fd(), libc::SHUT_WR) };
        drop(std::mem::replace(
            &mut self.to_child,
            std::fs::File::open("/dev/null").unwrap(),
        ));
        // SAFETY: reaping our own child; a null status pointer is allowed.
        unsafe { libc::waitpid(self.pid, std::ptr::null_mut(), 0) };
    }
}

#[divan::bench]
fn raw_pipe_ping_pong(bencher: Bencher) {
    ping_pong(bencher, Echo::start(false, Wait::Blocking));
}

/// The same, each side watching the other's pidfd as it waits, as a pool's
/// parent and worker must (see `Wait::Watched`): the floor for a pool's
/// round trip that keeps the pool's promises.
#[divan::bench]
fn raw_pipe_ping_pong_watched(bencher: Bencher) {
    ping_pong(bencher, Echo::start(false, Wait::Watched));
}

/// The same, each side waiting as a `Connection`'s `recv` does (see
/// `Wait::Sliced`): what a `Connection` made of two pipes would cost at
/// least, beside `raw_socket_ping_pong_sliced`, what the one it is costs.
#[divan::bench]
fn raw_pipe_ping_pong_sliced(bencher: Bencher) {
    ping_pong(bencher, Echo::start(false, Wait::Sliced));
}

/// The same over a Unix socket pair, which is what a `Connection` is (as
/// Python's duplex `Pipe()` is): the kernel takes about twice as long per
/// hop as for a pipe.
#[divan::bench]
fn raw_socket_ping_pong(bencher: Bencher) {
    ping_pong(bencher, Echo::start(true, Wait::Blocking));
}

/// The same, each side waiting as a `Connection`'s `recv` does (see
/// `Wait::Sliced`): the floor for a `Connection` round trip that keeps its
/// promises.
#[divan::bench]
fn raw_socket_ping_pong_sliced(bencher: Bencher) {
    ping_pong(bencher, Echo::start(true, Wait::Sliced));
}

fn ping_pong(bencher: Bencher, mut echo: Echo) {
    let from_child = echo.from_child.as_raw_fd();
    let child = echo.child_ended.as_ref().map_or(-1, |fd| fd.as_raw_fd());
    let wait = echo.wait;
    bencher.bench_local(|| {
        let mut byte = [7u8];
        echo.to_child.write_all(&byte).unwrap();
        assert!(receive(from_child, &mut byte, wait, child));
    });
}

#[divan::bench]
fn pool_apply_async_get(bencher: Bencher) {
    let pool = Pool::new(1).unwrap();
    bencher.bench_local(|| {
        pool.apply_async(identity, black_box(7))
            .unwrap()
            .get()
            .unwrap()
    });
}

// ---- bulk work --------------------------------------------------------------

const TASKS: u64 = 100_000;

#[divan::bench(sample_count = 20)]
fn pool_map_100k_tiny_tasks(bencher: Bencher) {
    let pool = Pool::new(2).unwrap();
    bencher
        .counter(ItemsCount::new(TASKS))
        .bench_local(|| pool.map(square, 0..TASKS).unwrap());
}

/// `imap` and `imap_unordered` of tiny tasks, one item per message as in Python (each
/// result is collected as it comes): the per-task cost, beside `map`'s chunks.
#[divan::bench(sample_count = 10, args = [1_000, 100_000])]
fn pool_imap(bencher: Bencher, tasks: u64) {
    let pool = Pool::new(2).unwrap();
    bencher
        .counter(ItemsCount::new(tasks))
        .bench_local(|| assert_eq!(pool.imap(square, 0..tasks).unwrap().count() as u64, tasks));
}

#[divan::bench(sample_count = 10, args = [1_000, 100_000])]
fn pool_imap_unordered(bencher: Bencher, tasks: u64) {
    let pool = Pool::new(2).unwrap();
    bencher.counter(ItemsCount::new(tasks)).bench_local(|| {
        let done = pool.imap_unordered(square, 0..tasks).unwrap().count() as u64;
        assert_eq!(done, tasks)
    });
}

const MESSAGES: u64 = 200_000;

/// A child that writes `MESSAGES` eight-byte integers, one `write` each.
#[divan::bench(sample_count = 10)]
fn raw_pipe_messages(bencher: Bencher) {
    bencher.counter(ItemsCount::new(MESSAGES)).bench_local(|| {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: the child only writes to its pipe and exits.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            for i in 0..MESSAGES {
                // SAFETY: writes 8 bytes from a local integer.
                unsafe { libc::write(fds[1], (&raw const i).cast(), 8) };
            }
            // SAFETY: ends the child at once.
            unsafe { libc::_exit(0) };
        }
        // SAFETY: fds[1] is ours to close; fds[0] is ours to own.
        let mut reader = unsafe {
            libc::close(fds[1]);
            std::fs::File::from(OwnedFd::from_raw_fd(fds[0]))
        };
        let mut buf = [0u8; 8];
        for _ in 0..MESSAGES {
            reader.read_exact(&mut buf).unwrap();
        }
        // SAFETY: reaping our own child.
        unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
    });
}

fn produce((queue, count): (Queue<u64>, u64)) {
    for i in 0..count {
        queue.put(i).unwrap();
    }
}

#[divan::bench(sample_count = 10)]
fn queue_messages_from_one_process(bencher: Bencher) {
    let queue = Queue::new().unwrap();
    bencher.counter(ItemsCount::new(MESSAGES)).bench_local(|| {
        let mut producer = Process::new(produce, (queue.clone(), MESSAGES));
        producer.start().unwrap();
        for i in 0..MESSAGES {
            assert_eq!(queue.get().unwrap(), i);
        }
        producer.join().unwrap();
    });
}

// ---- shared memory ------------------------------------------------------------

const INCREMENTS: u64 = 1_000_000;

fn locked_increments((value, count): (Value<u64>, u64)) {
    for _ in 0..count {
        *value.lock().unwrap() += 1;
    }
}

fn atomic_increments((value, count): (AtomicValue<u64>, u64)) {
    for _ in 0..count {
        value.fetch_add(1);
    }
}

/// Runs `job` in two processes at once; the counter makes divan report the
/// time per increment across both.
fn two_processes<A: Clone + serde::Serialize + serde::de::DeserializeOwned + Send + 'static>(
    bencher: Bencher,
    job: fn((A, u64)),
    shared: A,
) {
    bencher
        .counter(ItemsCount::new(2 * INCREMENTS))
        .bench_local(|| {
            let mut workers: Vec<Process> = (0..2)
                .map(|_| Process::new(job, (shared.clone(), INCREMENTS)))
                .collect();
            workers.iter_mut().for_each(|p| p.start().unwrap());
            workers
                .iter_mut()
                .for_each(|p| assert!(p.join().unwrap().success()));
        });
}

#[divan::bench(sample_count = 10)]
fn value_locked_increment_2_processes(bencher: Bencher) {
    two_processes(bencher, locked_increments, Value::new(0u64).unwrap());
}

/// A process-shared `Lock` around a counter that has no lock of its own: Python's
/// `with lock: v.value += 1` on a `Value(lock=False)`.
fn lock_around_counter((shared, count): ((mp::Lock, AtomicValue<u64>), u64)) {
    let (lock, counter) = shared;
    for _ in 0..count {
        let _held = lock.lock().unwrap();
        counter.store(counter.load() + 1);
    }
}

#[divan::bench(sample_count = 10)]
fn lock_around_counter_2_processes(bencher: Bencher) {
    let shared = (mp::Lock::new().unwrap(), AtomicValue::new(0u64).unwrap());
    two_processes(bencher, lock_around_counter, shared);
}

#[divan::bench(sample_count = 10)]
fn value_atomic_increment_2_processes(bencher: Bencher) {
    two_processes(bencher, atomic_increments, AtomicValue::new(0u64).unwrap());
}

/// Runs `increment` `INCREMENTS` times on each of two threads at once; the
/// counter makes divan report the time per increment across both.
fn two_threads(bencher: Bencher, increment: impl Fn() + Sync) {
    bencher
        .counter(ItemsCount::new(2 * INCREMENTS))
        .bench_local(|| {
            std::thread::scope(|s| {
                for _ in 0..2 {
                    s.spawn(|| (0..INCREMENTS).for_each(|_| increment()));
                }
            });
        });
}

/// The floor for a contended atomic: two threads of one process, one counter.
/// Processes cannot beat threads here: the cost is the cache line travelling
/// between the two cores, whoever owns the memory.
#[divan::bench(sample_count = 10)]
fn raw_atomic_increment_2_threads(bencher: Bencher) {
    let counter = std::sync::atomic::AtomicU64::new(0);
    two_threads(bencher, || {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    });
}

/// A contended lock between two threads, with `std::sync::Mutex`: it cannot
/// work between processes, and it does not survive a dead holder, but it
/// shows what a lock costs when it needs neither.
#[divan::bench(sample_count = 10)]
fn raw_std_mutex_increment_2_threads(bencher: Bencher) {
    let counter = std::sync::Mutex::new(0u64);
    two_threads(bencher, || *counter.lock().unwrap() += 1);
}

// ---- pipes, events and semaphores ---------------------------------------------

fn echo_connection(conn: mp::Connection<u64>) {
    while let Ok(x) = conn.recv() {
        if conn.send(x).is_err() {
            return;
        }
    }
}

/// A round trip over `mp::pipe` to a child that sends each message back:
/// compare with `raw_pipe_ping_pong`, one byte over two bare pipes.
#[divan::bench]
fn pipe_round_trip(bencher: Bencher) {
    let (ours, theirs) = mp::pipe::<u64>(true).unwrap();
    let mut child = Process::new(echo_connection, theirs);
    child.start().unwrap();
    bencher.bench_local(|| {
        ours.send(black_box(7)).unwrap();
        ours.recv().unwrap()
    });
    ours.shutdown(); // for the forked child's copy too: its recv sees the end and it returns
    assert!(child.join().unwrap().success());
}

/// A word of memory shared with a forked child (`MAP_SHARED`), for the raw
/// futex floor.
struct SharedWord(*mut std::sync::atomic::AtomicU32);

impl SharedWord {
    fn new() -> SharedWord {
        // SAFETY: a fresh anonymous shared mapping of one page; nothing else uses it.
        let at = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(at, libc::MAP_FAILED);
        SharedWord(at.cast())
    }

    fn get(&self) -> &std::sync::atomic::AtomicU32 {
        // SAFETY: the page is mapped, zeroed and aligned until `drop`, which
        // needs `&mut self`, so no borrow outlives it.
        unsafe { &*self.0 }
    }

    fn wait(&self, expected: u32) {
        // SAFETY: FUTEX_WAIT on a valid, aligned word of the shared page, with no timeout.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                self.0,
                libc::FUTEX_WAIT,
                expected,
                std::ptr::null::<libc::timespec>(),
            )
        };
    }

    fn wake(&self) {
        // SAFETY: FUTEX_WAKE only uses the address as a key.
        unsafe { libc::syscall(libc::SYS_futex, self.0, libc::FUTEX_WAKE, i32::MAX) };
    }
}

impl Drop for SharedWord {
    fn drop(&mut self) {
        // SAFETY: unmaps the page mapped in `new`; nothing borrows it any more.
        unsafe { libc::munmap(self.0.cast(), 4096) };
    }
}

const PING: u32 = 1;
const PONG: u32 = 2;
const STOP: u32 = 3;

/// The floor under an event's set→wake: two processes bounce one shared
/// word with bare futex calls (one wake-up each way per round trip).
#[divan::bench]
fn raw_futex_ping_pong(bencher: Bencher) {
    use std::sync::atomic::Ordering::SeqCst;
    let word = SharedWord::new();
    // SAFETY: the child only touches the shared word and exits; it takes no lock.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        loop {
            match word.get().load(SeqCst) {
                PING => {
                    word.get().store(PONG, SeqCst);
                    word.wake();
                }
                STOP => {
                    // SAFETY: ends the child at once.
                    unsafe { libc::_exit(0) }
                }
                seen => word.wait(seen),
            }
        }
    }
    bencher.bench_local(|| {
        word.get().store(PING, SeqCst);
        word.wake();
        while word.get().load(SeqCst) == PING {
            word.wait(PING);
        }
    });
    word.get().store(STOP, SeqCst);
    word.wake();
    // SAFETY: reaping our own child.
    unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
}

/// Waits for `ping`, answers with `pong`, until `stop` is set.
fn event_echo((ping, pong, stop): (mp::Event, mp::Event, mp::Event)) {
    loop {
        ping.wait().unwrap();
        ping.clear();
        if stop.is_set() {
            return;
        }
        pong.set();
    }
}

/// Two `Event` set→wake hops per round trip, between two processes: compare
/// with `raw_futex_ping_pong`.
#[divan::bench]
fn event_ping_pong(bencher: Bencher) {
    let [ping, pong, stop] = [(); 3].map(|()| mp::Event::new().unwrap());
    let mut child = Process::new(event_echo, (ping.clone(), pong.clone(), stop.clone()));
    child.start().unwrap();
    bencher.bench_local(|| {
        ping.set();
        pong.wait().unwrap();
        pong.clear();
    });
    stop.set();
    ping.set();
    assert!(child.join().unwrap().success());
}

/// The floor under an uncontended semaphore: take a count and give it back,
/// two atomic read-modify-writes on one word.
#[divan::bench(sample_size = 1000)]
fn raw_atomic_take_give(bencher: Bencher) {
    use std::sync::atomic::Ordering::SeqCst;
    let count = std::sync::atomic::AtomicU32::new(1);
    bencher.bench_local(|| {
        black_box(&count).fetch_sub(1, SeqCst);
        black_box(&count).fetch_add(1, SeqCst);
    });
}

/// An uncontended acquire and release, which also records the holder in a
/// robust-lock slot so that its permit comes back if it dies.
#[divan::bench(sample_size = 1000)]
fn semaphore_acquire_release(bencher: Bencher) {
    let sem = mp::Semaphore::new(1).unwrap();
    bencher.bench_local(|| drop(sem.acquire().unwrap()));
}

// ---- big messages -------------------------------------------------------------

const MIB: usize = 1 << 20;
/// Messages of 1 MiB per sample: 64 MiB moved.
const BIG_MESSAGES: usize = 64;

/// The floor for big messages: a child writes 1 MiB messages into a bare pipe
/// enlarged to 1 MiB (`F_SETPIPE_SZ`, the size the crate's queue asks for), and
/// the parent reads each into one reused buffer: no framing, no serialization,
/// no allocation.
#[divan::bench(sample_count = 10)]
fn raw_pipe_1mib_messages(bencher: Bencher) {
    bencher
        .counter(BytesCount::new(BIG_MESSAGES * MIB))
        .bench_local(|| {
            let mut fds = [0; 2];
            // SAFETY: `fds` has room for the two descriptors.
            assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
            // SAFETY: F_SETPIPE_SZ only resizes the pipe (or fails, leaving 64 KiB).
            unsafe { libc::fcntl(fds[1], libc::F_SETPIPE_SZ, MIB as libc::c_int) };
            let payload = vec![7_u8; MIB];
            // SAFETY: the child only writes to its pipe and exits.
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                // SAFETY: fds[1] is the child's to own.
                let mut writer = unsafe { std::fs::File::from(OwnedFd::from_raw_fd(fds[1])) };
                for _ in 0..BIG_MESSAGES {
                    writer.write_all(&payload).unwrap();
                }
                // SAFETY: ends the child at once.
                unsafe { libc::_exit(0) };
            }
            // SAFETY: fds[1] is ours to close; fds[0] is ours to own.
            let mut reader = unsafe {
                libc::close(fds[1]);
                std::fs::File::from(OwnedFd::from_raw_fd(fds[0]))
            };
            let mut buf = vec![0_u8; MIB];
            for _ in 0..BIG_MESSAGES {
                reader.read_exact(&mut buf).unwrap();
            }
            // SAFETY: reaping our own child.
            unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
        });
}

fn put_mib_bytes((queue, count): (Queue<Vec<u8>>, usize)) {
    let payload = vec![7_u8; MIB];
    for _ in 0..count {
        queue.put(payload.clone()).unwrap();
    }
}

fn put_mib_floats((queue, count): (Queue<Vec<f64>>, usize)) {
    let payload = vec![0.5_f64; MIB / 8];
    for _ in 0..count {
        queue.put(payload.clone()).unwrap();
    }
}

/// 1 MiB `Vec<u8>` messages from one producer process to the parent (beside
/// `raw_pipe_1mib_messages`; Python's `mp.Queue` of `bytes`: notes/python/big_messages.py).
#[divan::bench(sample_count = 10)]
fn queue_1mib_vec_u8_from_one_process(bencher: Bencher) {
    let queue = Queue::new().unwrap();
    bencher
        .counter(BytesCount::new(BIG_MESSAGES * MIB))
        .bench_local(|| {
            let mut producer = Process::new(put_mib_bytes, (queue.clone(), BIG_MESSAGES));
            producer.start().unwrap();
            for _ in 0..BIG_MESSAGES {
                assert_eq!(queue.get().unwrap().len(), MIB);
            }
            producer.join().unwrap();
        });
}

/// The same with 1 MiB `Vec<f64>` messages (131,072 floats each).
#[divan::bench(sample_count = 10)]
fn queue_1mib_vec_f64_from_one_process(bencher: Bencher) {
    let queue = Queue::new().unwrap();
    bencher
        .counter(BytesCount::new(BIG_MESSAGES * MIB))
        .bench_local(|| {
            let mut producer = Process::new(put_mib_floats, (queue.clone(), BIG_MESSAGES));
            producer.start().unwrap();
            for _ in 0..BIG_MESSAGES {
                assert_eq!(queue.get().unwrap().len(), MIB / 8);
            }
            producer.join().unwrap();
        });
}

fn mib_result(i: u64) -> Vec<u8> {
    vec![i as u8; MIB]
}

/// A pool of two workers mapping 64 items, each returning 1 MiB `Vec<u8>`
/// (Python's `Pool.map` of the same: notes/python/big_messages.py).
#[divan::bench(sample_count = 10)]
fn pool_map_1mib_results(bencher: Bencher) {
    let pool = Pool::new(2).unwrap();
    bencher
        .counter(BytesCount::new(BIG_MESSAGES * MIB))
        .bench_local(|| {
            let results = pool.map(mib_result, 0..BIG_MESSAGES as u64).unwrap();
            assert_eq!(results.len(), BIG_MESSAGES);
        });
}
