//! The notes never drift from the code and output they show.
//!
//! In any note `notes/*.md`, a fenced block right after one of these markers
//! is a copy, and must equal its source:
//!
//! - `<!-- code: examples/01_thread.rs -->`: the file, byte for byte (any path
//!   from the workspace root);
//! - `<!-- output: 01_thread -->`: what the snapshot `tests/snapshots/01_thread.snap`
//!   holds as the example's stdout, followed, when the example wrote to
//!   stderr, by a `----- stderr -----` line and that text.
//!
//! Run with `NOTES_UPDATE=1` to rewrite every such block from its source
//! instead of failing. Rewrite after accepting a snapshot, not before: this
//! test runs before the snapshot tests, so while they rewrite the snapshots
//! (`INSTA_UPDATE=always`) it only lists the stale blocks and passes. The
//! README's two steps, in its order, accept a changed example in one pass:
//!
//! ```sh
//! INSTA_UPDATE=always cargo test --workspace
//! NOTES_UPDATE=1 cargo test --workspace
//! ```
//!
//! The other Rust blocks of the notes are compiled, and run unless marked
//! `no_run`, as doc tests of the crate `crates/snippets`. A third test here
//! keeps ` ```rust,ignore ` blocks, which nothing compiles, rare: at most one
//! in ten, each with its reason written beside it.
//!
//! Prose may quote an output too ("it prints `All done!`"). A code span of prose that is a
//! line of the output of the note's example (or of an example the note shows), or a phrase
//! of one, must be declared in its paragraph with a marker such as
//! `<!-- quotes 05_queue: "All done!" -->`, at the end of a line of text or alone on the line
//! before the paragraph; and every declared quote must still be in that output. A changed
//! output then fails the test instead of leaving the prose stale; `NOTES_UPDATE` cannot mend
//! prose, so the message says which sentence to rewrite.
//!
//! A second test compiles each ```` ```rust,compile_fail,E0499 ```` block of
//! the notes, the broken programs the notes show on purpose, and checks that
//! rustc still rejects it with that error code.

mod common;

use common::workspace_root as root;
use std::fs;
use std::path::PathBuf;
use std::process::Command;

/// A note: where it is, its name for messages (`notes/01_thread.md`), its text.
struct Note {
    path: PathBuf,
    name: String,
    text: String,
}

/// Every note, in name order.
fn notes() -> Vec<Note> {
    let mut paths: Vec<PathBuf> = fs::read_dir(root().join("notes"))
        .expect("cannot read the folder notes/")
        .map(|entry| entry.expect("cannot read notes/").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| Note {
            name: format!("notes/{}", path.file_name().unwrap().to_string_lossy()),
            text: fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display())),
            path,
        })
        .collect()
}

/// A fenced block in a note: where it starts and ends, and what it holds.
struct Fence {
    /// Index of the opening line (```` ```text ````).
    open: usize,
    /// Index of the closing line.
    close: usize,
    /// The opening line's backticks, so the closing line can match them.
    ticks: usize,
    /// The lines between, each ending in a newline.
    body: String,
}

/// The fenced block that opens on line `open`, if there is one.
fn fence_at(lines: &[&str], open: usize) -> Option<Fence> {
    let line = lines.get(open)?;
    let ticks = line.len() - line.trim_start_matches('`').len();
    if ticks < 3 {
        return None;
    }
    let close = (open + 1..lines.len()).find(|&i| {
        let l = lines[i].trim_end();
        l.len() >= ticks && l.chars().all(|c| c == '`')
    })?;
    let body = lines[open + 1..close]
        .iter()
        .map(|l| format!("{l}\n"))
        .collect();
    Some(Fence {
        open,
        close,
        ticks,
        body,
    })
}

/// Every fenced block of a note, in order.
fn fences(lines: &[&str]) -> Vec<Fence> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        match fence_at(lines, i) {
            Some(fence) => {
                i = fence.close + 1;
                found.push(fence);
            }
            None => i += 1,
        }
    }
    found
}

/// The words of a fence's opening line: ```` ```rust,compile_fail,E0277 ````
/// gives `rust`, `compile_fail` and `E0277`.
fn info_words(line: &str) -> Vec<&str> {
    line.trim_start_matches('`')
        .split(',')
        .map(str::trim)
        .collect()
}

/// What the block after `marker` must hold, or why it cannot be known.
fn source_of(marker: &str) -> Option<Result<String, String>> {
    let inner = marker
        .trim()
        .strip_prefix("<!--")?
        .strip_suffix("-->")?
        .trim();
    if let Some(path) = inner.strip_prefix("code:") {
        let path = path.trim();
        return Some(
            fs::read_to_string(root().join(path)).map_err(|e| format!("cannot read {path}: {e}")),
        );
    }
    let stem = inner.strip_prefix("output:")?.trim();
    Some(snapshot_output(stem))
}

/// The example's output as its snapshot stores it: stdout, then stderr if any.
fn snapshot_output(stem: &str) -> Result<String, String> {
    let path = root().join("tests/snapshots").join(format!("{stem}.snap"));
    let snap = fs::read_to_string(&path).map_err(|e| {
        format!(
            "cannot read the snapshot {}: {e} (is there a snapshot test for {stem}?)",
            path.display()
        )
    })?;
    // A snapshot is a `---` header, then the body insta-cmd wrote.
    let body = snap
        .splitn(3, "---\n")
        .nth(2)
        .ok_or_else(|| format!("{} has no `---` header", path.display()))?;
    let section = |name: &str| -> Result<&str, String> {
        let start = format!("----- {name} -----\n");
        let from = body
            .find(&start)
            .ok_or_else(|| format!("{} has no `{}` line", path.display(), start.trim_end()))?;
        let rest = &body[from + start.len()..];
        Ok(rest.split("----- stderr -----\n").next().unwrap_or(rest))
    };
    let with_newline = |text: &str| {
        let text = text.trim_end_matches('\n');
        if text.is_empty() {
            String::new()
        } else {
            format!("{text}\n")
        }
    };
    let mut output = with_newline(section("stdout")?);
    let stderr = with_newline(section("stderr")?);
    if !stderr.is_empty() {
        output += "----- stderr -----\n";
        output += &stderr;
    }
    Ok(output)
}

/// What checking one note found.
struct Sync {
    /// Blocks that differ from their source: a rewrite mends them.
    stale: Vec<String>,
    /// Markers a rewrite cannot mend: no block after them, no source.
    broken: Vec<String>,
    /// The note with every stale block rewritten from its source.
    rewritten: String,
}

/// Checks the synced blocks of one note, and rewrites the stale ones in a copy.
fn sync_note(text: &str) -> Sync {
    let lines: Vec<&str> = text.lines().collect();
    let mut stale = Vec::new();
    let mut broken = Vec::new();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        out.push(lines[i].to_owned());
        let Some(source) = source_of(lines[i]) else {
            i += 1;
            continue;
        };
        let marker = lines[i].trim();
        let Some(fence) = fence_at(&lines, i + 1) else {
            broken.push(format!(
                "line {}: `{marker}` must be followed at once by a fenced block",
                i + 1
            ));
            i += 1;
            continue;
        };
        let wanted = match source {
            Ok(wanted) => wanted,
            Err(why) => {
                broken.push(format!("line {}: {why}", i + 1));
                i += 1;
                continue;
            }
        };
        if fence.body == wanted {
            out.extend(
                lines[fence.open..=fence.close]
                    .iter()
                    .map(|l| (*l).to_owned()),
            );
        } else {
            stale.push(format!(
                "line {}: the block after `{marker}` differs from its source",
                fence.open + 1
            ));
            // Keep the opening line (and its language); lengthen the fence if
            // the new text holds a line of backticks as long as it.
            let longest = wanted
                .lines()
                .filter(|l| !l.is_empty() && l.trim_end().chars().all(|c| c == '`'))
                .map(|l| l.trim_end().len())
                .max()
                .unwrap_or(0);
            let ticks = fence.ticks.max(longest + 1);
            let info = lines[fence.open].trim_start_matches('`');
            out.push(format!("{}{info}", "`".repeat(ticks)));
            out.extend(wanted.lines().map(str::to_owned));
            out.push("`".repeat(ticks));
        }
        i = fence.close + 1;
    }
    let mut rewritten = out.join("\n");
    if text.ends_with('\n') {
        rewritten.push('\n');
    }
    Sync {
        stale,
        broken,
        rewritten,
    }
}

#[test]
fn notes_show_the_code_and_output_they_name() {
    let update = std::env::var_os("NOTES_UPDATE").is_some_and(|v| v == "1");
    // Step 1 of accepting a change: the snapshot tests, which run after this
    // one, are rewriting the snapshots the notes copy. Copying now would copy
    // the old output, and failing would stop `cargo test` before they run.
    let accepting_snapshots = std::env::var_os("INSTA_UPDATE").is_some_and(|v| v == "always");
    let mut report = Vec::new();
    let mut left_for_step_2 = Vec::new();
    for Note { path, name, text } in notes() {
        let sync = sync_note(&text);
        let stale = sync.stale.iter().map(|p| format!("{name}, {p}"));
        if update && !sync.stale.is_empty() {
            fs::write(&path, &sync.rewritten).expect("cannot rewrite a note");
            eprintln!("rewrote {} block(s) of {name}", sync.stale.len());
        } else if accepting_snapshots {
            left_for_step_2.extend(stale);
        } else {
            report.extend(stale);
        }
        report.extend(sync.broken.iter().map(|p| format!("{name}, {p}")));
    }
    if !left_for_step_2.is_empty() {
        eprintln!(
            "stale in the notes, left for `NOTES_UPDATE=1 cargo test --workspace` once the \
             snapshots are rewritten:\n  {}",
            left_for_step_2.join("\n  ")
        );
    }
    assert!(
        report.is_empty(),
        "notes out of date:\n  {}\n\
         If an example's output changed, its snapshot test (run after this one) shows how: \
         `cargo test --workspace --no-fail-fast` runs it too. If the change is right, accept \
         it with the README's two steps, in this order: \
         `INSTA_UPDATE=always cargo test --workspace`, then \
         `NOTES_UPDATE=1 cargo test --workspace`; then read the diff.",
        report.join("\n  ")
    );
}

/// The ` ```rust,compile_fail,E0000 ` blocks of a note: each block's first
/// line number, its error code, and its code.
fn compile_fail_blocks(text: &str) -> Vec<(usize, String, String)> {
    let lines: Vec<&str> = text.lines().collect();
    fences(&lines)
        .into_iter()
        .filter_map(|fence| {
            let words = info_words(lines[fence.open]);
            if words.first() != Some(&"rust") || !words.contains(&"compile_fail") {
                return None;
            }
            let code = words
                .iter()
                .find(|w| w.len() == 5 && w.starts_with('E'))
                .map(|w| (*w).to_owned())
                .unwrap_or_default();
            Some((fence.open + 1, code, fence.body))
        })
        .collect()
}

#[test]
fn broken_programs_in_the_notes_still_fail_to_compile() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let scratch = std::env::temp_dir().join(format!("notes-compile-fail-{}", std::process::id()));
    fs::create_dir_all(&scratch).expect("cannot make a scratch folder");
    let mut report = Vec::new();
    for Note { name, text, .. } in notes() {
        for (line, code, program) in compile_fail_blocks(&text) {
            if code.is_empty() {
                report.push(format!(
                    "{name}, line {line}: name the error, e.g. ```rust,compile_fail,E0499"
                ));
                continue;
            }
            let file = scratch.join(format!("line{line}.rs"));
            fs::write(&file, &program).expect("cannot write a scratch file");
            let output = Command::new(&rustc)
                .args([
                    "--edition",
                    "2024",
                    "--crate-type",
                    "bin",
                    "--emit=metadata",
                ])
                .arg("--out-dir")
                .arg(&scratch)
                .arg(&file)
                .output()
                .unwrap_or_else(|e| panic!("cannot run {rustc}: {e}"));
            let stderr = String::from_utf8_lossy(&output.stderr);
            if output.status.success() {
                report.push(format!(
                    "{name}, line {line}: compiles, but should fail with {code}"
                ));
            } else if !stderr.contains(&format!("error[{code}]")) {
                report.push(format!(
                    "{name}, line {line}: fails, but not with {code}:\n{stderr}"
                ));
            }
        }
    }
    let _ = fs::remove_dir_all(&scratch);
    assert!(report.is_empty(), "{}", report.join("\n"));
}

/// Whether the line is a marker of a synced block (`<!-- code: ... -->`,
/// `<!-- output: ... -->`).
fn is_sync_marker(line: &str) -> bool {
    source_of(line).is_some()
}

#[test]
fn ignored_snippets_are_rare_and_explained() {
    let mut snippets = 0;
    let mut ignored = Vec::new();
    let mut report = Vec::new();
    for Note { name, text, .. } in notes() {
        let lines: Vec<&str> = text.lines().collect();
        for fence in fences(&lines) {
            let i = fence.open;
            let words = info_words(lines[i]);
            let synced = i > 0 && is_sync_marker(lines[i - 1]);
            if words.first() == Some(&"rust") && !synced {
                snippets += 1;
                if words.contains(&"ignore") {
                    ignored.push(format!("{name}, line {}", i + 1));
                    // The reason: in the paragraph just before the block, or
                    // in the line just after it.
                    let before = lines[..i]
                        .iter()
                        .rev()
                        .skip_while(|l| l.trim().is_empty())
                        .take_while(|l| !l.trim().is_empty());
                    let after = lines.get(fence.close + 1..).unwrap_or(&[]).iter().take(2);
                    if !before.chain(after).any(|l| l.contains("`ignore`")) {
                        report.push(format!(
                            "{name}, line {}: an `ignore` block needs its reason beside it \
                             (a sentence that says why, naming `ignore`)",
                            i + 1
                        ));
                    }
                }
            }
        }
    }
    if ignored.len() * 10 > snippets {
        report.push(format!(
            "{} of the notes' {snippets} Rust snippets are `ignore`, more than one in ten: {}",
            ignored.len(),
            ignored.join("; ")
        ));
    }
    assert!(report.is_empty(), "{}", report.join("\n"));
}

/// A prose marker that declares quotes of an example's output:
/// `<!-- quotes 05_queue: "All done!", "333333000" -->`. It may stand on its own line or
/// at the end of a line of text. Each quoted text must occur in the example's output (as
/// its snapshot stores it), and as a code span in the marker's paragraph.
fn quote_marker(line: &str) -> Option<Result<(String, Vec<String>), String>> {
    let start = line.find("<!-- quotes ")?;
    let rest = &line[start + "<!-- quotes ".len()..];
    let Some(end) = rest.find("-->") else {
        return Some(Err(
            "a `<!-- quotes ... -->` marker must end on its line".to_owned()
        ));
    };
    let Some((stem, list)) = rest[..end].split_once(':') else {
        return Some(Err(
            "write the marker as `<!-- quotes STEM: \"text\", \"text\" -->`".to_owned(),
        ));
    };
    let texts: Vec<String> = list
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    if texts.is_empty() {
        return Some(Err(format!(
            "`<!-- quotes {}: ... -->` lists no \"text\"",
            stem.trim()
        )));
    }
    Some(Ok((stem.trim().to_owned(), texts)))
}

/// Whether the line holds a quote marker and nothing else.
fn is_only_a_marker(line: &str) -> bool {
    let line = line.trim();
    line.starts_with("<!-- quotes ") && line.ends_with("-->") && line.matches("-->").count() == 1
}

/// The code spans of a line of prose: `` `All done!` `` gives `All done!`.
fn code_spans(line: &str) -> Vec<&str> {
    let mut spans = Vec::new();
    let mut rest = line;
    while let Some(open) = rest.find('`') {
        let ticks = rest[open..].len() - rest[open..].trim_start_matches('`').len();
        let after = &rest[open + ticks..];
        let fence = "`".repeat(ticks);
        let Some(close) = after.find(&fence) else {
            break;
        };
        spans.push(after[..close].trim());
        rest = &after[close + ticks..];
    }
    spans
}

/// The paragraphs of a note's prose, outside fenced blocks: each a run of non-blank lines,
/// as (index of its first line, its lines).
fn paragraphs<'a>(lines: &[&'a str]) -> Vec<(usize, Vec<&'a str>)> {
    let fenced: Vec<(usize, usize)> = fences(lines).iter().map(|f| (f.open, f.close)).collect();
    let in_fence = |i: usize| {
        fenced
            .iter()
            .any(|&(open, close)| (open..=close).contains(&i))
    };
    let mut found: Vec<(usize, Vec<&str>)> = Vec::new();
    let mut current: Option<(usize, Vec<&str>)> = None;
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() || in_fence(i) {
            found.extend(current.take());
        } else {
            current.get_or_insert((i, Vec::new())).1.push(line);
        }
    }
    found.extend(current);
    found
}

/// Checks the quotes of program output in one note's prose. `output` gives an example's
/// output by its stem; `own` are the stems whose output the note shows or is named after.
///
/// A code span that is a line of one of those outputs, or a phrase of one, is a quote, and must be
/// declared by a `<!-- quotes STEM: "..." -->` marker in its paragraph; every declared
/// quote must still be in the output. So a quote cannot go stale silently: when the output
/// changes, the marker's check fails.
fn check_quotes(
    text: &str,
    own: &[String],
    output: &dyn Fn(&str) -> Result<String, String>,
) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut problems = Vec::new();
    let mut whole_lines: Vec<(String, String)> = Vec::new(); // (stem, trimmed line)
    for stem in own {
        if let Ok(out) = output(stem) {
            whole_lines.extend(
                out.lines()
                    .map(str::trim)
                    .filter(|l| l.chars().count() >= 3 && *l != "----- stderr -----")
                    .map(|l| (stem.clone(), l.to_owned())),
            );
        }
    }
    let paragraphs = paragraphs(&lines);
    for (k, (first, para)) in paragraphs.iter().enumerate() {
        let mut declared: Vec<String> = Vec::new();
        for (j, line) in para.iter().enumerate() {
            let Some(marker) = quote_marker(line) else {
                continue;
            };
            let at = first + j + 1;
            let (stem, texts) = match marker {
                Ok(found) => found,
                Err(why) => {
                    problems.push(format!("line {at}: {why}"));
                    continue;
                }
            };
            // A marker alone in its paragraph declares the quotes of the next one.
            let alone = para.iter().all(|l| is_only_a_marker(l));
            let target: Vec<&str> = if alone {
                paragraphs
                    .get(k + 1)
                    .map(|p| p.1.clone())
                    .unwrap_or_default()
            } else {
                para.clone()
            };
            let out = match output(&stem) {
                Ok(out) => out,
                Err(why) => {
                    problems.push(format!("line {at}: {why}"));
                    continue;
                }
            };
            for quoted in texts {
                if !out.contains(&quoted) {
                    problems.push(format!(
                        "line {at}: the prose quotes `{quoted}` from {stem}'s output, which \
                         no longer prints it: update the prose and its marker"
                    ));
                }
                let spans = target.iter().flat_map(|l| code_spans(l));
                if !spans.into_iter().any(|s| s == quoted) {
                    problems.push(format!(
                        "line {at}: the marker declares `{quoted}`, but its paragraph has no \
                         such code span"
                    ));
                }
                declared.push(quoted);
            }
        }
        // Undeclared quotes: also look at the declarations of a marker just before.
        if let Some((_, before)) = k.checked_sub(1).and_then(|b| paragraphs.get(b))
            && before.iter().all(|l| is_only_a_marker(l))
        {
            for line in before {
                if let Some(Ok((_, texts))) = quote_marker(line) {
                    declared.extend(texts);
                }
            }
        }
        for (j, line) in para.iter().enumerate() {
            for span in code_spans(line) {
                let quoted = whole_lines.iter().find(|(_, l)| is_quote_of(span, l));
                if let Some((stem, _)) = quoted
                    && !declared.iter().any(|d| d == span)
                {
                    problems.push(format!(
                        "line {}: `{span}` quotes {stem}'s output; declare the quote \
                         in its paragraph with `<!-- quotes {stem}: \"{span}\" -->`, so that a \
                         test notices when the output changes",
                        first + j + 1
                    ));
                }
            }
        }
    }
    problems
}

/// Whether a code span quotes this line of output: it is the whole line, or a phrase of it
/// (at least ten characters, with a space: a message, not a name like `SharedSlice<f64>`).
fn is_quote_of(span: &str, line: &str) -> bool {
    span == line || (span.chars().count() >= 10 && span.contains(' ') && line.contains(span))
}

/// The stems of the examples whose output a note may quote: the one it is named after, and
/// every one it shows in an `<!-- output: STEM -->` block.
fn output_stems(note: &Note) -> Vec<String> {
    let own = note
        .path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned());
    let mut stems: Vec<String> = own.into_iter().collect();
    for line in note.text.lines() {
        if let Some(stem) = line
            .trim()
            .strip_prefix("<!-- output:")
            .and_then(|r| r.strip_suffix("-->"))
        {
            stems.push(stem.trim().to_owned());
        }
    }
    stems.retain(|stem| {
        root()
            .join(format!("tests/snapshots/{stem}.snap"))
            .is_file()
    });
    stems.dedup();
    stems
}

#[test]
fn prose_that_quotes_an_output_says_so_and_is_still_true() {
    let mut report = Vec::new();
    for note in notes() {
        let problems = check_quotes(&note.text, &output_stems(&note), &snapshot_output);
        report.extend(problems.into_iter().map(|p| format!("{}, {p}", note.name)));
    }
    assert!(report.is_empty(), "{}", report.join("\n"));
}

#[test]
fn a_declared_quote_fails_once_the_output_changes() {
    let own = vec!["demo".to_owned()];
    let before = |_: &str| Ok("333333000\nAll done!\n".to_owned());
    let after = |_: &str| Ok("333333000\nAll finished!\n".to_owned());
    let declared = "It prints `All done!` last. <!-- quotes demo: \"All done!\" -->\n";
    assert_eq!(check_quotes(declared, &own, &before), Vec::<String>::new());
    let stale = check_quotes(declared, &own, &after);
    assert!(
        stale.iter().any(|p| p.contains("no longer prints it")),
        "{stale:?}"
    );
    // A quote nobody declared is caught while it still matches, which is what makes
    // every quote declared before its output can change.
    let undeclared = check_quotes("It prints `All done!` last.\n", &own, &before);
    assert!(
        undeclared.iter().any(|p| p.contains("declare the quote")),
        "{undeclared:?}"
    );
    // A marker alone declares the paragraph after it, and must find its text there.
    let alone = "<!-- quotes demo: \"333333000\" -->\n\nFirst `333333000`, twice.\n";
    assert_eq!(check_quotes(alone, &own, &before), Vec::<String>::new());
    let lost = "<!-- quotes demo: \"333333000\" -->\n\nNo quote here.\n";
    let lost = check_quotes(lost, &own, &before);
    assert!(
        lost.iter().any(|p| p.contains("no such code span")),
        "{lost:?}"
    );
}
