//! The crate's layers, from the ground up, as `src/lib.rs` states them: a module imports only
//! modules of its own layer or of the layers below it. A module that reached up (say,
//! `use crate::pool::Pool;` in `sync/lock.rs`) would tie the ground to what is built on it, and a
//! reader could no longer read the crate from the bottom up. Also: every test file of the crate
//! runs on the crate's own harness, so a file without its `harness = false` stanza cannot run
//! zero tests and report ok.

mod harness;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The layers, lowest first: the ground (`sys`, `error`), the plumbing (`shm`, `inherit`, `codec`), then
/// one concept each. `lib.rs` declares the modules in this order and says so.
const LAYERS: [&[&str]; 7] = [
    &["sys", "error"],
    &["shm", "region", "inherit", "codec"],
    &["process"],
    &["sync"],
    &["shared"],
    &["ipc"],
    &["pool"],
];

/// The one import that reaches up, on purpose: `error.rs`, the ground, names how a process ended,
/// `ExitStatus`, a plain value of `process` kept in `process/status.rs`, a file that imports
/// nothing of the crate (see `the_exit_status_file_imports_nothing_of_the_crate`). Any other
/// import of `process` by `error.rs` still fails.
const ALLOWED_UP: (&str, &str) = ("error.rs", "use crate::process::ExitStatus;");

/// Names `lib.rs` re-exports at the crate's root, and the module they live in: a `crate::init`
/// inside the crate is an import of `process`.
const ROOT_NAMES: [(&str, &str); 2] = [("init", "process"), ("cpu_count", "process")];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The layer of a top-level module, or of a name re-exported at the root.
fn layer(name: &str) -> Option<usize> {
    let module = ROOT_NAMES
        .iter()
        .find(|(root, _)| *root == name)
        .map_or(name, |(_, module)| module);
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// The top-level modules a source text names through `crate::` in its code: `crate::sync::Lock`
/// and `crate::{inherit, sys}` both count; a comment's (a doc link to a type above, say) does not.
fn crate_paths(text: &str) -> Vec<String> {
    let code: String = text
        .lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut names = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        let group = rest
            .strip_prefix('{')
            .map(|inner| &inner[..inner.find('}').unwrap_or(0)]);
        let heads: Vec<&str> = match group {
            Some(group) => group.split(',').collect(),
            None => vec![rest],
        };
        for head in heads {
            let name: String = head
                .trim_start()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                names.push(name);
            }
        }
    }
    names
}

/// `problems` for every import of a module above the importing file's own layer.
fn imports_above(problems: &mut Vec<String>, file: &Path, text: &str) {
    let relative = file.strip_prefix(src()).unwrap();
    let top = relative
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    let own = top.trim_end_matches(".rs");
    if own == "lib" {
        return; // the root declares every layer
    }
    let Some(own_layer) = layer(own) else {
        problems.push(format!(
            "src/{}: module `{own}` is in no layer of LAYERS",
            relative.display()
        ));
        return;
    };
    let text = match relative.to_str() {
        Some(path) if path == ALLOWED_UP.0 => text.replacen(ALLOWED_UP.1, "", 1),
        _ => text.to_owned(),
    };
    for name in crate_paths(&text) {
        match layer(&name) {
            Some(theirs) if theirs > own_layer => problems.push(format!(
                "src/{} (layer of `{own}`) imports `crate::{name}`, a layer above it",
                relative.display()
            )),
            Some(_) => {}
            // A name re-exported at the root that is not listed: say so rather than pass it.
            None => problems.push(format!(
                "src/{}: `crate::{name}` is no module of LAYERS nor a known root name",
                relative.display()
            )),
        }
    }
}

fn no_module_imports_one_above_it() {
    let mut problems = Vec::new();
    for file in rust_files(&src()) {
        imports_above(&mut problems, &file, &fs::read_to_string(&file).unwrap());
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

fn the_check_sees_an_import_that_reaches_up() {
    let lock = src().join("sync/lock.rs");
    let mut problems = Vec::new();
    imports_above(
        &mut problems,
        &lock,
        "use crate::pool::Pool;\nuse crate::{sys, ipc};\n",
    );
    assert_eq!(
        problems,
        [
            "src/sync/lock.rs (layer of `sync`) imports `crate::pool`, a layer above it",
            "src/sync/lock.rs (layer of `sync`) imports `crate::ipc`, a layer above it",
        ]
    );
}

fn the_one_exception_allows_exit_status_and_nothing_else() {
    let error = src().join("error.rs");
    let mut problems = Vec::new();
    imports_above(
        &mut problems,
        &error,
        "use crate::process::ExitStatus;\nuse crate::process::Process;\n",
    );
    assert_eq!(
        problems,
        ["src/error.rs (layer of `error`) imports `crate::process`, a layer above it"]
    );
    let mut problems = Vec::new();
    let elsewhere = src().join("sys.rs");
    imports_above(
        &mut problems,
        &elsewhere,
        "use crate::process::ExitStatus;\n",
    );
    assert_eq!(
        problems,
        ["src/sys.rs (layer of `sys`) imports `crate::process`, a layer above it"]
    );
}

/// `error.rs` may name `ExitStatus` only because its file depends on nothing of the crate: no
/// `crate::`, no `super::` in its code.
fn the_exit_status_file_imports_nothing_of_the_crate() {
    let text = fs::read_to_string(src().join("process/status.rs")).unwrap();
    let code: Vec<&str> = text
        .lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .filter(|code| code.contains("crate::") || code.contains("super::"))
        .collect();
    assert!(code.is_empty(), "process/status.rs imports {code:?}");
    let error = fs::read_to_string(src().join("error.rs")).unwrap();
    assert!(
        error.contains(ALLOWED_UP.1),
        "error.rs no longer imports ExitStatus: remove ALLOWED_UP"
    );
}

fn lib_rs_declares_the_layers_in_their_order() {
    let lib = fs::read_to_string(src().join("lib.rs")).unwrap();
    let declared: Vec<&str> = lib
        .lines()
        .filter_map(|line| line.strip_prefix("pub mod ").or(line.strip_prefix("mod ")))
        .map(|rest| rest.trim_end_matches(';'))
        .collect();
    let layers_of: Vec<usize> = declared.iter().map(|m| layer(m).unwrap()).collect();
    assert!(
        layers_of.windows(2).all(|pair| pair[0] <= pair[1]),
        "lib.rs declares {declared:?}: not in the order of LAYERS"
    );
    assert_eq!(
        declared.len(),
        LAYERS.iter().map(|l| l.len()).sum::<usize>()
    );
}

fn every_test_file_runs_on_the_crates_harness() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let stanzas: Vec<String> = manifest
        .split("[[test]]")
        .skip(1)
        .filter(|stanza| stanza.contains("harness = false"))
        .filter_map(|stanza| Some(stanza.split('"').nth(1)?.to_owned()))
        .collect();
    let mut problems = Vec::new();
    for entry in fs::read_dir(root.join("tests")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if !stanzas.contains(&name) {
            problems.push(format!(
                "tests/{name}.rs has no [[test]] stanza with harness = false"
            ));
        }
        let text = fs::read_to_string(&path).unwrap();
        if !text.contains("harness::run(") || !text.contains("tests![") {
            problems.push(format!(
                "tests/{name}.rs runs no test through harness::run(tests![...])"
            ));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

fn main() -> ExitCode {
    harness::run(tests![
        no_module_imports_one_above_it,
        the_check_sees_an_import_that_reaches_up,
        the_one_exception_allows_exit_status_and_nothing_else,
        the_exit_status_file_imports_nothing_of_the_crate,
        lib_rs_declares_the_layers_in_their_order,
        every_test_file_runs_on_the_crates_harness,
    ])
}
