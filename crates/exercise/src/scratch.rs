//! The scratch project: a cargo package under `target/exercise/` with one binary per exercise
//! and one per solution, each made of the exercise (or solution) file and its check.
//!
//! The exercises cannot be targets of the workspace: several do not compile, on purpose, and
//! `cargo test --workspace` must still build. The scratch package depends on `mp` by path and
//! builds into the workspace's own target folder, so its dependencies are built once and shared;
//! its files are rewritten only when their text changes, so cargo's fingerprints keep a second
//! build cheap.

use std::collections::BTreeMap;
use std::fs;
use std::hash::{DefaultHasher, Hash as _, Hasher as _};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::catalogue::{EXERCISES, Exercise};

/// Which file a binary is built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Side {
    /// `exercises/<stem>.rs`, as the learner left it.
    Exercise,
    /// `solutions/<stem>.rs`.
    Solution,
    /// `crates/exercise/impostors/<stem>.rs`, where there is one: an answer that looks right
    /// (the lesson's output, or the right numbers got the wrong way), which the check must
    /// reject. The tests prove it does.
    Impostor,
}

impl Side {
    fn folder(self) -> &'static str {
        match self {
            Side::Exercise => "exercises",
            Side::Solution => "solutions",
            Side::Impostor => "crates/exercise/impostors",
        }
    }

    /// The file this side builds for `stem`, from the repository's root.
    pub fn file(self, stem: &str) -> String {
        format!("{}/{stem}.rs", self.folder())
    }
}

/// The scratch project, and where things are.
pub struct Scratch {
    /// The repository's root (the folder with `exercises/`).
    pub root: PathBuf,
    /// The target folder it shares with the workspace.
    pub target: PathBuf,
    /// `<target>/exercise`: the scratch package.
    pub dir: PathBuf,
}

/// What building one binary gave.
#[derive(Debug)]
pub enum Built {
    /// The binary, ready to run.
    Binary(PathBuf),
    /// It did not build.
    Failed {
        /// rustc's errors, rendered, with paths from the repository's root.
        messages: String,
        /// Their error codes (`E0373`).
        codes: Vec<String>,
    },
}

/// The binary's name: `exercise-03_lock_twice` or `solution-03_lock_twice`.
pub fn bin_name(stem: &str, side: Side) -> String {
    match side {
        Side::Exercise => format!("exercise-{stem}"),
        Side::Solution => format!("solution-{stem}"),
        Side::Impostor => format!("impostor-{stem}"),
    }
}

fn write_if_changed(path: &Path, text: &str) -> io::Result<()> {
    if fs::read_to_string(path).ok().as_deref() == Some(text) {
        return Ok(()); // unchanged: keep its time, so cargo sees nothing new
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(path, text)
}

/// A path as a Rust string literal.
fn literal(path: &Path) -> String {
    format!("{:?}", path.to_string_lossy())
}

impl Scratch {
    /// The scratch project for the repository at `root`, building into `target`.
    pub fn new(root: PathBuf, target: PathBuf) -> Scratch {
        let dir = target.join("exercise");
        Scratch { root, target, dir }
    }

    /// Writes the package (only the files whose text changed).
    pub fn prepare(&self) -> io::Result<()> {
        let mp = self.root.join("crates/mp");
        let mut manifest = format!(
            "# Written by `cargo exercise` (crates/exercise): one binary per exercise and per\n\
             # solution, each the exercise's file with its check. Do not edit: it is rewritten.\n\
             [package]\nname = \"exercise-scratch\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\
             publish = false\nautobins = false\n\n[workspace]\n\n[dependencies]\n\
             mp = {{ path = {} }}\nserde = {{ version = \"1\", features = [\"derive\"] }}\n\
             crossbeam = \"0.8\"\nrayon = \"1\"\nlibc = \"0.2\"\n",
            literal(&mp)
        );
        for exercise in EXERCISES {
            for side in [Side::Exercise, Side::Solution, Side::Impostor] {
                if !self.root.join(side.file(exercise.stem)).is_file() && side == Side::Impostor {
                    continue;
                }
                let name = bin_name(exercise.stem, side);
                manifest.push_str(&format!(
                    "\n[[bin]]\nname = \"{name}\"\npath = \"src/{name}.rs\"\ntest = false\n"
                ));
                write_if_changed(
                    &self.dir.join(format!("src/{name}.rs")),
                    &self.bin_source(exercise, side),
                )?;
            }
        }
        write_if_changed(&self.dir.join("Cargo.toml"), &manifest)?;
        // The workspace's lock file: the same versions, and nothing to look up. Copied again
        // when the workspace's is newer (cargo then trims it to what this package uses).
        let (ours, theirs) = (self.dir.join("Cargo.lock"), self.root.join("Cargo.lock"));
        let modified = |path: &Path| fs::metadata(path).and_then(|m| m.modified()).ok();
        if modified(&ours).is_none() || modified(&theirs) > modified(&ours) {
            fs::copy(&theirs, &ours)?;
        }
        Ok(())
    }

    /// The root of one binary: the exercise (or solution) as the module `exercise`, the shared
    /// helpers as `support`, and the check as `check`, whose `main` runs.
    fn bin_source(&self, exercise: &Exercise, side: Side) -> String {
        let stem = exercise.stem;
        let file = self.root.join(side.folder()).join(format!("{stem}.rs"));
        let checks = self.root.join("crates/exercise/checks");
        format!(
            "// Written by `cargo exercise`: {folder}/{stem}.rs and its check. Do not edit.\n\
             #[allow(dead_code)]\n#[path = {exercise}]\nmod exercise;\n\
             #[allow(dead_code)]\n#[path = {support}]\nmod support;\n\
             #[path = {check}]\nmod check;\n\nfn main() {{\n    check::main();\n}}\n",
            folder = side.folder(),
            exercise = literal(&file),
            support = literal(&checks.join("support.rs")),
            check = literal(&checks.join(format!("{stem}.rs"))),
        )
    }

    /// Builds these binaries in one cargo run (going on past failures) and says, for each,
    /// whether it built. `quiet` hides cargo's progress lines.
    ///
    /// Cargo remembers what built, not what failed: a binary that does not compile would be
    /// compiled again at every run. So a failure is remembered here, under
    /// `target/exercise/failed/`, with a key made of everything that went into it (the
    /// exercise, its check, the scratch manifest and lock file, every file of `mp`, and
    /// rustc's version); any change to one of them compiles it again.
    pub fn build(
        &self,
        which: &[(&str, Side)],
        quiet: bool,
    ) -> io::Result<BTreeMap<String, Built>> {
        self.prepare()?;
        let color = !quiet && io::IsTerminal::is_terminal(&io::stderr());
        let common = self.common_key(color)?;
        let mut built: BTreeMap<String, Built> = BTreeMap::new();
        let mut keys = BTreeMap::new();
        let mut to_build = Vec::new();
        for (stem, side) in which {
            let name = bin_name(stem, *side);
            let key = self.failure_key(common, stem, *side);
            match self.remembered_failure(&name, &key) {
                Some(failed) => {
                    built.insert(name, failed);
                }
                None => {
                    to_build.push((*stem, *side));
                    keys.insert(name, key);
                }
            }
        }
        if to_build.is_empty() {
            return Ok(built);
        }
        let mut fresh = self.cargo_build(&to_build, quiet, color)?;
        for (name, outcome) in &fresh {
            if let (Built::Failed { messages, codes }, Some(key)) = (outcome, keys.get(name))
                && !codes.is_empty()
            {
                let record =
                    serde_json::json!({ "key": key, "messages": messages, "codes": codes });
                let path = self.dir.join("failed").join(format!("{name}.json"));
                write_if_changed(&path, &record.to_string())?;
            }
        }
        built.append(&mut fresh);
        Ok(built)
    }

    /// What every binary's failure key shares: the manifest, the lock file, `mp`'s files, the
    /// checks' shared helpers, rustc's version, and whether messages are in colour.
    fn common_key(&self, color: bool) -> io::Result<u64> {
        let mut hasher = DefaultHasher::new();
        color.hash(&mut hasher);
        for file in ["Cargo.toml", "Cargo.lock"] {
            fs::read(self.dir.join(file))
                .unwrap_or_default()
                .hash(&mut hasher);
        }
        fs::read(self.root.join("crates/exercise/checks/support.rs"))?.hash(&mut hasher);
        let mut stack = vec![self.root.join("crates/mp")];
        let mut files = Vec::new();
        while let Some(dir) = stack.pop() {
            for entry in fs::read_dir(&dir)? {
                let path = entry?.path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    files.push(path);
                }
            }
        }
        files.sort();
        for file in files {
            file.hash(&mut hasher);
            fs::read(&file)?.hash(&mut hasher);
        }
        let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
        let version = Command::new(rustc).arg("-vV").output()?;
        version.stdout.hash(&mut hasher);
        Ok(hasher.finish())
    }

    /// The key of one binary's failure: the common key, its own source and its check.
    fn failure_key(&self, common: u64, stem: &str, side: Side) -> String {
        let mut hasher = DefaultHasher::new();
        common.hash(&mut hasher);
        let source = self.root.join(side.folder()).join(format!("{stem}.rs"));
        fs::read(source).unwrap_or_default().hash(&mut hasher);
        let check = self.root.join(format!("crates/exercise/checks/{stem}.rs"));
        fs::read(check).unwrap_or_default().hash(&mut hasher);
        format!("{:016x}", hasher.finish())
    }

    /// The failure remembered for `name` under `key`, if there is one.
    fn remembered_failure(&self, name: &str, key: &str) -> Option<Built> {
        let path = self.dir.join("failed").join(format!("{name}.json"));
        let text = fs::read_to_string(path).ok()?;
        let record: serde_json::Value = serde_json::from_str(&text).ok()?;
        if record["key"].as_str()? != key {
            return None;
        }
        let codes = record["codes"].as_array()?;
        Some(Built::Failed {
            messages: record["messages"].as_str()?.to_owned(),
            codes: codes
                .iter()
                .filter_map(|c| Some(c.as_str()?.to_owned()))
                .collect(),
        })
    }

    /// One cargo run for these binaries.
    fn cargo_build(
        &self,
        which: &[(&str, Side)],
        quiet: bool,
        color: bool,
    ) -> io::Result<BTreeMap<String, Built>> {
        let format = if color {
            "--message-format=json-diagnostic-rendered-ansi"
        } else {
            "--message-format=json"
        };
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = Command::new(cargo);
        command
            .arg("build")
            .arg("--keep-going")
            .arg(format)
            .arg("--manifest-path")
            .arg(self.dir.join("Cargo.toml"))
            .arg("--target-dir")
            .arg(&self.target)
            .env_remove("CARGO_TARGET_DIR")
            .stdout(Stdio::piped())
            .stderr(if quiet {
                Stdio::piped()
            } else {
                Stdio::inherit()
            });
        for (stem, side) in which {
            command.arg("--bin").arg(bin_name(stem, *side));
        }
        let output = command.output()?;
        let mut built: BTreeMap<String, Built> = BTreeMap::new();
        let prefix = format!("{}/", self.root.display());
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            let bin = message["target"]["name"].as_str().unwrap_or("").to_owned();
            match message["reason"].as_str() {
                Some("compiler-artifact") => {
                    if let Some(path) = message["executable"].as_str() {
                        built.insert(bin, Built::Binary(PathBuf::from(path)));
                    }
                }
                Some("compiler-message") => {
                    let diagnostic = &message["message"];
                    let level = diagnostic["level"].as_str().unwrap_or("");
                    let Some(rendered) = diagnostic["rendered"].as_str() else {
                        continue;
                    };
                    let rendered = rendered.replace(&prefix, "");
                    // Warnings about the checker's own files are not the learner's business.
                    if level == "warning" && !rendered.contains("exercises/") {
                        continue;
                    }
                    let entry = built.entry(bin).or_insert_with(|| Built::Failed {
                        messages: String::new(),
                        codes: Vec::new(),
                    });
                    if let Built::Failed { messages, codes } = entry {
                        messages.push_str(&rendered);
                        let code = diagnostic["code"]["code"].as_str();
                        if let Some(code) = code.filter(|_| level == "error") {
                            codes.push(code.to_owned());
                        }
                    }
                }
                _ => {}
            }
        }
        // A target with warnings but no error has its artifact line after them: keep the
        // binary. One with an error has no artifact, so it stays Failed. A target cargo did not
        // even try (a dependency failed) is Failed with cargo's own message.
        for (stem, side) in which {
            let name = bin_name(stem, *side);
            built.entry(name).or_insert_with(|| Built::Failed {
                messages: String::from_utf8_lossy(&output.stderr).into_owned(),
                codes: Vec::new(),
            });
        }
        let _ = io::stderr().flush();
        Ok(built)
    }
}

impl Built {
    /// Warnings that came with a binary are dropped here; errors are kept in `Failed`.
    pub fn binary(&self) -> Option<&Path> {
        match self {
            Built::Binary(path) => Some(path),
            Built::Failed { .. } => None,
        }
    }
}
