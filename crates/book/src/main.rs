//! `mdbook-notes`: the book's preprocessor (see the crate's docs), run by `mdbook build` as
//! `book.toml` says. It reads mdBook's `[context, book]` JSON on stdin and writes the book.

use book::{CodePages, english_anchors, expand_includes, relative};
use serde_json::{Value, json};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("supports") {
        return ExitCode::SUCCESS; // every renderer: book.toml limits it to html
    }
    let mut input = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut input) {
        eprintln!("mdbook-notes: cannot read the book from stdin: {e}");
        return ExitCode::FAILURE;
    }
    match run(&input) {
        Ok(book) => {
            println!("{book}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mdbook-notes: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(input: &str) -> Result<Value, String> {
    let [context, mut book]: [Value; 2] = serde_json::from_str::<Vec<Value>>(input)
        .map_err(|e| format!("not mdBook's [context, book] JSON: {e}"))?
        .try_into()
        .map_err(|_| "expected [context, book]".to_owned())?;
    let root = PathBuf::from(context["root"].as_str().ok_or("no root in the context")?);
    let config = &context["config"];
    let src = config["book"]["src"].as_str().unwrap_or("src").to_owned();
    let root_relative: Vec<String> = config["preprocessor"]["notes"]["root-relative"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let language = config["book"]["language"].as_str().unwrap_or("en");
    let title = config["preprocessor"]["notes"]["code-title"][language]
        .as_str()
        .unwrap_or("Source files")
        .to_owned();

    let mut pages = CodePages::new(&root, &src);
    let items = book["items"].as_array_mut().ok_or("no items in the book")?;
    // A translated book keeps the English ids of its headings: see `english_anchors`.
    let english_source = (language != "en").then(|| root.join(&src));
    for item in items.iter_mut() {
        rewrite_chapters(
            item,
            &mut pages,
            &src,
            &root_relative,
            english_source.as_deref(),
        );
    }
    let made = pages.finish();
    if made.is_empty() {
        return Ok(book);
    }
    // One chapter, "Source files", listing the pages that are not inside a folder's page.
    let top_page = "code/index.md";
    let is_child = |page: &str| {
        let folder = page.trim_end_matches("/index.md");
        let parent = folder.rsplit_once('/').map_or("", |(dir, _)| dir);
        made.iter()
            .any(|(p, ..)| p == &format!("{parent}/index.md") && p != page)
    };
    let mut list = format!("# {title}\n\n");
    let mut children = Vec::new();
    for (page, name, _) in &made {
        if page != top_page && !is_child(page) {
            list.push_str(&format!("- [`{name}`]({})\n", relative("code", page)));
            children.push(chapter_tree(page, &made, &is_child, vec![title.clone()]));
        }
    }
    let items = book["items"].as_array_mut().expect("checked above");
    items.push(json!("Separator"));
    items.push(json!({"Chapter": {
        "name": title, "content": list, "number": null, "sub_items": children,
        "path": top_page, "source_path": null, "parent_names": [],
    }}));
    Ok(book)
}

/// The chapter of `page`, with the pages of its folder's files and folders inside it.
fn chapter_tree(
    page: &str,
    made: &[(String, String, String)],
    is_child: &dyn Fn(&str) -> bool,
    parents: Vec<String>,
) -> Value {
    let (_, name, content) = made.iter().find(|(p, ..)| p == page).expect("a made page");
    let mut sub_items = Vec::new();
    if let Some(folder) = page.strip_suffix("/index.md") {
        let mut inner = parents.clone();
        inner.push(name.clone());
        for (child, ..) in made {
            let child_folder = child.trim_end_matches("/index.md");
            let parent = child_folder.rsplit_once('/').map_or("", |(dir, _)| dir);
            if child != page && parent == folder && is_child(child) {
                sub_items.push(chapter_tree(child, made, is_child, inner.clone()));
            }
        }
    }
    json!({"Chapter": {
        "name": name, "content": content, "number": null, "sub_items": sub_items,
        "path": page, "source_path": null, "parent_names": parents,
    }})
}

/// Rewrites the links of a chapter and of its sub-chapters.
fn rewrite_chapters(
    item: &mut Value,
    pages: &mut CodePages,
    src: &str,
    root_relative: &[String],
    english_source: Option<&std::path::Path>,
) {
    let Some(chapter) = item.get_mut("Chapter") else {
        return;
    };
    if let Some(path) = chapter["path"].as_str().map(str::to_owned) {
        let folder = path.rsplit_once('/').map_or("", |(dir, _)| dir);
        let base = if root_relative.contains(&path) {
            String::new()
        } else if folder.is_empty() {
            src.to_owned()
        } else {
            format!("{src}/{folder}")
        };
        let mut content = chapter["content"].as_str().unwrap_or("").to_owned();
        let source = chapter["source_path"].as_str();
        if let (Some(dir), Some(source)) = (english_source, source) {
            let file = dir.join(source);
            if let Ok(english) = std::fs::read_to_string(&file) {
                let english = expand_includes(&english, file.parent().unwrap_or(dir));
                content = english_anchors(&content, &english);
            }
        }
        chapter["content"] = Value::String(pages.rewrite(&content, &path, &base));
    }
    if let Some(subs) = chapter["sub_items"].as_array_mut() {
        for sub in subs {
            rewrite_chapters(sub, pages, src, root_relative, english_source);
        }
    }
}
