//! `notes/python_to_rust.md` keeps its promises.
//!
//! The map has one table row per Python name (or a few names that go together):
//! `| Python | Rust | status | shown in |`. These tests check that
//!
//! - every public name of Python's `threading`, `queue`, `multiprocessing` (with
//!   `pool`, `connection`, `shared_memory` and `managers`) and `concurrent.futures`
//!   has a row: the names are listed below, as Python 3.11 lists them (`__all__`);
//! - a few calls that behave differently have rows of their own (`CALLS`), and the map's
//!   introduction names the Python version it covers (3.11) and the names added since;
//! - every row says how the Rust compares (`same`, `differs: ...`, `not provided: ...`)
//!   and links to where it is shown;
//! - every relative link leads to a file (and to a heading, when it names one), and
//!   every link to the standard library's documentation names a page that exists
//!   in the documentation installed with the toolchain, when it is installed;
//! - every `mp::Name` the map mentions is in the `mp` crate's public API, read from
//!   `crates/mp/src/lib.rs`, and every `mp::Name::method` is a `pub fn` of the crate.

mod common;

use common::workspace_root as root;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

const MAP: &str = "notes/python_to_rust.md";

/// Python 3.11's public names, module by module (`__all__`, or `dir()` without `_` names).
const PYTHON: &[(&str, &[&str])] = &[
    (
        "threading",
        &[
            "Barrier",
            "BoundedSemaphore",
            "BrokenBarrierError",
            "Condition",
            "Event",
            "ExceptHookArgs",
            "Lock",
            "RLock",
            "Semaphore",
            "TIMEOUT_MAX",
            "Thread",
            "ThreadError",
            "Timer",
            "active_count",
            "current_thread",
            "enumerate",
            "excepthook",
            "get_ident",
            "get_native_id",
            "getprofile",
            "gettrace",
            "local",
            "main_thread",
            "setprofile",
            "settrace",
            "stack_size",
        ],
    ),
    (
        "queue",
        &[
            "Empty",
            "Full",
            "LifoQueue",
            "PriorityQueue",
            "Queue",
            "SimpleQueue",
        ],
    ),
    (
        "multiprocessing",
        &[
            "Array",
            "AuthenticationError",
            "Barrier",
            "BoundedSemaphore",
            "BufferTooShort",
            "Condition",
            "Event",
            "JoinableQueue",
            "Lock",
            "Manager",
            "Pipe",
            "Pool",
            "Process",
            "ProcessError",
            "Queue",
            "RLock",
            "RawArray",
            "RawValue",
            "Semaphore",
            "SimpleQueue",
            "TimeoutError",
            "Value",
            "active_children",
            "allow_connection_pickling",
            "cpu_count",
            "current_process",
            "freeze_support",
            "get_all_start_methods",
            "get_context",
            "get_logger",
            "get_start_method",
            "log_to_stderr",
            "parent_process",
            "reducer",
            "set_executable",
            "set_forkserver_preload",
            "set_start_method",
        ],
    ),
    ("multiprocessing.pool", &["Pool", "ThreadPool"]),
    (
        "multiprocessing.connection",
        &["Client", "Listener", "Pipe", "wait"],
    ),
    (
        "multiprocessing.shared_memory",
        &["ShareableList", "SharedMemory"],
    ),
    (
        "multiprocessing.managers",
        &[
            "BaseManager",
            "BaseProxy",
            "SharedMemoryManager",
            "SyncManager",
            "Token",
        ],
    ),
    (
        "concurrent.futures",
        &[
            "ALL_COMPLETED",
            "BrokenExecutor",
            "CancelledError",
            "Executor",
            "FIRST_COMPLETED",
            "FIRST_EXCEPTION",
            "Future",
            "ProcessPoolExecutor",
            "ThreadPoolExecutor",
            "TimeoutError",
            "as_completed",
            "wait",
        ],
    ),
];

/// Calls that behave differently enough to need a row of their own, beside their class's.
const CALLS: &[&str] = &["threading.Lock.acquire(blocking=False)"];

/// What Python added after 3.11, which the map must mention (with the version that added it),
/// though it has no rows: the lists above are 3.11's.
const ADDED_SINCE: &[(&str, &str)] = &[
    ("3.13", "queue.Queue.shutdown"),
    ("3.13", "queue.ShutDown"),
    ("3.14", "concurrent.futures.InterpreterPoolExecutor"),
];

/// One row of the map's tables.
struct Row {
    line: usize,
    python: String,
    status: String,
    shown_in: String,
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The rows of every four-column table whose header starts with `| Python |`.
fn rows(map: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut in_table = false;
    for (i, line) in map.lines().enumerate() {
        let line = line.trim();
        if !line.starts_with('|') {
            in_table = false;
            continue;
        }
        if line.starts_with("| Python |") {
            in_table = true;
            continue;
        }
        if !in_table || line.starts_with("|---") {
            continue;
        }
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
        assert_eq!(
            cells.len(),
            4,
            "{MAP}, line {}: a row has four cells (Python | Rust | status | shown in), \
             separated by ` | `; this one has {}",
            i + 1,
            cells.len()
        );
        rows.push(Row {
            line: i + 1,
            python: cells[0].to_owned(),
            status: cells[2].to_owned(),
            shown_in: cells[3].to_owned(),
        });
    }
    rows
}

/// The names in backticks in a cell: `` `threading.Lock` `` gives `threading.Lock`.
fn quoted(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).collect()
}

#[test]
fn every_python_name_has_a_row_with_a_status_and_a_link() {
    let rows = rows(&read(&root().join(MAP)));
    assert!(
        rows.len() >= 45,
        "{MAP} has {} rows; it promises at least 45",
        rows.len()
    );

    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for row in &rows {
        for name in quoted(&row.python) {
            if !seen.insert(name.to_owned()) {
                problems.push(format!("line {}: `{name}` has a row already", row.line));
            }
        }
        let status_ok = row.status.starts_with("same")
            || row.status.starts_with("differs: ")
            || row.status.starts_with("not provided: ");
        if !status_ok {
            problems.push(format!(
                "line {}: the status must start with `same`, `differs: ` or `not provided: `, \
                 not `{}`",
                row.line, row.status
            ));
        }
        if links(&row.shown_in).is_empty() {
            problems.push(format!("line {}: `shown in` has no link", row.line));
        }
    }
    for call in CALLS {
        if !seen.contains(*call) {
            problems.push(format!("no row names `{call}`"));
        }
    }
    for (module, names) in PYTHON {
        for name in *names {
            let full = format!("{module}.{name}");
            if !seen.contains(&full) {
                problems.push(format!("no row names `{full}`"));
            }
        }
    }
    assert!(problems.is_empty(), "{MAP}:\n  {}", problems.join("\n  "));
}

/// The targets of the Markdown links `[text](target)` in `text`.
fn links(text: &str) -> Vec<String> {
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .map(|target| target.trim().to_owned())
        .filter(|target| !target.is_empty())
        .collect()
}

/// GitHub's anchor for a heading: lower case, spaces to `-`, punctuation dropped.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// Where the toolchain's own copy of doc.rust-lang.org is, if it is installed.
fn local_std_docs() -> Option<PathBuf> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let output = std::process::Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()?;
    let sysroot = String::from_utf8(output.stdout).ok()?;
    let html = Path::new(sysroot.trim()).join("share/doc/rust/html");
    html.join("std/index.html").is_file().then_some(html)
}

#[test]
fn every_link_in_the_map_leads_somewhere() {
    let map = read(&root().join(MAP));
    let notes = root().join("notes");
    let std_docs = local_std_docs();
    let all = links(&map);
    assert!(all.len() >= 45, "{MAP} has only {} links", all.len());
    let mut broken = Vec::new();
    for target in all {
        let (path, fragment) = match target.split_once('#') {
            Some((path, fragment)) => (path, Some(fragment)),
            None => (target.as_str(), None),
        };
        if let Some(page) = path.strip_prefix("https://doc.rust-lang.org/") {
            if let Some(docs) = &std_docs
                && !docs.join(page).is_file()
            {
                broken.push(format!("{target}: no such page in the std documentation"));
            }
            continue;
        }
        if path.starts_with("https://docs.rs/") || path.starts_with("https://docs.python.org/") {
            continue;
        }
        if path.contains("://") {
            broken.push(format!(
                "{target}: link to the std docs, docs.rs, docs.python.org or a file here"
            ));
            continue;
        }
        let file = if path.is_empty() {
            root().join(MAP)
        } else {
            notes.join(path)
        };
        if !file.exists() {
            broken.push(format!("({target}): {} does not exist", file.display()));
            continue;
        }
        if let (Some(fragment), Some("md")) = (fragment, file.extension().and_then(|e| e.to_str()))
        {
            let headings: Vec<String> = read(&file)
                .lines()
                .filter_map(|l| l.strip_prefix('#'))
                .map(|l| anchor(l.trim_start_matches('#')))
                .collect();
            if !headings.iter().any(|h| h == fragment) {
                broken.push(format!(
                    "({target}): no heading #{fragment} in {}",
                    file.display()
                ));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "broken links in {MAP}:\n  {}",
        broken.join("\n  ")
    );
}

/// The names `crates/mp/src/lib.rs` makes public: its `pub use` items, `pub mod`s and `pub fn`s.
fn mp_public_names() -> BTreeSet<String> {
    let lib = read(&root().join("crates/mp/src/lib.rs"));
    let mut names = BTreeSet::new();
    for statement in lib.split(';') {
        let statement = statement.trim();
        let Some(start) = statement
            .rfind("\npub ")
            .map(|i| i + 1)
            .or_else(|| statement.starts_with("pub ").then_some(0))
        else {
            continue;
        };
        let item = &statement[start..];
        if let Some(path) = item.strip_prefix("pub use ") {
            let list = match path.split_once('{') {
                Some((_, list)) => list.trim_end_matches('}').to_owned(),
                None => path.rsplit("::").next().unwrap_or(path).to_owned(),
            };
            for name in list.split(',') {
                let name = name.trim();
                let name = name.rsplit(" as ").next().unwrap_or(name);
                if !name.is_empty() {
                    names.insert(name.to_owned());
                }
            }
        } else if let Some(module) = item.strip_prefix("pub mod ") {
            names.insert(module.trim().to_owned());
        }
    }
    for line in lib.lines() {
        if let Some(rest) = line.strip_prefix("pub fn ") {
            names.insert(
                rest.chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect(),
            );
        }
    }
    names
}

/// Every `pub fn` name in the crate's source, for `mp::Type::method` mentions, and every
/// enum variant (a line that starts with a capitalized name), for `mp::ErrorKind::Variant`.
fn mp_members() -> BTreeSet<String> {
    fn walk(dir: &Path, found: &mut BTreeSet<String>) {
        for entry in fs::read_dir(dir).expect("cannot read crates/mp/src") {
            let path = entry.expect("cannot read a folder entry").path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                for line in read(&path).lines() {
                    let line = line.trim_start();
                    let (rest, variant) = match line.strip_prefix("pub fn ") {
                        Some(rest) => (rest, false),
                        None => (line, true),
                    };
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    let after = rest[name.len()..].trim_start();
                    let is_variant = variant
                        && name.starts_with(|c: char| c.is_ascii_uppercase())
                        && (after.starts_with(',')
                            || after.starts_with('{')
                            || after.starts_with('('));
                    if !variant || is_variant {
                        found.insert(name);
                    }
                }
            }
        }
    }
    let mut found = BTreeSet::new();
    walk(&root().join("crates/mp/src"), &mut found);
    found
}

/// Every `mp::a::b` path in `text`, as its segments.
fn mp_paths(text: &str) -> Vec<Vec<String>> {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut paths = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("mp::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + 4..];
        if before.is_some_and(|c| ident(c) || c == ':') {
            continue; // `tmp::x` or `a::mp::x` is not the mp crate
        }
        let end = rest
            .find(|c: char| !(ident(c) || c == ':'))
            .unwrap_or(rest.len());
        let path: Vec<String> = rest[..end]
            .split("::")
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if !path.is_empty() {
            paths.push(path);
        }
    }
    paths
}

#[test]
fn every_mp_name_in_the_map_is_public_in_the_crate() {
    let public = mp_public_names();
    for known in ["Process", "Queue", "Pool", "Lock", "init"] {
        assert!(
            public.contains(known),
            "reading crates/mp/src/lib.rs found no `{known}`: the parser of its `pub use` \
             lines is wrong ({public:?})"
        );
    }
    let members = mp_members();
    let paths = mp_paths(&read(&root().join(MAP)));
    let distinct: BTreeSet<&Vec<String>> = paths.iter().collect();
    assert!(
        distinct.len() >= 20,
        "{MAP} mentions only {} distinct mp:: names; the map shows mp's names as `mp::Name`",
        distinct.len()
    );
    let mut missing = Vec::new();
    for path in distinct {
        let shown = format!("mp::{}", path.join("::"));
        if !public.contains(&path[0]) {
            missing.push(format!(
                "{shown}: `{}` is not public in crates/mp/src/lib.rs",
                path[0]
            ));
        } else if let Some(method) = path.get(1) {
            let is_module = path[0].chars().all(|c| c.is_lowercase() || c == '_');
            if !is_module && !members.contains(method) {
                missing.push(format!(
                    "{shown}: no `pub fn {method}` (or variant) in crates/mp/src"
                ));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "{MAP} names what the mp crate does not offer:\n  {}",
        missing.join("\n  ")
    );
}

#[test]
fn the_map_names_its_python_version_and_what_came_after() {
    let map = read(&root().join(MAP));
    let intro = map.split("\n## ").next().unwrap_or_default();
    let mut problems = Vec::new();
    if !intro.contains("Python 3.11") {
        problems.push("its introduction must say that the names are Python 3.11's".to_owned());
    }
    for (version, name) in ADDED_SINCE {
        let said = intro.split("\n\n").any(|paragraph| {
            paragraph.contains(&format!("`{name}`")) && paragraph.contains(version)
        });
        if !said {
            problems.push(format!(
                "its introduction must mention `{name}`, added in Python {version}, in a \
                 paragraph that names the version"
            ));
        }
    }
    assert!(problems.is_empty(), "{MAP}:\n  {}", problems.join("\n  "));
}
