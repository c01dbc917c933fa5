//! Who is who: `cpu_count`, `current_process`, `parent_process` and
//! `active_children`, in the main process, its threads, and children started
//! with fork and spawn, and after a parent is killed.

mod harness;
mod support;

use std::process::ExitCode;

use mp::{ExitStatus, Process, Queue, StartMethod};

const METHODS: [StartMethod; 2] = [StartMethod::Fork, StartMethod::Spawn];

/// What a process says about itself and its parent.
type Report = (String, u32, Option<(String, u32, bool)>);

fn report_here() -> Report {
    let me = mp::current_process();
    let parent = mp::parent_process().map(|p| (p.name().to_owned(), p.pid(), p.is_alive()));
    (me.name().to_owned(), me.pid(), parent)
}

fn report(q: Queue<Report>) {
    q.put(report_here()).unwrap();
}

fn the_main_process_is_mainprocess_without_a_parent() {
    let (name, pid, parent) = report_here();
    assert_eq!(name, "MainProcess");
    assert_eq!(pid, std::process::id());
    assert_eq!(parent, None);
    assert!(mp::current_process().is_alive());
    assert!(mp::active_children().is_empty());
    // Another thread is the same process.
    let from_a_thread = std::thread::scope(|s| s.spawn(report_here).join().unwrap());
    assert_eq!(from_a_thread, (name, pid, None));
}

fn a_child_knows_its_name_its_pid_and_its_parent() {
    for method in METHODS {
        let q = Queue::new().unwrap();
        let mut p = Process::new(report, q.clone())
            .named("reporter")
            .start_method(method);
        p.start().unwrap();
        let (name, pid, parent) = q.get().unwrap();
        assert_eq!(p.join().unwrap(), ExitStatus::Code(0), "{method:?}");
        assert_eq!(name, "reporter", "{method:?}");
        assert_eq!(Some(pid), p.pid(), "{method:?}");
        assert_eq!(
            parent,
            Some(("MainProcess".to_owned(), std::process::id(), true)),
            "{method:?}"
        );
    }
}

fn a_child_without_a_name_is_process_n() {
    for method in METHODS {
        let q = Queue::new().unwrap();
        let mut p = Process::new(report, q.clone()).start_method(method);
        let given = p.name().to_owned();
        assert!(given.starts_with("Process-"), "{given}");
        p.start().unwrap();
        let (name, _, _) = q.get().unwrap();
        p.join().unwrap();
        assert_eq!(name, given, "{method:?}");
    }
}

/// Waits for the word to end.
fn wait_for_word(q: Queue<()>) {
    q.get().unwrap();
}

fn active_children_lists_running_children_until_they_end() {
    let go: Queue<()> = Queue::new().unwrap();
    let mut children: Vec<Process> = METHODS
        .iter()
        .enumerate()
        .map(|(i, &method)| {
            let mut p = Process::new(wait_for_word, go.clone())
                .named(format!("waiter-{i}"))
                .start_method(method);
            p.start().unwrap();
            p
        })
        .collect();
    let listed: Vec<(String, u32)> = mp::active_children()
        .iter()
        .map(|c| (c.name().to_owned(), c.pid()))
        .collect();
    let started: Vec<(String, u32)> = children
        .iter()
        .map(|p| (p.name().to_owned(), p.pid().unwrap()))
        .collect();
    assert_eq!(listed, started, "oldest first");
    assert!(mp::active_children().iter().all(|c| c.is_alive()));

    // One ends; before anyone joins it, it is no longer active.
    go.put(()).unwrap();
    let first_pid = {
        // Whichever child took the word ends: find it by waiting for any.
        let mut info: libc::siginfo_t =
            // SAFETY: an all-zero siginfo_t is a valid value of this plain C struct.
            unsafe { std::mem::zeroed() };
        // SAFETY: `info` is a valid place to write; WNOWAIT leaves it unreaped.
        let ret = unsafe { libc::waitid(libc::P_ALL, 0, &mut info, libc::WEXITED | libc::WNOWAIT) };
        assert_eq!(ret, 0);
        // SAFETY: the kernel set si_pid for the child that ended.
        unsafe { info.si_pid() as u32 }
    };
    let still: Vec<u32> = mp::active_children().iter().map(|c| c.pid()).collect();
    assert_eq!(still.len(), 1);
    assert_ne!(still[0], first_pid);

    go.put(()).unwrap();
    support::wait_until_dead(still[0]);
    assert!(mp::active_children().is_empty());
    for p in &mut children {
        assert_eq!(p.join().unwrap(), ExitStatus::Code(0));
    }
    assert!(mp::active_children().is_empty());
}

fn pool_workers_are_active_children_with_pool_names() {
    for (method, kind) in [
        (StartMethod::Fork, "ForkPoolWorker"),
        (StartMethod::Spawn, "SpawnPoolWorker"),
    ] {
        // Numbered by the counter of every process made here, as in Python.
        let n = next_process_number();
        let pool = mp::Pool::with_start_method(2, method).unwrap();
        let mut names: Vec<String> = mp::active_children()
            .iter()
            .map(|c| c.name().to_owned())
            .collect();
        names.sort();
        assert_eq!(names, [format!("{kind}-{n}"), format!("{kind}-{}", n + 1)]);
        pool.join().unwrap();
        assert!(mp::active_children().is_empty(), "{method:?}");
    }
}

/// Starts a grandchild (spawned or forked), which reports, and joins it.
fn start_grandchild((reports, spawn): (Queue<Report>, bool)) {
    let method = if spawn {
        StartMethod::Spawn
    } else {
        StartMethod::Fork
    };
    let mut child = Process::new(report, reports)
        .named("grandchild")
        .start_method(method);
    child.start().unwrap();
    assert_eq!(child.join().unwrap(), ExitStatus::Code(0));
}

fn a_grandchild_names_its_own_parent_at_any_depth() {
    for outer in METHODS {
        for inner in METHODS {
            let reports = Queue::new().unwrap();
            let mut middle = Process::new(
                start_grandchild,
                (reports.clone(), inner == StartMethod::Spawn),
            )
            .named("middle")
            .start_method(outer);
            middle.start().unwrap();
            let (name, pid, parent) = reports.get().unwrap();
            assert_eq!(middle.join().unwrap(), ExitStatus::Code(0));
            assert_eq!(name, "grandchild", "{outer:?} then {inner:?}");
            assert_ne!(pid, middle.pid().unwrap());
            // Its parent is the middle process, not ours (a fork copies the
            // middle process's own identity, which must be rewritten).
            assert_eq!(
                parent,
                Some(("middle".to_owned(), middle.pid().unwrap(), true)),
                "{outer:?} then {inner:?}"
            );
        }
    }
}

/// What a pool task sees: its worker's name and its parent's name and pid.
fn worker_identity((): ()) -> (String, Option<(String, u32)>) {
    let parent = mp::parent_process().map(|p| (p.name().to_owned(), p.pid()));
    (mp::current_process().name().to_owned(), parent)
}

fn a_pool_worker_knows_its_name_and_its_parent() {
    for (method, kind) in [
        (StartMethod::Fork, "ForkPoolWorker"),
        (StartMethod::Spawn, "SpawnPoolWorker"),
    ] {
        let n = next_process_number();
        let pool = mp::Pool::with_start_method(1, method).unwrap();
        let (worker, parent) = pool.apply(worker_identity, ()).unwrap();
        assert_eq!(worker, format!("{kind}-{n}"));
        assert_eq!(
            parent,
            Some(("MainProcess".to_owned(), std::process::id())),
            "{method:?}"
        );
        pool.join().unwrap();
    }
}

/// The grandchild: reports who its parent is while the parent lives, then
/// watches it until it dies and reports again.
fn grandchild(reports: Queue<Report>) {
    reports.put(report_here()).unwrap();
    let parent = mp::parent_process().expect("a child has a parent");
    while parent.is_alive() {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    reports.put(report_here()).unwrap();
}

/// The middle process: starts the grandchild, then waits on a queue nobody
/// puts on, until it is killed.
fn middle((reports, never): (Queue<Report>, Queue<()>)) {
    let mut child = Process::new(grandchild, reports)
        .named("grandchild")
        .start_method(StartMethod::Spawn);
    child.start().unwrap();
    let _ = never.get();
    child.join().unwrap();
}

fn a_child_sees_its_parent_die() {
    for method in METHODS {
        let reports: Queue<Report> = Queue::new().unwrap();
        let never: Queue<()> = Queue::new().unwrap();
        // A child of ours that lives until the end, so that our `get` of the
        // last report keeps waiting once the middle process is gone.
        let hold: Queue<()> = Queue::new().unwrap();
        let mut holder = Process::new(wait_for_word, hold.clone());
        holder.start().unwrap();

        let mut mid = Process::new(middle, (reports.clone(), never.clone()))
            .named("middle")
            .start_method(method);
        mid.start().unwrap();
        let (name, grandchild_pid, parent) = reports.get().unwrap();
        assert_eq!(name, "grandchild");
        assert_eq!(
            parent,
            Some(("middle".to_owned(), mid.pid().unwrap(), true))
        );

        // The middle process is blocked in `get`: kill it there.
        mid.kill().unwrap();
        assert_eq!(mid.join().unwrap(), ExitStatus::Signal(libc::SIGKILL));
        let (_, pid, parent) = reports.get().unwrap();
        assert_eq!(pid, grandchild_pid);
        // Still the same parent by name and pid, and now known to be dead.
        assert_eq!(
            parent,
            Some(("middle".to_owned(), mid.pid().unwrap(), false))
        );

        hold.put(()).unwrap();
        assert_eq!(holder.join().unwrap(), ExitStatus::Code(0));
    }
}

fn report_cpu_count_on_one_cpu(q: Queue<usize>) {
    // SAFETY: an all-zero cpu_set_t is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is our own cpu_set_t and the allowed set always has some
    // CPU; take the first one we may run on.
    unsafe {
        assert_eq!(
            libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set),
            0
        );
    }
    let first = (0..libc::CPU_SETSIZE as usize)
        // SAFETY: `set` is a valid cpu_set_t and `cpu` is below CPU_SETSIZE.
        .find(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
        .expect("a process may run on some CPU");
    // SAFETY: as above.
    unsafe {
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(first, &mut set);
        assert_eq!(
            libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set),
            0
        );
    }
    q.put(mp::cpu_count()).unwrap();
}

fn cpu_count_counts_the_cpus_a_process_may_use() {
    // SAFETY: an all-zero cpu_set_t is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is our own cpu_set_t, of the size passed.
    let ret = unsafe { libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set) };
    assert_eq!(ret, 0);
    // SAFETY: `set` is a valid cpu_set_t.
    let allowed = unsafe { libc::CPU_COUNT(&set) } as usize;
    let n = mp::cpu_count();
    assert!((1..=allowed).contains(&n), "{n} of {allowed}");
    // A child pinned to one CPU counts one.
    for method in METHODS {
        let q = Queue::new().unwrap();
        let mut p = Process::new(report_cpu_count_on_one_cpu, q.clone()).start_method(method);
        p.start().unwrap();
        assert_eq!(q.get().unwrap(), 1, "{method:?}");
        assert_eq!(p.join().unwrap(), ExitStatus::Code(0));
    }
    // Pinning the child changed nothing here.
    assert_eq!(mp::cpu_count(), n);
}

/// The number the next process made here will have (`Process-N`): makes
/// one, never started, and reads its number.
fn next_process_number() -> usize {
    let probe = mp::Process::new(drop::<()>, ());
    let n: usize = probe.name()["Process-".len()..].parse().unwrap();
    n + 1
}

fn main() -> ExitCode {
    harness::run(tests![
        the_main_process_is_mainprocess_without_a_parent,
        a_child_knows_its_name_its_pid_and_its_parent,
        a_child_without_a_name_is_process_n,
        active_children_lists_running_children_until_they_end,
        pool_workers_are_active_children_with_pool_names,
        a_pool_worker_knows_its_name_and_its_parent,
        a_grandchild_names_its_own_parent_at_any_depth,
        a_child_sees_its_parent_die,
        cpu_count_counts_the_cpus_a_process_may_use,
    ])
}
