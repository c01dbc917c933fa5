//! A tiny test harness for tests that fork.
//!
//! The standard test harness runs tests on several threads at once, and a
//! process that forks while other threads run is exactly the trap this crate
//! warns about: the child may hang on a lock another thread held. So these
//! test files use `harness = false` and this runner instead. It runs every
//! test one after another on the main thread, and after each test checks
//! what a multiprocessing test must leave behind: nothing. No child process
//! still running, no zombie left unreaped, no file descriptor left open (which
//! also catches a leaked shared-memory file, since each is an open memfd).
//!
//! It prints the same lines as the standard harness, so `cargo test` reads
//! it as usual, and accepts a name filter and `--exact`.

use std::io::Write;
use std::panic::{self, AssertUnwindSafe};
use std::process::ExitCode;
use std::time::Instant;

/// One test: its name and its body.
pub struct Test {
    pub name: &'static str,
    pub run: fn(),
}

/// Lists tests by name: `tests![a, b, c]`.
#[macro_export]
macro_rules! tests {
    ($($name:ident),* $(,)?) => {
        &[$($crate::harness::Test { name: stringify!($name), run: $name }),*]
    };
}

/// The open file descriptors of this process.
fn open_fds() -> Vec<String> {
    let mut fds: Vec<String> = std::fs::read_dir("/proc/self/fd")
        .map(|dir| {
            dir.filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
                .collect()
        })
        .unwrap_or_default();
    fds.sort();
    fds
}

/// What a finished test left behind, if anything.
fn leftovers(fds_before: &[String]) -> Option<String> {
    let mut status = 0;
    // SAFETY: `status` is a valid place to write; WNOHANG makes this return at once.
    let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
    if pid > 0 {
        return Some(format!("left child process {pid} unreaped (a zombie)"));
    }
    if pid == 0 {
        return Some("left a child process running".to_owned());
    }
    // Listing /proc/self/fd shows the listing's own descriptor too, in both
    // lists: compare the counts, then name what is new.
    let after = open_fds();
    if after.len() > fds_before.len() {
        let names: Vec<String> = after
            .iter()
            .filter(|fd| !fds_before.contains(fd))
            .map(|fd| {
                let target = std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap_or_default();
                format!("{fd} -> {}", target.display())
            })
            .collect();
        return Some(format!("left file descriptors open: {}", names.join(", ")));
    }
    None
}

/// Runs `tests` in order on this thread and reports like the standard harness.
pub fn run(tests: &[Test]) -> ExitCode {
    mp::init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let exact = args.iter().any(|a| a == "--exact");
    if args.iter().any(|a| a == "--list") {
        for test in tests {
            println!("{}: test", test.name);
        }
        return ExitCode::SUCCESS;
    }
    let filter = args.iter().find(|a| !a.starts_with("--"));
    let selected: Vec<&Test> = tests
        .iter()
        .filter(|t| {
            filter.is_none_or(|f| {
                if exact {
                    t.name == f
                } else {
                    t.name.contains(f.as_str())
                }
            })
        })
        .collect();

    let started = Instant::now();
    println!("\nrunning {} tests", selected.len());
    let mut failed = Vec::new();
    for test in &selected {
        print!("test {} ... ", test.name);
        let _ = std::io::stdout().flush();
        let fds_before = open_fds();
        let outcome = panic::catch_unwind(AssertUnwindSafe(test.run));
        let problem = match outcome {
            Err(_) => Some("panicked (message above)".to_owned()),
            Ok(()) => leftovers(&fds_before),
        };
        match problem {
            None => println!("ok"),
            Some(problem) => {
                println!("FAILED: {problem}");
                failed.push(test.name);
                // Reap whatever the failed test left, so the next test starts clean.
                // SAFETY: a null status pointer is allowed; WNOHANG returns at once.
                while unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) } > 0 {}
            }
        }
    }
    let passed = selected.len() - failed.len();
    if !failed.is_empty() {
        println!("\nfailures:");
        for name in &failed {
            println!("    {name}");
        }
    }
    println!(
        "\ntest result: {}. {passed} passed; {} failed; 0 ignored; 0 measured; {} filtered out; finished in {:.2}s\n",
        if failed.is_empty() { "ok" } else { "FAILED" },
        failed.len(),
        tests.len() - selected.len(),
        started.elapsed().as_secs_f64()
    );
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
