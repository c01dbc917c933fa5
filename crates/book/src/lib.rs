//! The notes as an mdBook: what the book needs beyond mdBook and mdbook-i18n-helpers.
//!
//! The notes link to the code they explain (`../examples/01_thread.rs`), which is outside
//! the book's source folder `notes/`. On a code host those links open the file; in the book
//! they would lead nowhere. The preprocessor `mdbook-notes` (this crate's binary, run by
//! `mdbook build` as `book.toml` says) mends that: every link to a file outside the book,
//! and to a folder, becomes a link to a page of the book that shows the file (or lists the
//! folder), under "Source files" at the end of the book. The notes themselves stay as they
//! are, so they still read well as plain files.
//!
//! [`CodePages`] does the work; it knows nothing of mdBook's JSON, which `main.rs` handles.

use std::collections::{BTreeMap, VecDeque};
use std::fs;
use std::path::{Path, PathBuf};

/// Where a page of the book shows a file or a folder of the repository: `examples/01_thread.rs`
/// is shown by `code/examples/01_thread.rs.md`, the folder `examples/` by `code/examples/index.md`.
pub fn page_of(repo_path: &str, is_dir: bool) -> String {
    let path = repo_path.trim_end_matches('/');
    if is_dir {
        if path.is_empty() {
            "code/index.md".to_owned()
        } else {
            format!("code/{path}/index.md")
        }
    } else {
        format!("code/{path}.md")
    }
}

/// `base` (a folder, relative to the repository, "" for its root) joined with the relative
/// link `target`, with `.` and `..` resolved: `("notes", "../examples/a.rs")` gives
/// `examples/a.rs`. `None` for a link that leaves the repository.
pub fn join(base: &str, target: &str) -> Option<String> {
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            _ => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

/// The relative link from a page in folder `from` (relative to the book) to `to`.
pub fn relative(from: &str, to: &str) -> String {
    let from: Vec<&str> = from.split('/').filter(|p| !p.is_empty()).collect();
    let to_parts: Vec<&str> = to.split('/').collect();
    let common = from
        .iter()
        .zip(&to_parts)
        .take_while(|(a, b)| a == b)
        .count();
    let mut out: Vec<&str> = vec![".."; from.len() - common];
    out.extend(&to_parts[common..]);
    out.join("/")
}

/// The folder part of a path: `code/examples/a.rs.md` gives `code/examples`.
fn dir_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// A link target the preprocessor leaves alone: a URL, an anchor on the same page, a mail.
fn is_external(target: &str) -> bool {
    target.is_empty()
        || target.starts_with('#')
        || target.contains("://")
        || target.starts_with("mailto:")
}

/// `text` with each `{{#include path}}` and `{{#include path:anchor}}` replaced as mdBook's
/// `links` preprocessor does: by the file, or by the lines between `ANCHOR: anchor` and
/// `ANCHOR_END: anchor`, without any anchor line. (A test run by `.ci/book` checks that the
/// translation test, which uses this, finds the messages mdbook-xgettext finds.)
pub fn expand_includes(text: &str, dir: &Path) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{#include ") {
        let end = start
            + rest[start..]
                .find("}}")
                .expect("an {{#include}} without its }}");
        out.push_str(&rest[..start]);
        let spec = rest[start + "{{#include ".len()..end].trim();
        let (path, anchor) = match spec.rsplit_once(':') {
            Some((path, anchor)) => (path, Some(anchor)),
            None => (spec, None),
        };
        let file = dir.join(path);
        let included = fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("cannot include {}: {e}", file.display()));
        let is_anchor = |l: &str| l.contains("ANCHOR:") || l.contains("ANCHOR_END:");
        let lines: Vec<&str> = included.lines().collect();
        let body: Vec<&str> = match anchor {
            None => lines.into_iter().filter(|l| !is_anchor(l)).collect(),
            Some(name) => {
                let begin = lines
                    .iter()
                    .position(|l| l.contains(&format!("ANCHOR: {name}")))
                    .unwrap_or_else(|| panic!("{path} has no ANCHOR: {name}"));
                lines[begin + 1..]
                    .iter()
                    .take_while(|l| !l.contains(&format!("ANCHOR_END: {name}")))
                    .filter(|l| !is_anchor(l))
                    .copied()
                    .collect()
            }
        };
        out.push_str(&body.join("\n"));
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// The id mdBook gives a heading whose text is `text` (Markdown: code and emphasis marks go).
fn heading_id(text: &str) -> String {
    let mut plain = String::new();
    let mut rest = text;
    // A link keeps its text: `[text](target)` reads `text`.
    while let Some(open) = rest.find('[') {
        plain.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after
            .find("](")
            .and_then(|mid| Some((mid, after[mid..].find(')')? + mid)))
        {
            Some((mid, close)) => {
                plain.push_str(&after[..mid]);
                rest = &after[close + 1..];
            }
            None => {
                plain.push('[');
                rest = after;
            }
        }
    }
    plain.push_str(rest);
    plain
        .replace(['`', '*'], "")
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            c if c.is_alphanumeric() || c == '_' || c == '-' => Some(c),
            c if c.is_whitespace() => Some('-'),
            _ => None,
        })
        .collect()
}

/// The lines of `text` that are ATX headings (`## Title`), outside fenced code, by index.
fn heading_lines(text: &str) -> Vec<usize> {
    let mut found = Vec::new();
    let mut fence: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let ticks: String = trimmed
            .chars()
            .take_while(|&c| c == '`' || c == '~')
            .collect();
        if let Some(open) = &fence {
            if ticks.len() >= open.len() && trimmed.trim_end().len() == ticks.len() {
                fence = None;
            }
        } else if ticks.len() >= 3 {
            fence = Some(ticks);
        } else if line.starts_with('#') && line.trim_start_matches('#').starts_with(' ') {
            found.push(i);
        }
    }
    found
}

/// `translated`, a translation of the note `english`, with each heading given the id its
/// English heading has (`## 值得注意的地方 {#what-to-notice}`), so that a link to
/// `01_thread.md#what-to-notice` works in every language, and the language picker keeps
/// the reader's place. Unchanged if the two do not have the same number of headings.
pub fn english_anchors(translated: &str, english: &str) -> String {
    let english_lines: Vec<&str> = english.lines().collect();
    let mut used = std::collections::HashSet::new();
    let ids: Vec<String> = heading_lines(english)
        .into_iter()
        .map(|i| {
            let text = english_lines[i].trim_start_matches('#').trim();
            let id = heading_id(text);
            let mut unique = id.clone();
            let mut n = 0;
            while !used.insert(unique.clone()) {
                n += 1;
                unique = format!("{id}-{n}");
            }
            unique
        })
        .collect();
    let headings = heading_lines(translated);
    if headings.len() != ids.len() {
        return translated.to_owned();
    }
    let mut lines: Vec<String> = translated.lines().map(str::to_owned).collect();
    for (i, id) in headings.into_iter().zip(ids) {
        if !lines[i].trim_end().ends_with('}') {
            lines[i] = format!("{} {{#{id}}}", lines[i].trim_end());
        }
    }
    let mut out = lines.join("\n");
    if translated.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// The pages of source files and folders a book needs, found from its links.
pub struct CodePages {
    /// The repository's root.
    root: PathBuf,
    /// The book's source folder, relative to the root (`notes`).
    src: String,
    /// Every page made so far: its path in the book, and its Markdown.
    pages: BTreeMap<String, (String, String)>,
    /// Repository paths that still need a page: (path, is a folder).
    todo: VecDeque<(String, bool)>,
}

impl CodePages {
    /// For the book whose source folder is `src` (relative to `root`).
    pub fn new(root: &Path, src: &str) -> Self {
        CodePages {
            root: root.to_owned(),
            src: src.trim_end_matches('/').to_owned(),
            pages: BTreeMap::new(),
            todo: VecDeque::new(),
        }
    }

    /// `content`, a page of the book at `page` (relative to the book, `01_thread.md`) whose
    /// links are relative to the repository folder `base` (`notes`), with every link to a
    /// file outside the book, to a file of the book that mdBook does not render (`python/x.py`)
    /// or to a folder, made a link to the page that shows it. Fenced code is left alone.
    pub fn rewrite(&mut self, content: &str, page: &str, base: &str) -> String {
        let mut out = String::with_capacity(content.len());
        let mut fence: Option<String> = None;
        for line in content.split_inclusive('\n') {
            let trimmed = line.trim_start();
            let ticks: String = trimmed
                .chars()
                .take_while(|&c| c == '`' || c == '~')
                .collect();
            match &fence {
                Some(open) => {
                    if trimmed.trim_end() == open.as_str()
                        || (ticks.len() >= open.len() && trimmed.trim_end().len() == ticks.len())
                    {
                        fence = None;
                    }
                    out.push_str(line);
                    continue;
                }
                None if ticks.len() >= 3 => {
                    fence = Some(ticks);
                    out.push_str(line);
                    continue;
                }
                None => {}
            }
            out.push_str(&self.rewrite_line(line, page, base));
        }
        out
    }

    fn rewrite_line(&mut self, line: &str, page: &str, base: &str) -> String {
        let mut out = String::with_capacity(line.len());
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            let (before, after) = rest.split_at(at + 2);
            out.push_str(before);
            let Some(end) = after.find(')') else {
                rest = after;
                break;
            };
            let target = &after[..end];
            out.push_str(&self.retarget(target, page, base));
            rest = &after[end..];
        }
        out.push_str(rest);
        out
    }

    /// The new target of one link.
    fn retarget(&mut self, target: &str, page: &str, base: &str) -> String {
        if is_external(target) || target.contains(' ') {
            return target.to_owned();
        }
        let (path, fragment) = match target.split_once('#') {
            Some((path, fragment)) => (path, format!("#{fragment}")),
            None => (target, String::new()),
        };
        let Some(repo) = join(base, path) else {
            return target.to_owned();
        };
        let on_disk = self.root.join(&repo);
        let in_book = repo.strip_prefix(&format!("{}/", self.src));
        let is_dir = on_disk.is_dir();
        let to = match in_book {
            // A note, or a picture: mdBook renders or copies it where the link says.
            Some(file) if !is_dir && (file.ends_with(".md") || is_picture(file)) => file.to_owned(),
            _ if !on_disk.exists() => return target.to_owned(),
            _ => {
                let to = page_of(&repo, is_dir);
                if !self.pages.contains_key(&to) && !self.todo.contains(&(repo.clone(), is_dir)) {
                    self.todo.push_back((repo, is_dir));
                }
                to
            }
        };
        format!("{}{fragment}", relative(dir_of(page), &to))
    }

    /// Makes a page for every path linked so far, and for what those pages link to in turn
    /// (a folder's files, a Markdown file's links). Returns the pages in path order:
    /// (path in the book, title, Markdown).
    pub fn finish(mut self) -> Vec<(String, String, String)> {
        while let Some((repo, is_dir)) = self.todo.pop_front() {
            let page = page_of(&repo, is_dir);
            if self.pages.contains_key(&page) {
                continue;
            }
            let title = if is_dir {
                format!("{repo}/")
            } else {
                repo.clone()
            };
            let body = if is_dir {
                self.folder_page(&repo, &page)
            } else {
                self.file_page(&repo, &page)
            };
            self.pages.insert(page, (title, body));
        }
        self.pages
            .into_iter()
            .map(|(page, (title, body))| (page, title, body))
            .collect()
    }

    fn file_page(&mut self, repo: &str, page: &str) -> String {
        let text = fs::read_to_string(self.root.join(repo))
            .unwrap_or_else(|e| format!("(cannot read {repo}: {e})"));
        if repo.ends_with(".md") {
            // Shown as Markdown, with its own links mended the same way.
            let body = self.rewrite(&text, page, dir_of(repo));
            return format!("<p class=\"source-path\"><code>{repo}</code></p>\n\n{body}");
        }
        let language = match repo.rsplit_once('.').map(|(_, ext)| ext) {
            Some("rs") => "rust",
            Some("py") => "python",
            Some("toml") => "toml",
            Some("sh") => "bash",
            _ => "text",
        };
        let longest = text
            .lines()
            .map(|l| l.trim_start().chars().take_while(|&c| c == '`').count())
            .max()
            .unwrap_or(0);
        let fence = "`".repeat(longest.max(2) + 1);
        let newline = if text.ends_with('\n') { "" } else { "\n" };
        format!("# `{repo}`\n\n{fence}{language}\n{text}{newline}{fence}\n")
    }

    fn folder_page(&mut self, repo: &str, page: &str) -> String {
        let mut entries: Vec<(String, bool)> = fs::read_dir(self.root.join(repo))
            .map(|dir| {
                dir.filter_map(Result::ok)
                    .map(|e| {
                        (
                            e.file_name().to_string_lossy().into_owned(),
                            e.path().is_dir(),
                        )
                    })
                    .filter(|(name, _)| !name.starts_with('.') && name != "target")
                    .collect()
            })
            .unwrap_or_default();
        entries.sort();
        let mut body = format!("# `{repo}/`\n\n");
        for (name, is_dir) in entries {
            let child = join(repo, &name).expect("a child of a folder of the repository");
            if !is_dir && fs::read_to_string(self.root.join(&child)).is_err() {
                continue; // not text: nothing to show
            }
            let to = page_of(&child, is_dir);
            if !self.pages.contains_key(&to) {
                self.todo.push_back((child, is_dir));
            }
            let slash = if is_dir { "/" } else { "" };
            body.push_str(&format!(
                "- [`{name}{slash}`]({})\n",
                relative(dir_of(page), &to)
            ));
        }
        body
    }
}

/// Whether mdBook copies this file of the book as it is (a picture a note shows).
fn is_picture(path: &str) -> bool {
    [".png", ".jpg", ".jpeg", ".svg", ".gif"]
        .iter()
        .any(|ext| path.ends_with(ext))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translated_headings_keep_the_english_ids() {
        let english = "# 01_thread · 二.1\n\n## What to notice\n\n```python\n# not a heading\n```\n\n\
                       ## Why `if __name__` and [mp](x.md)\n\n## What to notice\n";
        let chinese = "# 01_thread · 二.1\n\n## 值得注意的地方\n\n```python\n# not a heading\n```\n\n\
                       ## 为什么 `if __name__`\n\n## 值得注意的地方\n";
        let out = english_anchors(chinese, english);
        assert!(
            out.contains("## 值得注意的地方 {#what-to-notice}\n"),
            "{out}"
        );
        assert!(
            out.contains("## 为什么 `if __name__` {#why-if-__name__-and-mp}"),
            "{out}"
        );
        assert!(
            out.contains("## 值得注意的地方 {#what-to-notice-1}"),
            "{out}"
        );
        assert!(out.contains("# not a heading\n"), "{out}");
        assert_eq!(
            english_anchors("# 只有一个标题\n", english),
            "# 只有一个标题\n"
        );
    }

    #[test]
    fn paths_join_and_relate() {
        assert_eq!(
            join("notes", "../examples/a.rs").as_deref(),
            Some("examples/a.rs")
        );
        assert_eq!(join("notes", "python/").as_deref(), Some("notes/python"));
        assert_eq!(join("", "../x"), None);
        assert_eq!(
            relative("", "code/examples/a.rs.md"),
            "code/examples/a.rs.md"
        );
        assert_eq!(
            relative("code/examples", "code/examples/b.rs.md"),
            "b.rs.md"
        );
        assert_eq!(
            relative("code/crates/mp", "code/crates/mp/src/index.md"),
            "src/index.md"
        );
        assert_eq!(
            relative("code/crates/mp", "01_thread.md"),
            "../../../01_thread.md"
        );
    }

    #[test]
    fn links_outside_the_book_get_a_page_and_the_rest_stay() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut pages = CodePages::new(&root, "notes");
        let note = "See [it](../examples/01_thread.rs#L1), [02](02_join.md), \
                    [py](https://python.org) and [all](../examples/).\n\
                    ```rust\nlet v = a[0](1); // [x](../nowhere)\n```\n";
        let out = pages.rewrite(note, "01_thread.md", "notes");
        assert!(
            out.contains("[it](code/examples/01_thread.rs.md#L1)"),
            "{out}"
        );
        assert!(out.contains("[02](02_join.md)"), "{out}");
        assert!(out.contains("[py](https://python.org)"), "{out}");
        assert!(out.contains("[all](code/examples/index.md)"), "{out}");
        assert!(
            out.contains("a[0](1); // [x](../nowhere)"),
            "code is left alone: {out}"
        );
        let made = pages.finish();
        let file = made
            .iter()
            .find(|(page, ..)| page == "code/examples/01_thread.rs.md")
            .expect("a page for the linked file");
        assert!(
            file.2
                .starts_with("# `examples/01_thread.rs`\n\n```rust\n//!"),
            "{}",
            file.2
        );
        let folder = made
            .iter()
            .find(|(page, ..)| page == "code/examples/index.md")
            .expect("a page for the linked folder");
        assert!(
            folder.2.contains("- [`01_thread.rs`](01_thread.rs.md)"),
            "{}",
            folder.2
        );
        assert!(
            folder
                .2
                .contains("- [`09_comparison/`](09_comparison/index.md)"),
            "{}",
            folder.2
        );
        assert!(
            made.iter()
                .any(|(page, ..)| page == "code/examples/09_comparison/main.rs.md")
        );
    }
}
