//! Snapshot and behaviour tests of lesson `18_beyond_one_machine`, which runs its ranks under
//! Open MPI's `mpirun` and is built only with `--features mpi`.
//!
//! In a plain `cargo test --workspace` these tests show as ignored, with the command that runs
//! them: `.ci/mpi`, which installs Open MPI when it is missing and runs
//! `cargo test --features mpi --test snapshots_mpi`. Each run of `mpirun` is followed by a check
//! that none of its ranks is still alive.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};

use insta_cmd::assert_cmd_snapshot;

const STEM: &str = "18_beyond_one_machine";

/// The environment variable every rank of one run inherits from `mpirun`, with a value naming
/// the test: how the tests find that run's ranks afterwards.
const MARKER: &str = "LESSON_18_TEST";

/// `mpirun -n 2 [mca...] ./18_beyond_one_machine [args...]`, started in the examples' folder so
/// the snapshot names the binary as `./18_beyond_one_machine` wherever the target folder is.
fn mpirun(marker: &str, mca: &[&str], args: &[&str]) -> Command {
    let binary = common::example_path(STEM);
    let mut command = Command::new("mpirun");
    command
        .current_dir(binary.parent().expect("the binary is in a folder"))
        // This machine runs its tests as root, which mpirun refuses unless told twice.
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env(MARKER, marker)
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .args(["-n", "2"])
        .args(mca)
        .arg(format!("./{STEM}"))
        .args(args);
    command
}

/// The live processes (zombies have no environment left) that carry `MARKER=marker`.
fn ranks_still_running(marker: &str) -> Vec<String> {
    let wanted = format!("{MARKER}={marker}");
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter(|entry| {
            let environ = fs::read(entry.path().join("environ")).unwrap_or_default();
            environ
                .split(|&b| b == 0)
                .any(|var| var == wanted.as_bytes())
        })
        .map(|entry| {
            let pid = entry.file_name().to_string_lossy().into_owned();
            let cmdline = fs::read(Path::new("/proc").join(&pid).join("cmdline"));
            let cmdline = String::from_utf8_lossy(&cmdline.unwrap_or_default()).replace('\0', " ");
            format!("pid {pid}: {cmdline}")
        })
        .collect()
}

/// Fails the test if any rank of the run named `marker` outlived `mpirun`.
fn assert_no_rank_left(marker: &str) {
    let left = ranks_still_running(marker);
    assert!(
        left.is_empty(),
        "ranks left running after mpirun ended:\n  {}",
        left.join("\n  ")
    );
}

/// One MPI job at a time: each test holds this while its mpirun runs, so jobs on this
/// 2-core machine never compete for its cores (mpirun gives each rank a core of its own).
static ONE_JOB_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_job_at_a_time() -> MutexGuard<'static, ()> {
    // A test that failed while holding the lock poisons it; the next job may still run.
    ONE_JOB_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `mpirun` to its end, checks that no rank is left, and returns what it gave.
fn run(marker: &str, mca: &[&str], args: &[&str]) -> Output {
    let _one_job = one_job_at_a_time();
    let output = mpirun(marker, mca, args)
        .output()
        .expect("cannot run mpirun: is Open MPI installed? (.ci/mpi installs it)");
    assert_no_rank_left(marker);
    output
}

/// The shared filters, plus what mpirun's own messages vary: the machine's name, job ids.
fn settings() -> insta::Settings {
    let mut settings = common::settings();
    settings.add_filter(r"on node \S+", "on node [HOST]");
    settings.add_filter(r"\[\[\d+,\d+\],(\d+)\]", "[[JOB],$1]");
    settings
}

#[test]
#[cfg_attr(not(feature = "mpi"), ignore = "needs Open MPI: run .ci/mpi")]
fn two_ranks_over_shared_memory() {
    let _one_job = one_job_at_a_time();
    settings().bind(|| assert_cmd_snapshot!(STEM, mpirun("shared-memory", &[], &[])));
    assert_no_rank_left("shared-memory");
}

#[test]
#[cfg_attr(not(feature = "mpi"), ignore = "needs Open MPI: run .ci/mpi")]
fn two_ranks_over_tcp_print_the_same() {
    let _one_job = one_job_at_a_time();
    // As between two machines: the ranks talk through TCP sockets only (and `self`, a rank to
    // itself). The output, and so the snapshot, is the same as over shared memory.
    let mut tcp = mpirun("tcp", &["--mca", "btl", "tcp,self"], &[]);
    settings().bind(|| assert_cmd_snapshot!(STEM, tcp));
    assert_no_rank_left("tcp");
}

#[test]
#[cfg_attr(not(feature = "mpi"), ignore = "needs Open MPI: run .ci/mpi")]
fn a_bad_flag_is_a_message_and_exit_code_2() {
    let output = run("bad-flag", &[], &["--kill-rank", "2"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr:\n{stderr}");
    assert!(
        stderr.contains("error: `--kill-rank 2`: expected a whole number from 0 to 1\nusage:"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
#[cfg_attr(not(feature = "mpi"), ignore = "needs Open MPI: run .ci/mpi")]
fn a_killed_rank_ends_the_whole_job() {
    let output = run("kill-rank", &[], &["--kill-rank", "1"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // mpirun kills the other rank and exits with 128 + 9, as a shell reports a SIGKILL.
    assert_eq!(output.status.code(), Some(137), "stderr:\n{stderr}");
    assert!(stderr.contains("rank 1 with PID"), "{stderr}");
    assert!(stderr.contains("exited on signal 9 (Killed)"), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "",
        "no total after a death"
    );
}

#[test]
#[cfg_attr(not(feature = "mpi"), ignore = "needs Open MPI: run .ci/mpi")]
fn a_panicking_rank_aborts_the_whole_job() {
    let output = run("panic-rank", &[], &["--panic-rank", "1"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The example's panic hook calls MPI_Abort with 101, Rust's exit code for a panic.
    assert_eq!(output.status.code(), Some(101), "stderr:\n{stderr}");
    assert!(
        stderr.contains("rank 1 panics on purpose (--panic-rank)"),
        "{stderr}"
    );
    // mpirun's own banner ("MPI_ABORT was invoked on rank 1 ...") is not checked: Open MPI
    // 4.1 sometimes fails to print it ("ORTE_ERROR_LOG: Data unpack had inadequate space").
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "",
        "no total after a death"
    );
}

#[test]
#[cfg_attr(not(feature = "mpi"), ignore = "needs Open MPI: run .ci/mpi")]
fn stopping_mpirun_mid_run_leaves_no_rank() {
    // The check above must be able to see ranks: here it finds them while they run (a debug
    // build needs seconds for n = 10^9), then mpirun is stopped as Ctrl-C would stop it.
    let _one_job = one_job_at_a_time();
    let mut job = mpirun("stopped", &[], &["--n", "1000000000"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("cannot run mpirun");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    // mpirun itself carries the marker too: wait for it and both ranks.
    while ranks_still_running("stopped").len() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the ranks never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // SAFETY: kill has no memory-safety preconditions; the pid is our own child's, not reaped yet.
    unsafe { libc::kill(job.id() as i32, libc::SIGINT) };
    let status = job.wait().expect("cannot wait for mpirun");
    assert!(!status.success(), "mpirun was stopped before the total");
    // mpirun may return before its last rank has gone (seen with the Python twin): allow it a
    // moment to end them, as a learner's shell would, then insist.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !ranks_still_running("stopped").is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_no_rank_left("stopped");
}
