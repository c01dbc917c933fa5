//! The Chinese book cannot drift from the English one.
//!
//! Every message of the book (a paragraph, a heading, a list item, a table cell, a title in
//! `SUMMARY.md`) is extracted here with the code of mdbook-xgettext 0.4.0 itself (the
//! `mdbook-i18n-helpers` library, as a dev-dependency: no mdBook install is needed), and
//! looked up in `po/zh-CN.po`. The test fails, naming the note, the line and the start of
//! the message, when a message has no translation, or only a *fuzzy* one: `msgmerge`
//! marks a translation fuzzy when its English changed, and mdbook-gettext does not use it.
//!
//! What needs no translation, because the book shows it as it is in both languages:
//!
//! - **code**: everything inside a code block, the synced copies of the examples and their
//!   output too. mdbook-xgettext offers a code block's comments and strings for translation;
//!   a translator may translate them, and where they did not, the English stays, as the
//!   lessons print English.
//! - **messages with no words outside code**: a table cell that is only `` `mp::Queue` ``
//!   or a number reads the same in Chinese.
//!
//! After an English change, bring the PO file up to date with `.ci/po-update` (it extracts
//! the messages again with mdbook-xgettext and merges them with `msgmerge`, which keeps each
//! old translation, marked fuzzy), then translate what it lists.

use book::expand_includes;
use mdbook_i18n_helpers::{extract_events, extract_messages, reconstruct_markdown};
use polib::catalog::Catalog;
use pulldown_cmark::{Event, Tag, TagEnd};
use std::fs;
use std::path::{Path, PathBuf};

/// One message of the book, as mdbook-xgettext extracts it.
#[derive(Debug)]
struct Message {
    /// The file it comes from, relative to the book's root: `notes/05_queue.md`.
    file: String,
    /// Its first line in that file (after `{{#include}}`s are expanded, as mdBook sees it).
    line: usize,
    /// The English text, the PO file's `msgid`.
    msgid: String,
    /// Whether it comes from inside a code block.
    code: bool,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The book's source folder, from `book.toml` (`src = "notes"`).
fn source_folder(book: &Path) -> String {
    let toml = fs::read_to_string(book.join("book.toml")).expect("cannot read book.toml");
    toml.lines()
        .find_map(|line| {
            let value = line.trim().strip_prefix("src")?.trim().strip_prefix('=')?;
            Some(value.trim().trim_matches('"').to_owned())
        })
        .unwrap_or_else(|| "src".to_owned())
}

/// The chapter files `SUMMARY.md` lists, in its order.
fn chapters(summary: &str) -> Vec<String> {
    summary
        .lines()
        .filter_map(|line| {
            let target = line.split("](").nth(1)?.split(')').next()?;
            target.ends_with(".md").then(|| target.to_owned())
        })
        .collect()
}

/// The lines (counted from 1) that lie inside a code block of `text`.
fn code_lines(text: &str) -> Vec<std::ops::RangeInclusive<usize>> {
    let line_of = |offset: usize| text[..offset].matches('\n').count() + 1;
    let mut ranges = Vec::new();
    let mut start = None;
    for (event, range) in pulldown_cmark::Parser::new(text).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(_)) => start = Some(line_of(range.start)),
            Event::End(TagEnd::CodeBlock) => {
                if let Some(first) = start.take() {
                    ranges.push(first..=line_of(range.end.saturating_sub(1)));
                }
            }
            _ => {}
        }
    }
    ranges
}

/// What mdbook-xgettext does to a title of `SUMMARY.md`: the link around it goes.
fn strip_link(text: &str) -> String {
    let events: Vec<_> = extract_events(text, None)
        .into_iter()
        .filter(|(_, event)| {
            !matches!(
                event,
                Event::Start(Tag::Link { .. }) | Event::End(TagEnd::Link)
            )
        })
        .map(|(_, event)| (0, event))
        .collect();
    reconstruct_markdown(&events, None)
        .expect("a title of SUMMARY.md that pulldown-cmark wrote itself")
        .0
}

/// Every message of the book whose `book.toml` is in `book`, as mdbook-xgettext 0.4.0
/// (default settings) extracts them: the titles of `SUMMARY.md`, then each chapter's.
fn book_messages(book: &Path) -> Vec<Message> {
    let src = source_folder(book);
    let summary_file = format!("{src}/SUMMARY.md");
    let summary = fs::read_to_string(book.join(&summary_file)).expect("cannot read SUMMARY.md");
    let mut messages: Vec<Message> = extract_messages(&summary)
        .expect("SUMMARY.md is Markdown")
        .into_iter()
        .map(|(line, m)| Message {
            file: summary_file.clone(),
            line,
            msgid: strip_link(&m.message),
            code: false,
        })
        .collect();
    for chapter in chapters(&summary) {
        let file = format!("{src}/{chapter}");
        let path = book.join(&file);
        let text = fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {file}, listed in SUMMARY.md: {e}"));
        let text = expand_includes(&text, path.parent().unwrap());
        let code = code_lines(&text);
        for (line, m) in extract_messages(&text).expect("a note is Markdown") {
            messages.push(Message {
                code: code.iter().any(|range| range.contains(&line)),
                file: file.clone(),
                line,
                msgid: m.message,
            });
        }
    }
    messages
}

/// Whether a reader reads words in `msgid` that are not code: what is left once inline
/// code, link targets and HTML tags are taken out has a letter in it.
fn has_words(msgid: &str) -> bool {
    let mut prose = String::new();
    for (_, event) in extract_events(msgid, None) {
        if let Event::Text(text) = event {
            prose.push_str(&text);
        }
    }
    prose.chars().any(char::is_alphabetic)
}

/// The messages of `messages` that lack an up-to-date translation in `catalog`, each as
/// `notes/05_queue.md:12: <why>: "<start of the message>"`.
fn untranslated(messages: &[Message], catalog: &Catalog) -> Vec<String> {
    let mut gaps = Vec::new();
    for m in messages {
        if m.code || !has_words(&m.msgid) {
            continue;
        }
        let why = match catalog.find_message(None, &m.msgid, None) {
            None => "not in the PO file",
            Some(found) if found.is_translated() && found.flags().is_fuzzy() => {
                "translation out of date (fuzzy)"
            }
            Some(found) if !found.is_translated() => "not translated",
            Some(_) => continue,
        };
        let start: String = m.msgid.chars().take(60).collect();
        let more = if start.len() < m.msgid.len() {
            "…"
        } else {
            ""
        };
        gaps.push(format!("{}:{}: {why}: {start:?}{more}", m.file, m.line));
    }
    gaps
}

/// A PO catalog holding each of `pairs` (English, Chinese), the first ones fuzzy if `fuzzy`.
fn catalog_of(pairs: &[(&str, &str)], fuzzy: usize) -> Catalog {
    use polib::message::Message as PoMessage;
    let mut catalog = Catalog::new(polib::metadata::CatalogMetadata::new());
    for (i, (english, chinese)) in pairs.iter().enumerate() {
        let flags = if i < fuzzy { "fuzzy" } else { "" };
        catalog.append_or_update(
            PoMessage::build_singular()
                .with_msgid((*english).to_owned())
                .with_msgstr((*chinese).to_owned())
                .with_flags(flags.parse().unwrap())
                .done(),
        );
    }
    catalog
}

/// A book in a fresh temporary folder: `book.toml`, `notes/SUMMARY.md` and the given notes.
fn fixture(name: &str, notes: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("book-fixture-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("notes")).unwrap();
    fs::write(dir.join("book.toml"), "[book]\nsrc = \"notes\"\n").unwrap();
    let mut summary = String::from("# Summary\n\n");
    for (file, text) in notes {
        summary.push_str(&format!("- [{}]({file})\n", file.trim_end_matches(".md")));
        fs::write(dir.join("notes").join(file), text).unwrap();
    }
    fs::write(dir.join("notes/SUMMARY.md"), summary).unwrap();
    dir
}

const NOTE: &str = "# A queue · 三.2 Queue\n\nTwo processes put one number each.\n\n\
    ```rust\nlet q = Queue::new(); // one queue for both\n```\n\n\
    | Python | Rust |\n|---|---|\n| `q.put(x)` | `q.put(x)?` |\n";

#[test]
fn a_complete_translation_passes_and_code_may_stay_english() {
    let book = fixture("complete", &[("queue.md", NOTE)]);
    let messages = book_messages(&book);
    let ids: Vec<&str> = messages.iter().map(|m| m.msgid.as_str()).collect();
    // What mdbook-xgettext offers: the title in SUMMARY.md, the heading, the paragraph, the
    // code's comment, and the table's cells.
    assert!(ids.contains(&"queue"), "{ids:?}");
    assert!(
        ids.contains(&"Two processes put one number each."),
        "{ids:?}"
    );
    assert!(ids.contains(&"// one queue for both\n"), "{ids:?}");
    assert!(ids.contains(&"`q.put(x)?`"), "{ids:?}");
    let catalog = catalog_of(
        &[
            ("Summary", "目录"),
            ("queue", "队列"),
            ("A queue · 三.2 Queue", "队列 · 三.2 Queue"),
            (
                "Two processes put one number each.",
                "两个进程各放入一个数。",
            ),
            ("Python", "Python"),
            ("Rust", "Rust"),
        ],
        0,
    );
    assert_eq!(untranslated(&messages, &catalog), Vec::<String>::new());
    fs::remove_dir_all(book).unwrap();
}

#[test]
fn a_missing_or_fuzzy_translation_fails_naming_the_note_and_the_message() {
    let book = fixture("gaps", &[("queue.md", NOTE)]);
    let messages = book_messages(&book);
    // The paragraph's translation is fuzzy, the heading's is missing.
    let catalog = catalog_of(
        &[
            (
                "Two processes put one number each.",
                "两个进程各放入一个数。",
            ),
            ("Summary", "目录"),
            ("queue", "队列"),
            ("Python", "Python"),
            ("Rust", "Rust"),
        ],
        1,
    );
    let gaps = untranslated(&messages, &catalog);
    assert_eq!(
        gaps,
        [
            "notes/queue.md:1: not in the PO file: \"A queue · 三.2 Queue\"",
            "notes/queue.md:3: translation out of date (fuzzy): \"Two processes put one number each.\"",
        ]
    );
    fs::remove_dir_all(book).unwrap();
}

/// Copies what the book is made of (book.toml, the notes, the README they include) into
/// a temporary folder, so that a test can change a note without touching the real one.
fn copy_of_the_book(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("book-copy-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let src = source_folder(&root());
    fs::create_dir_all(dir.join(&src)).unwrap();
    for file in ["book.toml", "README.md"] {
        fs::copy(root().join(file), dir.join(file)).unwrap();
    }
    for entry in fs::read_dir(root().join(&src)).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "md") {
            fs::copy(&path, dir.join(&src).join(path.file_name().unwrap())).unwrap();
        }
    }
    dir
}

#[test]
fn changing_a_paragraph_of_the_queue_note_makes_the_check_fail() {
    // A translation of every message of today's book (made up: the Chinese does not
    // matter here, only that there is one) passes ...
    let book = copy_of_the_book("05");
    let messages = book_messages(&book);
    let pairs: Vec<(String, String)> = messages
        .iter()
        .map(|m| (m.msgid.clone(), format!("译文：{}", m.msgid)))
        .collect();
    let borrowed: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(e, c)| (e.as_str(), c.as_str()))
        .collect();
    let catalog = catalog_of(&borrowed, 0);
    assert_eq!(untranslated(&messages, &catalog), Vec::<String>::new());

    // ... until one English paragraph of notes/05_queue.md changes.
    let note = book.join("notes/05_queue.md");
    let text = fs::read_to_string(&note).unwrap();
    let paragraph = "That is the whole program.";
    let (line, old) = text
        .lines()
        .enumerate()
        .find(|(_, l)| {
            !l.is_empty()
                && l.chars().next().is_some_and(char::is_alphabetic)
                && !l.starts_with("Run it")
        })
        .expect("notes/05_queue.md has a paragraph of prose");
    fs::write(&note, text.replacen(old, &format!("{paragraph} {old}"), 1)).unwrap();
    let gaps = untranslated(&book_messages(&book), &catalog);
    assert_eq!(gaps.len(), 1, "{gaps:#?}");
    let expected = format!(
        "notes/05_queue.md:{}: not in the PO file: \"{paragraph}",
        line + 1
    );
    assert!(
        gaps[0].starts_with(&expected),
        "{} should start with {expected}",
        gaps[0]
    );
    fs::remove_dir_all(book).unwrap();
}

#[test]
fn the_chinese_book_translates_every_message_of_the_english_one() {
    let po = root().join("po/zh-CN.po");
    let catalog = polib::po_file::parse(&po).expect("po/zh-CN.po is a PO file");
    let gaps = untranslated(&book_messages(&root()), &catalog);
    assert!(
        gaps.is_empty(),
        "{} message(s) of the English book have no up-to-date Chinese translation in \
         po/zh-CN.po:\n  {}\nAfter changing the English, run `.ci/po-update` (it extracts the \
         messages again and merges them into po/zh-CN.po, marking changed ones fuzzy), then \
         translate each message listed here and remove its `#, fuzzy` line.",
        gaps.len(),
        gaps.join("\n  ")
    );
}

#[test]
#[ignore = "needs mdbook and mdbook-xgettext: run .ci/book"]
fn this_test_extracts_the_same_messages_as_mdbook_xgettext() {
    let out = std::env::temp_dir().join(format!("book-xgettext-{}", std::process::id()));
    let status = std::process::Command::new("mdbook")
        .args(["build", "-d"])
        .arg(&out)
        .current_dir(root())
        .env("MDBOOK_OUTPUT", r#"{"xgettext": {}}"#)
        .status()
        .expect("cannot run mdbook: install it with .ci/book");
    assert!(status.success(), "mdbook-xgettext failed");
    let pot = polib::po_file::parse(&out.join("messages.pot")).expect("a POT file");
    let mut theirs: Vec<String> = pot.messages().map(|m| m.msgid().to_owned()).collect();
    let mut ours: Vec<String> = book_messages(&root())
        .into_iter()
        .map(|m| m.msgid)
        .collect();
    theirs.sort();
    ours.sort();
    ours.dedup();
    let _ = fs::remove_dir_all(&out);
    let only_theirs: Vec<_> = theirs.iter().filter(|m| !ours.contains(m)).collect();
    let only_ours: Vec<_> = ours.iter().filter(|m| !theirs.contains(m)).collect();
    assert!(
        only_theirs.is_empty() && only_ours.is_empty(),
        "only mdbook-xgettext finds: {only_theirs:#?}\nonly this test finds: {only_ours:#?}"
    );
}
