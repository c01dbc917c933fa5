//! `cargo exercise`: the exercises' checker.
//!
//! Each exercise in `exercises/` has a check in `crates/exercise/checks/`: a small program that
//! includes the exercise as a module and calls its `pub` functions, with the lesson's inputs and
//! others, counting what it can (processes started, results lost, a lock really held). The
//! checker builds the two together in a scratch project ([`scratch`]), runs the result with a
//! time limit ([`run`]), and says what is still wrong, with a hint that names the lesson's note.

pub mod catalogue;
pub mod run;
pub mod scratch;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, mpsc};
use std::time::Duration;

pub use catalogue::{EXERCISES, Exercise, Kind, Shipped};
pub use run::{Ended, Run};
pub use scratch::{Built, Scratch, Side};

/// The outcome of checking one exercise (or its solution).
#[derive(Debug)]
pub enum Outcome {
    /// It does not compile.
    DoesNotCompile {
        /// rustc's messages, rendered, with paths from the repository's root.
        messages: String,
        /// Their error codes (`E0373`).
        codes: Vec<String>,
    },
    /// It compiled and ran: how it ended.
    Ran(Run),
}

impl Outcome {
    /// Solved: it compiled, and its check passed within the time limit.
    pub fn solved(&self) -> bool {
        matches!(
            self,
            Outcome::Ran(Run {
                ended: Ended::Passed,
                ..
            })
        )
    }

    /// In a few words, for a list.
    pub fn summary(&self) -> &'static str {
        match self {
            Outcome::DoesNotCompile { .. } => "does not compile",
            Outcome::Ran(run) => match run.ended {
                Ended::Passed => "solved",
                Ended::Failed(_) => "not solved",
                Ended::Hung => "hangs",
            },
        }
    }

    /// Whether this is the way `exercise` is meant to fail as shipped.
    pub fn fails_as(&self, shipped: Shipped) -> bool {
        match (self, shipped) {
            (Outcome::DoesNotCompile { codes, .. }, Shipped::DoesNotCompile(code)) => {
                codes.iter().any(|c| c == code)
            }
            (Outcome::Ran(run), Shipped::Hangs) => run.ended == Ended::Hung,
            (Outcome::Ran(run), Shipped::Wrong) => matches!(run.ended, Ended::Failed(_)),
            _ => false,
        }
    }
}

/// The repository's root: the folder that holds `exercises/`, found from the current folder
/// upwards, and else from where this crate was built.
pub fn repository_root() -> PathBuf {
    let has_exercises =
        |dir: &Path| dir.join("exercises").is_dir() && dir.join("crates/exercise").is_dir();
    if let Ok(here) = std::env::current_dir()
        && let Some(found) = here.ancestors().find(|dir| has_exercises(dir))
    {
        return found.to_path_buf();
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")))
}

/// The target folder this program was built into (`<target>/debug/exercise` lives in it), so
/// the exercises share its dependencies' builds. `CARGO_TARGET_DIR` wins when it is set.
pub fn target_dir(root: &Path) -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return root.join(dir);
    }
    let from_exe = std::env::current_exe().ok().and_then(|exe| {
        let profile = exe.parent()?;
        // A test binary lives one folder deeper, in <target>/<profile>/deps/.
        let profile = if profile.ends_with("deps") {
            profile.parent()?
        } else {
            profile
        };
        Some(profile.parent()?.to_path_buf())
    });
    from_exe
        .filter(|dir| dir.join("CACHEDIR.TAG").is_file() || dir.join("debug").is_dir())
        .unwrap_or_else(|| root.join("target"))
}

/// Builds these (exercise, side) pairs and runs every one that built, at most `parallel` at a
/// time, each within its exercise's limit. Results in the order asked.
///
/// Two cargo runs, so that the checks overlap the slowest compiling: first what is expected to
/// compile, whose checks start at once (a hang mostly waits); then the exercises that are
/// shipped not compiling (cargo keeps no failures: see `Scratch::build` for how they are
/// remembered).
pub fn check_all(
    scratch: &Scratch,
    which: &[(&'static Exercise, Side)],
    parallel: usize,
    quiet: bool,
) -> io::Result<Vec<Outcome>> {
    let compiles_first = |(exercise, side): &(&'static Exercise, Side)| {
        *side != Side::Exercise || !matches!(exercise.shipped, Shipped::DoesNotCompile(_))
    };
    let first: Vec<usize> = (0..which.len())
        .filter(|&i| compiles_first(&which[i]))
        .collect();
    let then: Vec<usize> = (0..which.len())
        .filter(|&i| !compiles_first(&which[i]))
        .collect();
    let outcomes: Mutex<Vec<Option<io::Result<Outcome>>>> =
        Mutex::new((0..which.len()).map(|_| None).collect());
    let (jobs, queue) = mpsc::channel::<(usize, PathBuf, Duration)>();
    let queue = Mutex::new(queue);
    let built_or_failed = std::thread::scope(|s| {
        // Owned here: however this closure returns (a failed build too), `jobs` is dropped and
        // the runners stop, so the scope can end.
        let jobs = jobs;
        for _ in 0..parallel.max(1) {
            s.spawn(|| {
                loop {
                    let next = queue.lock().unwrap().recv();
                    let Ok((i, path, limit)) = next else { break };
                    let ran = run::run(&path, &scratch.root, limit).map(Outcome::Ran);
                    outcomes.lock().unwrap()[i] = Some(ran);
                }
            });
        }
        for group in [first, then] {
            let pairs: Vec<(&str, Side)> = group
                .iter()
                .map(|&i| (which[i].0.stem, which[i].1))
                .collect();
            if pairs.is_empty() {
                continue;
            }
            let mut built = scratch.build(&pairs, quiet)?;
            // The longest limits first, so that hangs overlap with everything else.
            let mut to_run = Vec::new();
            for i in group {
                let (exercise, side) = which[i];
                match built.remove(&scratch::bin_name(exercise.stem, side)) {
                    Some(Built::Binary(path)) => to_run.push((i, path, exercise.limit)),
                    Some(Built::Failed { messages, codes }) => {
                        outcomes.lock().unwrap()[i] =
                            Some(Ok(Outcome::DoesNotCompile { messages, codes }))
                    }
                    None => unreachable!("build() answers for every binary it was asked for"),
                }
            }
            to_run.sort_by_key(|(_, _, limit)| std::cmp::Reverse(*limit));
            for job in to_run {
                jobs.send(job).expect("the runners wait for jobs");
            }
        }
        drop(jobs); // the runners stop once the queue is empty
        Ok::<(), io::Error>(())
    });
    built_or_failed?;
    outcomes
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|outcome| outcome.expect("every one built, failed to build, or ran"))
        .collect()
}
