//! The calls Python programs make that `mp` once lacked (issue 22, point 4),
//! each used once the way a port would.

mod harness;

use std::process::ExitCode;
use std::time::Duration;

use mp::{
    AtomicValue, Condition, ErrorKind, ExitStatus, Fd, Lock, Pool, Process, RLock, StartMethod,
};

const METHODS: [StartMethod; 2] = [StartMethod::Fork, StartMethod::Spawn];

fn add_halves(total: AtomicValue<f64>) {
    for _ in 0..1000 {
        total.fetch_add(0.5);
    }
}

fn atomic_value_has_the_rest_of_stds_operations_and_f64() {
    let n = AtomicValue::new(10_i64).unwrap();
    assert_eq!(n.fetch_sub(3), 10);
    assert_eq!(n.swap(100), 7);
    assert_eq!(n.compare_exchange(100, 5), Ok(100));
    assert_eq!(n.compare_exchange(100, 6), Err(5));
    assert_eq!(n.fetch_max(9), 5);
    assert_eq!(n.fetch_min(2), 9);
    assert_eq!(n.fetch_or(0b100), 2);
    assert_eq!(n.fetch_and(0b110), 0b110);
    assert_eq!(n.fetch_xor(0b010), 0b110);
    assert_eq!(n.load(), 0b100);

    // Python's Value('d') += from two processes, without a lock and losing nothing.
    let total = AtomicValue::new(0.0_f64).unwrap();
    let mut ps: Vec<Process> = METHODS
        .iter()
        .map(|&m| Process::new(add_halves, total.clone()).start_method(m))
        .collect();
    for p in &mut ps {
        p.start().unwrap();
    }
    for p in &mut ps {
        assert!(p.join().unwrap().success());
    }
    assert_eq!(total.load(), 1000.0);
    assert_eq!(total.fetch_max(2000.0), 1000.0);
    assert_eq!(total.fetch_min(1.5), 2000.0);
    assert_eq!(total.compare_exchange(1.5, -1.0), Ok(1.5));
    assert_eq!(total.swap(3.0), -1.0);
}

fn condition_wait_for_with_a_timeout_and_notify_n() {
    let cond = Condition::new().unwrap();
    let ready = AtomicValue::new(0_u32).unwrap();
    // Python: cond.wait_for(lambda: ready.value == 1, timeout=0.05) -> False
    let (guard, ok) = cond
        .wait_for_timeout(cond.lock().unwrap(), Duration::from_millis(50), || {
            ready.load() == 1
        })
        .unwrap();
    assert!(!ok);
    drop(guard);

    let woken = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let waiting = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let (cond, woken, waiting) = (cond.clone(), woken.clone(), waiting.clone());
            std::thread::spawn(move || {
                let guard = cond.lock().unwrap();
                waiting.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _guard = cond.wait(guard).unwrap();
                woken.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            })
        })
        .collect();
    while waiting.load(std::sync::atomic::Ordering::SeqCst) < 3 {
        std::thread::yield_now();
    }
    drop(cond.lock().unwrap());
    cond.notify_n(2); // Python: cond.notify(2)
    while woken.load(std::sync::atomic::Ordering::SeqCst) < 2 {
        std::thread::yield_now();
    }
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(woken.load(std::sync::atomic::Ordering::SeqCst), 2);
    cond.notify_all();
    for t in threads {
        t.join().unwrap();
    }
    // wait_for returns at once when the predicate already holds.
    ready.store(1);
    drop(
        cond.wait_for(cond.lock().unwrap(), || ready.load() == 1)
            .unwrap(),
    );
}

fn hold_and_abort(lock: Lock) {
    let _guard = lock.lock().unwrap();
    std::process::abort();
}

fn locked_says_whether_a_lock_is_held_and_keeps_a_dead_holders_news() {
    let lock = Lock::new().unwrap();
    assert!(!lock.locked());
    let guard = lock.lock().unwrap();
    assert!(lock.locked());
    drop(guard);
    assert!(!lock.locked());
    let rlock = RLock::new().unwrap();
    let guard = rlock.lock().unwrap();
    assert!(rlock.locked());
    drop(guard);
    assert!(!rlock.locked());
    for method in METHODS {
        let mut p = Process::new(hold_and_abort, lock.clone()).start_method(method);
        p.start().unwrap();
        assert_eq!(p.join().unwrap(), ExitStatus::Signal(libc::SIGABRT));
        assert!(
            lock.locked(),
            "{method:?}: a dead holder's lock counts as held"
        );
        let Err(mp::LockError::OwnerDied(died)) = lock.lock() else {
            panic!("the next lock() is still told");
        };
        assert_eq!(died.pid(), p.pid(), "{method:?}");
        drop(died.into_guard());
        assert!(!lock.locked());
    }
}

fn a_zero_filled_array_of_a_given_size() {
    // Python: Array('i', 5)
    let a = mp::Array::<i32>::zeroed(5).unwrap();
    assert_eq!(a.to_vec().unwrap(), [0; 5]);
    a.set(4, 7).unwrap();
    assert_eq!(a.to_vec().unwrap(), [0, 0, 0, 0, 7]);
}

fn mul(a: u64, b: u64) -> u64 {
    a * b
}

fn square(x: u64) -> u64 {
    x * x
}

fn slow_square(x: u64) -> u64 {
    if x == 0 {
        std::thread::sleep(Duration::from_millis(300));
    }
    x * x
}

fn starmap_and_map_async_take_a_chunksize_and_imap_next_a_timeout() {
    let pool = Pool::new(2).unwrap();
    let pairs: Vec<(u64, u64)> = (0..10).map(|i| (i, i + 1)).collect();
    let expected: Vec<u64> = pairs.iter().map(|&(a, b)| a * b).collect();
    assert_eq!(
        pool.starmap_chunked(mul, pairs.clone(), 3).unwrap(),
        expected
    );
    assert_eq!(
        pool.starmap_async_chunked(mul, pairs, 4)
            .unwrap()
            .get()
            .unwrap(),
        expected
    );
    let squares: Vec<u64> = (0..10).map(|x| x * x).collect();
    assert_eq!(
        pool.map_async_chunked(square, 0..10, 5)
            .unwrap()
            .get()
            .unwrap(),
        squares
    );
    let err = pool.map_async_chunked(square, 0..10, 0).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidArgument(_)), "{err}");

    // Python: it = pool.imap(f, xs); it.next(timeout=0.01) raises TimeoutError
    let mut it = pool.imap(slow_square, 0..3).unwrap();
    let err = it
        .next_timeout(Duration::from_millis(10))
        .unwrap()
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert_eq!(
        it.next_timeout(Duration::from_secs(10)).unwrap().unwrap(),
        0
    );
    assert_eq!(it.collect::<mp::Result<Vec<u64>>>().unwrap(), [1, 4]);
    pool.join().unwrap();
}

fn write_hello(fd: Fd) {
    use std::io::Write;
    let mut stream = std::os::unix::net::UnixStream::from(fd.into_inner());
    stream.write_all(b"hello").unwrap();
}

fn a_socket_handed_to_a_child() {
    use std::io::Read;
    for method in METHODS {
        let (mut ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        let mut p = Process::new(write_hello, Fd::new(theirs)).start_method(method);
        p.start().unwrap();
        let mut got = String::new();
        ours.read_to_string(&mut got).unwrap();
        assert_eq!(got, "hello", "{method:?}");
        assert!(p.join().unwrap().success());
    }
    // Like a Queue, it travels in start arguments only.
    let (_a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    let pool = Pool::new(1).unwrap();
    let err = pool.apply(write_hello, Fd::new(b)).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::NotInStartArguments { .. }),
        "{err}"
    );
    pool.join().unwrap();
}

/// Python's names find the Rust ones in the docs' search.
fn pythons_names_are_doc_aliases() {
    let mut source = String::new();
    fn walk(dir: &std::path::Path, out: &mut String) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push_str(&std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut source,
    );
    // Every name in `#[doc(alias = "x")]` and `#[doc(alias("x", "y"))]`.
    let mut aliases = std::collections::BTreeSet::new();
    for (i, _) in source.match_indices("doc(alias") {
        let rest = &source[i + "doc(alias".len()..];
        let list = &rest[..rest.find(")]").unwrap()];
        aliases.extend(list.split('"').skip(1).step_by(2).map(str::to_owned));
    }
    for name in [
        "acquire",
        "release",
        "put_nowait",
        "get_nowait",
        "set_start_method",
        "get_context",
        "exitcode",
        "get_lock",
        "get_value",
        "freeze_support",
        "Pipe",
        "initargs",
        "maxtasksperchild",
        "chunksize",
        "broken",
        "notify",
        "RawArray",
    ] {
        assert!(
            aliases.contains(name),
            "no doc alias for Python's `{name}`: {aliases:?}"
        );
    }
}

fn main() -> ExitCode {
    harness::run(tests![
        atomic_value_has_the_rest_of_stds_operations_and_f64,
        condition_wait_for_with_a_timeout_and_notify_n,
        locked_says_whether_a_lock_is_held_and_keeps_a_dead_holders_news,
        a_zero_filled_array_of_a_given_size,
        starmap_and_map_async_take_a_chunksize_and_imap_next_a_timeout,
        a_socket_handed_to_a_child,
        pythons_names_are_doc_aliases,
    ])
}
