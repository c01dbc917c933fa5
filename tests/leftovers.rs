//! Nothing left behind: every process example, run to the end or stopped
//! halfway, leaves no process running and no shared-memory file.
//!
//! A process whose parent dies is handed to an ancestor. Normally that is
//! `init`, and an orphan that outlived its example would go unnoticed. This
//! test makes itself a *child subreaper* (`PR_SET_CHILD_SUBREAPER`), so every
//! orphan of an example comes to it instead; once the example has ended,
//! `waitpid(-1, ...)` shows whether any descendant is still alive.
//! Subreaping is a setting of the whole process, which is why this test has a
//! binary of its own, runs on the crate's one-test-at-a-time harness, and
//! never runs anything else at the same time.
//!
//! Each scenario runs every process example:
//! - to its end: it must succeed and leave no descendant at all, not even a
//!   zombie (every child is reaped by the example itself);
//! - interrupted mid-run by Ctrl-C (`SIGINT` to its process group) or by
//!   `SIGTERM` to the group;
//! - with its main process `SIGKILL`ed mid-run: its children, orphaned, must
//!   end on their own;
//! - with one of its children `SIGKILL`ed mid-run: the example must end (with
//!   an error or not) and reap the rest.
//!
//! In every case no new file may appear in `/dev/shm`. No time is asserted:
//! the only clock is a generous bound that turns a hang into a failure.
//!
//! "Mid-run" means once the example has a child process (and, for the lock
//! lesson, once a child holds the lock and has printed). The lock lesson's
//! children run for two seconds and are stopped halfway on every run. The
//! quick examples (04 to 07) take milliseconds and often end before the
//! signal comes; then it finds nothing to stop, which is legal, and the
//! checks still apply to whatever happened.

#[cfg(target_os = "linux")]
mod common;
#[cfg(target_os = "linux")]
#[path = "../crates/mp/tests/harness/mod.rs"]
mod harness;

#[cfg(target_os = "linux")]
fn main() -> std::process::ExitCode {
    linux::main()
}

#[cfg(not(target_os = "linux"))]
fn main() {
    println!("leftovers: skipped, it needs Linux (PR_SET_CHILD_SUBREAPER and /proc)");
}

#[cfg(target_os = "linux")]
mod linux {
    use std::fs;
    use std::os::unix::process::CommandExt;
    use std::path::{Path, PathBuf};
    use std::process::{Child, ExitCode, Stdio};
    use std::time::{Duration, Instant};

    use crate::{common, harness};

    pub fn main() -> ExitCode {
        make_this_process_a_subreaper();
        harness::run(crate::tests![
            run_to_the_end,
            ctrl_c_to_the_process_group,
            sigterm_to_the_process_group,
            sigkill_to_the_main_process,
            sigkill_to_one_child,
            sigkill_to_a_runner_before_the_start_line,
        ])
    }

    fn run_to_the_end() {
        check_every_example(Stop::Never);
    }

    fn ctrl_c_to_the_process_group() {
        check_every_example(Stop::Group(libc::SIGINT));
    }

    fn sigterm_to_the_process_group() {
        check_every_example(Stop::Group(libc::SIGTERM));
    }

    fn sigkill_to_the_main_process() {
        check_every_example(Stop::MainProcess);
    }

    fn sigkill_to_one_child() {
        check_every_example(Stop::OneChild);
    }

    /// Lesson 16's first runner (its second child: the producer comes first), killed as soon as
    /// it exists, so mostly before it reaches the barrier: a party no barrier can know of, while
    /// the other runner lives. The parent must still end (it waits with a limit), and leave
    /// nothing behind. Whichever point the kill lands at, the example must end.
    fn sigkill_to_a_runner_before_the_start_line() {
        check("16_events_and_barriers", Stop::NthChild(2));
    }

    /// The examples that start processes.
    const EXAMPLES: [&str; 12] = [
        "04_process",
        "05_queue",
        "06_pool",
        "07_shared_memory",
        "08_process_lock",
        "11_race",
        "12_start_methods",
        "13_crash",
        "14_big_data",
        "15_pipes_and_channels",
        "16_events_and_barriers",
        "17_executors",
    ];

    /// How long anything may take before it counts as a hang. Generous on
    /// purpose: the examples take at most a few seconds; this only stops a
    /// test that would otherwise wait forever.
    const HANG: Duration = Duration::from_secs(60);

    /// How an example is stopped.
    #[derive(Clone, Copy, Debug)]
    enum Stop {
        /// It runs to its end.
        Never,
        /// This signal goes to its whole process group, as Ctrl-C sends
        /// `SIGINT` to a terminal's foreground group.
        Group(libc::c_int),
        /// Its main process alone is killed; its children are orphaned.
        MainProcess,
        /// One of its child processes is killed.
        OneChild,
        /// Its n-th child (counting from 1, in the order they appear) is killed as soon as it
        /// appears.
        NthChild(usize),
    }

    fn make_this_process_a_subreaper() {
        // SAFETY: PR_SET_CHILD_SUBREAPER takes an integer flag and touches no memory.
        let ret = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
        assert_eq!(ret, 0, "prctl(PR_SET_CHILD_SUBREAPER) failed");
    }

    fn check_every_example(stop: Stop) {
        for stem in EXAMPLES {
            check(stem, stop);
        }
    }

    /// Runs one example, stops it as `stop` says, and fails if anything is left.
    fn check(stem: &str, stop: Stop) {
        let shm_before = shm_files();
        let output = OutputFile(
            std::env::temp_dir().join(format!("leftovers-{}-{stem}.txt", std::process::id())),
        );
        let mut example = start(stem, &output.0);
        let pid = example.id() as libc::pid_t;

        if let Stop::NthChild(n) = stop {
            // A tight loop, not `wait_for`'s naps: the kill must follow the fork at once.
            let (deadline, mut seen) = (Instant::now() + HANG, Vec::new());
            while seen.len() < n && Instant::now() < deadline {
                if example.try_wait().ok().flatten().is_some() {
                    break;
                }
                for child in direct_children(pid) {
                    if !seen.contains(&child) {
                        seen.push(child);
                    }
                }
            }
            if let Some(&child) = seen.get(n - 1) {
                // SAFETY: kill has no memory-safety preconditions; `child` is the example's.
                unsafe { libc::kill(child, libc::SIGKILL) };
            }
        } else if !matches!(stop, Stop::Never) {
            // Mid-run: a child exists, and in the lock lesson one holds the lock.
            // If it ends first, that is legal: there is just nothing left to stop.
            wait_for(stem, &mut example, "the middle of its run", || {
                !children_of(pid).is_empty()
                    && (stem != "08_process_lock" || output.read().contains("value : "))
            });
        }
        match stop {
            Stop::Never => {}
            // SAFETY: kill has no memory-safety preconditions. The example
            // leads its own group (process_group(0)), so -pid is that group.
            Stop::Group(signal) => unsafe {
                libc::kill(-pid, signal);
            },
            Stop::MainProcess => {
                let _ = example.kill();
            }
            Stop::NthChild(_) => {} // killed above
            Stop::OneChild => {
                if let Some(&child) = children_of(pid).first() {
                    // SAFETY: as above; `child` is one of the example's children.
                    unsafe { libc::kill(child, libc::SIGKILL) };
                }
            }
        }

        wait_for(stem, &mut example, "its end", || false);
        let status = example.wait().expect("the example has ended");
        // What the example (and any orphan of it) printed, for the messages.
        let report = || {
            format!(
                "{stem} ({stop:?}) ended with {status}; its output:\n{}",
                output.read()
            )
        };
        if let Stop::Never = stop {
            // Run to its end, an example reaps its own children: none may
            // come to us, not even a dead one, and none is waited for.
            let orphans = reap_descendants(&report, Duration::ZERO);
            assert!(status.success(), "{}", report());
            assert_eq!(
                orphans,
                0,
                "{}\nleft {orphans} unreaped child process(es)",
                report()
            );
        } else {
            // Stopped halfway, it may leave orphans, which must end on their own.
            reap_descendants(&report, HANG);
        }
        let new_shm: Vec<String> = shm_files()
            .into_iter()
            .filter(|name| !shm_before.contains(name))
            .collect();
        assert!(
            new_shm.is_empty(),
            "{}\nleft in /dev/shm: {new_shm:?}",
            report()
        );
    }

    /// The file that holds an example's stdout and stderr; removed when dropped.
    struct OutputFile(PathBuf);

    impl OutputFile {
        fn read(&self) -> String {
            fs::read_to_string(&self.0).unwrap_or_default()
        }
    }

    impl Drop for OutputFile {
        fn drop(&mut self) {
            let _ = fs::remove_file(&self.0);
        }
    }

    /// Starts the example as a learner would (`common::example`), in a process
    /// group of its own, with its stdout and stderr in `output`.
    fn start(stem: &str, output: &Path) -> Child {
        let file = fs::File::create(output).expect("create a file for the example's output");
        common::example(stem)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("duplicate the output file"))
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("could not run the example {stem}: {e}"))
    }

    /// Waits until `ready()` holds or the example has exited; after the hang
    /// bound, kills everything and fails, saying what was awaited.
    fn wait_for(stem: &str, example: &mut Child, awaited: &str, mut ready: impl FnMut() -> bool) {
        let deadline = Instant::now() + HANG;
        while !ready() {
            if example.try_wait().ok().flatten().is_some() {
                return;
            }
            if Instant::now() > deadline {
                kill_everything(example);
                panic!("{stem} hangs: {awaited} did not happen within {HANG:?}");
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Reaps every descendant that came to this subreaper, waiting at most
    /// `patience` for those still running to end on their own. Returns how
    /// many there were; fails if some are still alive after that.
    fn reap_descendants(report: &dyn Fn() -> String, patience: Duration) -> usize {
        let deadline = Instant::now() + patience;
        let mut reaped = 0;
        loop {
            // SAFETY: a null status pointer is allowed; WNOHANG returns at once.
            match unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) } {
                pid if pid > 0 => reaped += 1,
                0 if Instant::now() > deadline => {
                    let alive = children_of(std::process::id() as libc::pid_t);
                    for &pid in &alive {
                        // SAFETY: `pid` is our own child (an adopted orphan).
                        unsafe { libc::kill(pid, libc::SIGKILL) };
                    }
                    // SAFETY: as above; blocking now, every one of them was just killed.
                    while unsafe { libc::waitpid(-1, std::ptr::null_mut(), 0) } > 0 {}
                    panic!("{}\nleft processes running: {alive:?}", report());
                }
                0 => std::thread::sleep(Duration::from_millis(5)),
                _ => return reaped, // ECHILD: no descendant left
            }
        }
    }

    /// After a hang: kills the example's whole group, reaps it and its orphans.
    fn kill_everything(example: &mut Child) {
        // SAFETY: kill has no memory-safety preconditions; the group is the example's.
        unsafe { libc::kill(-(example.id() as libc::pid_t), libc::SIGKILL) };
        let _ = example.wait();
        // SAFETY: a null status pointer is allowed; each of them was just killed.
        while unsafe { libc::waitpid(-1, std::ptr::null_mut(), 0) } > 0 {}
    }

    /// The pids whose parent is `parent`, read from `/proc/<pid>/stat`.
    fn children_of(parent: libc::pid_t) -> Vec<libc::pid_t> {
        let Ok(entries) = fs::read_dir("/proc") else {
            return Vec::new();
        };
        let mut children: Vec<libc::pid_t> = entries
            .filter_map(|entry| {
                let pid: libc::pid_t = entry.ok()?.file_name().to_str()?.parse().ok()?;
                let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
                // "pid (name) state ppid ...": the name may hold spaces, so
                // read the fields after its closing parenthesis.
                let after_name = &stat[stat.rfind(')')? + 1..];
                let ppid: libc::pid_t = after_name.split_whitespace().nth(1)?.parse().ok()?;
                (ppid == parent).then_some(pid)
            })
            .collect();
        children.sort();
        children
    }

    /// The children of `parent`, from the kernel's own list of its main thread's children: one
    /// small read, so a kill can follow a fork within microseconds (`children_of` scans `/proc`).
    fn direct_children(parent: libc::pid_t) -> Vec<libc::pid_t> {
        fs::read_to_string(format!("/proc/{parent}/task/{parent}/children"))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|pid| pid.parse().ok())
            .collect()
    }

    /// The names in `/dev/shm`, where POSIX shared memory (`shm_open`) lives.
    fn shm_files() -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir("/dev/shm")
            .map(|dir| {
                dir.filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }
}
