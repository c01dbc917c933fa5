//! Value, Array, AtomicValue and SharedSlice: really shared across fork and
//! spawn, locked read-modify-writes that lose nothing, readers that never wait
//! for each other, clear errors, and a lock holder's death.

mod harness;

use std::process::ExitCode;

use mp::{Array, AtomicValue, ErrorKind, ExitStatus, Process, SharedSlice, StartMethod, Value};

const METHODS: [StartMethod; 2] = [StartMethod::Fork, StartMethod::Spawn];

/// Starts `target(args)` with `method`, joins it and checks that it succeeded.
fn run<A>(method: StartMethod, target: fn(A), args: A)
where
    A: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
{
    let mut p = Process::new(target, args).start_method(method);
    p.start().unwrap();
    assert_eq!(p.join().unwrap(), ExitStatus::Code(0), "{method:?}");
}

fn set_value(v: Value<i64>) {
    v.set(42).unwrap();
}

fn a_childs_write_to_a_value_is_seen_by_the_parent() {
    for method in METHODS {
        let v = Value::new(0_i64).unwrap();
        run(method, set_value, v.clone());
        assert_eq!(v.get().unwrap(), 42, "{method:?}");
    }
}

fn write_array(a: Array<i32>) {
    a.set(0, 10).unwrap();
    a.set(2, 30).unwrap();
}

/// Fills a 2 × 3 grid kept row after row: cell (r, c) is at r * cols + c.
fn fill_grid((grid, cols): (Array<f64>, usize)) {
    for r in 0..grid.len() / cols {
        for c in 0..cols {
            grid.set(r * cols + c, (10 * r + c) as f64).unwrap();
        }
    }
}

fn a_childs_write_to_an_array_is_seen_by_the_parent() {
    for method in METHODS {
        let a = Array::new(&[1, 2, 3]).unwrap();
        run(method, write_array, a.clone());
        assert_eq!(a.to_vec().unwrap(), [10, 2, 30], "{method:?}");

        let grid = Array::new(&[0.0; 6]).unwrap();
        run(method, fill_grid, (grid.clone(), 3));
        assert_eq!(
            grid.to_vec().unwrap(),
            [0.0, 1.0, 2.0, 10.0, 11.0, 12.0],
            "{method:?}"
        );
    }
}

/// Writes 42 at `address`, which after fork is the child's own copy of the
/// parent's anonymous mapping.
fn write_at(address: usize) {
    // SAFETY: fork copied the parent's address space, so the mapping the
    // parent made is at the same address here, writable and 8-byte aligned.
    unsafe { (address as *mut u64).write(42) };
}

/// The trap shm.rs exists for: an anonymous mapping from memmap2 is private,
/// so after fork the child writes to a copy the parent never sees.
fn a_private_anonymous_mapping_is_not_shared_after_fork() {
    let mut private = memmap2::MmapMut::map_anon(8).unwrap();
    private[..8].copy_from_slice(&7_u64.to_ne_bytes());
    run(StartMethod::Fork, write_at, private.as_mut_ptr() as usize);
    let seen = u64::from_ne_bytes(private[..8].try_into().unwrap());
    assert_eq!(seen, 7, "the child's write must not reach the parent");
}

const INCREMENTS: i64 = 10_000;

/// Starts two processes running `target(args.clone())`, then joins them.
fn run_two<A>(method: StartMethod, target: fn(A), args: A)
where
    A: Clone + serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
{
    let mut p1 = Process::new(target, args.clone()).start_method(method);
    let mut p2 = Process::new(target, args).start_method(method);
    p1.start().unwrap();
    p2.start().unwrap();
    assert_eq!(p1.join().unwrap(), ExitStatus::Code(0), "{method:?}");
    assert_eq!(p2.join().unwrap(), ExitStatus::Code(0), "{method:?}");
}

/// Waits until both workers have arrived, so that they run their loops at the
/// same time and really contend (a child that finished before the other
/// started would prove nothing). Both arrive: if the parent fails to start
/// the second, dropping the first `Process` while panicking kills it.
fn start_together(arrived: &AtomicValue<u32>) {
    arrived.fetch_add(1);
    while arrived.load() < 2 {
        std::thread::yield_now();
    }
}

fn add_under_lock((v, arrived): (Value<i64>, AtomicValue<u32>)) {
    start_together(&arrived);
    for _ in 0..INCREMENTS {
        *v.lock().unwrap() += 1;
    }
}

fn add_to_array_under_lock((a, arrived): (Array<i64>, AtomicValue<u32>)) {
    start_together(&arrived);
    for _ in 0..INCREMENTS {
        let mut values = a.lock().unwrap();
        values[0] += 1;
        values[1] -= 1;
    }
}

fn locked_increments_by_two_processes_lose_nothing() {
    for method in METHODS {
        let v = Value::new(0_i64).unwrap();
        run_two(
            method,
            add_under_lock,
            (v.clone(), AtomicValue::new(0).unwrap()),
        );
        assert_eq!(v.get().unwrap(), 2 * INCREMENTS, "{method:?}");

        let a = Array::new(&[0_i64, 0]).unwrap();
        let args = (a.clone(), AtomicValue::new(0).unwrap());
        run_two(method, add_to_array_under_lock, args);
        assert_eq!(
            a.to_vec().unwrap(),
            [2 * INCREMENTS, -2 * INCREMENTS],
            "{method:?}"
        );
    }
}

fn add_atomically((counter, arrived): (AtomicValue<u64>, AtomicValue<u32>)) {
    start_together(&arrived);
    for _ in 0..INCREMENTS {
        counter.fetch_add(1);
    }
}

fn atomic_increments_by_two_processes_lose_nothing() {
    for method in METHODS {
        let counter = AtomicValue::new(0_u64).unwrap();
        let args = (counter.clone(), AtomicValue::new(0).unwrap());
        run_two(method, add_atomically, args);
        assert_eq!(counter.load(), 2 * INCREMENTS as u64, "{method:?}");
    }
}

fn atomic_value_loads_stores_and_wraps() {
    let v = AtomicValue::new(5_i32).unwrap();
    assert_eq!(v.fetch_add(3), 5);
    assert_eq!(v.load(), 8);
    v.store(i32::MAX);
    assert_eq!(v.fetch_add(1), i32::MAX);
    assert_eq!(v.load(), i32::MIN, "atomics wrap around");
    assert_eq!(
        format!("{v:?}"),
        format!("AtomicValue {{ value: {} }}", i32::MIN)
    );
    let shared = v.clone();
    shared.store(-1);
    assert_eq!(v.load(), -1, "a clone shares the memory");
}

/// An array too large for the address space is a clear error, not a panic
/// or an attempt to map it.
fn an_array_too_large_for_memory_is_a_clear_error() {
    for err in [
        Array::<u64>::zeroed(usize::MAX).unwrap_err(),
        Array::<u8>::zeroed(usize::MAX - 8).unwrap_err(),
    ] {
        assert!(
            matches!(err.kind(), ErrorKind::InvalidArgument(_)),
            "expected InvalidArgument, got {err:?}"
        );
        assert!(err.to_string().contains("does not fit in memory"), "{err}");
    }
}

fn an_index_out_of_range_is_a_clear_error() {
    let a = Array::new(&[1, 2, 3]).unwrap();
    for err in [a.get(3).unwrap_err(), a.set(usize::MAX, 0).unwrap_err()] {
        let ErrorKind::IndexOutOfRange { index, len } = *err.kind() else {
            panic!("expected IndexOutOfRange, got {err:?}");
        };
        assert!(index == 3 || index == usize::MAX);
        assert_eq!(len, 3);
        assert_eq!(
            err.to_string(),
            format!("index {index} is out of range for a shared Array of length 3")
        );
    }
    assert_eq!(
        a.to_vec().unwrap(),
        [1, 2, 3],
        "a failed set changes nothing"
    );
}

fn hold_value_lock_and_die(v: Value<i64>) {
    let mut guard = v.lock().unwrap();
    *guard = 7;
    // abort ends the process at once: the guard is never dropped, the lock never released.
    std::process::abort();
}

fn a_value_lock_holders_death_is_reported_and_get_set_go_on() {
    for method in METHODS {
        let v = Value::new(0_i64).unwrap();
        let mut p = Process::new(hold_value_lock_and_die, v.clone()).start_method(method);
        p.start().unwrap();
        let pid = p.pid().unwrap();
        assert_eq!(p.join().unwrap(), ExitStatus::Signal(libc::SIGABRT));

        let Err(mp::LockError::OwnerDied(died)) = v.lock() else {
            panic!("the holder died holding the lock");
        };
        assert_eq!(died.pid(), Some(pid), "{method:?}");
        assert_eq!(*died, 7, "the write made before dying is there");
        let message = mp::Error::from(died).to_string();
        assert!(message.starts_with(&format!("process {pid} died while holding a lock")));

        // The lock is consistent again: get, set and lock work as usual.
        assert_eq!(v.get().unwrap(), 7);
        v.set(8).unwrap();
        assert_eq!(v.get().unwrap(), 8);
        assert_eq!(*v.lock().expect("no one died since"), 8);
    }
}

fn hold_value_lock_and_die_u32(v: Value<u32>) {
    let _guard = v.lock().unwrap();
    std::process::abort();
}

fn die_holding_array_lock(a: Array<u8>) {
    let _guard = a.lock().unwrap();
    std::process::abort();
}

fn get_and_set_go_on_after_a_holders_death() {
    for method in METHODS {
        let v = Value::new(1_u32).unwrap();
        let mut p = Process::new(hold_value_lock_and_die_u32, v.clone()).start_method(method);
        p.start().unwrap();
        p.join().unwrap();
        assert_eq!(v.get().unwrap(), 1, "get goes on; the child wrote nothing");

        let a = Array::new(&[1_u8, 2]).unwrap();
        let mut p = Process::new(die_holding_array_lock, a.clone()).start_method(method);
        p.start().unwrap();
        p.join().unwrap();
        a.set(1, 5).unwrap();
        assert_eq!(a.to_vec().unwrap(), [1, 5], "set goes on");
    }
}

fn array_iteration_and_the_locked_slice_view() {
    let a = Array::new(&[3_u64, 1, 2]).unwrap();
    assert_eq!(a.len(), 3);
    assert!(!a.is_empty());
    assert_eq!(a.iter().unwrap().collect::<Vec<_>>(), [3, 1, 2]);
    assert_eq!(a.iter().unwrap().sum::<u64>(), 6);

    // The iterator walks a snapshot: later writes do not change it.
    let mut snapshot = a.iter().unwrap();
    a.set(1, 100).unwrap();
    assert_eq!(snapshot.next(), Some(3));
    assert_eq!(snapshot.next(), Some(1));

    {
        let mut values = a.lock().unwrap();
        values.sort_unstable();
        values[0] *= 10;
        assert_eq!(&*values, &[20, 3, 100]);
        // Held here, so a try_lock fails at once and Debug does not wait.
        assert!(a.try_lock().is_none());
        assert_eq!(format!("{a:?}"), "Array { values: <locked> }");
    }
    assert_eq!(format!("{a:?}"), "Array { values: [20, 3, 100] }");
    let guard = a.try_lock().expect("free").unwrap();
    assert_eq!(format!("{guard:?}"), "ArrayGuard([20, 3, 100])");
    drop(guard);

    let empty = Array::<f64>::new(&[]).unwrap();
    assert!(empty.is_empty());
    assert_eq!(empty.iter().unwrap().count(), 0);
    assert!(matches!(
        empty.get(0).unwrap_err().kind(),
        ErrorKind::IndexOutOfRange { index: 0, len: 0 }
    ));
}

/// Holds a borrow of its half of the slice until the other reader holds one
/// too, then sums it and sends the sum home. With a lock around the data (an
/// `Array`'s guard) the second reader could not get its view while the first
/// holds its own, and both would wait forever.
fn read_half_while_the_other_reads(
    (data, first_half, arrived, sums): (SharedSlice<f64>, bool, AtomicValue<u32>, mp::Queue<f64>),
) {
    let half = data.len() / 2;
    let part: &[f64] = if first_half {
        &data[..half]
    } else {
        &data[half..]
    };
    start_together(&arrived);
    sums.put(part.iter().sum()).unwrap();
}

fn two_processes_read_one_shared_slice_at_the_same_time() {
    let values: Vec<f64> = (0..10_000).map(|i| (i % 100) as f64).collect();
    let data = SharedSlice::new(&values).unwrap();
    for method in METHODS {
        let arrived = AtomicValue::new(0).unwrap();
        let sums = mp::Queue::new().unwrap();
        let mut readers = [true, false].map(|first_half| {
            let args = (data.clone(), first_half, arrived.clone(), sums.clone());
            Process::new(read_half_while_the_other_reads, args).start_method(method)
        });
        for reader in &mut readers {
            reader.start().unwrap();
        }
        let total = sums.get().unwrap() + sums.get().unwrap();
        for reader in &mut readers {
            assert_eq!(reader.join().unwrap(), ExitStatus::Code(0), "{method:?}");
        }
        assert_eq!(total, 495_000.0, "{method:?}");
    }
    assert_eq!(&*data, &values[..], "reading changed nothing");
}

fn a_shared_slice_derefs_clones_and_debugs() {
    let data = SharedSlice::new(&[3_u64, 1, 2]).unwrap();
    let other = data.clone();
    assert_eq!(data.len(), 3);
    assert_eq!(&other[1..], &[1, 2]);
    assert_eq!(data.iter().sum::<u64>(), 6);
    assert_eq!(format!("{data:?}"), "SharedSlice([3, 1, 2])");
    let empty = SharedSlice::<f64>::new(&[]).unwrap();
    assert!(empty.is_empty());
    assert_eq!(empty.first(), None);
}

fn value_guard_try_lock_debug_and_clone() {
    let v = Value::new(1.5_f64).unwrap();
    let other = v.clone();
    other.set(2.5).unwrap();
    assert_eq!(v.get().unwrap(), 2.5, "a clone shares the memory");
    assert_eq!(format!("{v:?}"), "Value { value: 2.5 }");
    {
        let mut guard = v.lock().unwrap();
        *guard *= 2.0;
        assert_eq!(format!("{guard:?}"), "ValueGuard(5.0)");
        assert!(v.try_lock().is_none());
        assert_eq!(format!("{v:?}"), "Value { value: <locked> }");
    }
    assert_eq!(*v.try_lock().expect("free").unwrap(), 5.0);
}

fn main() -> ExitCode {
    harness::run(tests![
        a_childs_write_to_a_value_is_seen_by_the_parent,
        a_childs_write_to_an_array_is_seen_by_the_parent,
        a_private_anonymous_mapping_is_not_shared_after_fork,
        locked_increments_by_two_processes_lose_nothing,
        atomic_increments_by_two_processes_lose_nothing,
        atomic_value_loads_stores_and_wraps,
        an_index_out_of_range_is_a_clear_error,
        an_array_too_large_for_memory_is_a_clear_error,
        a_value_lock_holders_death_is_reported_and_get_set_go_on,
        get_and_set_go_on_after_a_holders_death,
        array_iteration_and_the_locked_slice_view,
        value_guard_try_lock_debug_and_clone,
        two_processes_read_one_shared_slice_at_the_same_time,
        a_shared_slice_derefs_clones_and_debugs,
    ])
}
