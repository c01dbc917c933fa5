//! Every page of the English and the Chinese book, opened in headless Chromium.
//!
//! `.ci/book` builds both books (`book/` and `book/zh-CN/`) and runs this test; without a
//! browser, a driver and the built books, `cargo test --workspace` lists it as ignored and
//! names that command. It serves `book/` over HTTP from a thread of its own, starts
//! `/usr/bin/chromedriver`, and for each page of each language checks that:
//!
//! - the page has its title and a heading, and every code block was highlighted (rendered);
//! - every link and image that stays within the book leads to a file that exists, and every
//!   `#fragment` to an element with that id;
//! - the language picker is there and leads to the same page in the other language.
//!
//! Then it searches for `Queue` in the English book and `队列` in the Chinese one, follows the
//! language picker once by clicking it, and saves a screenshot of the glossary in each language
//! under `target/book-screenshots/`, for a person to look at (Chinese drawn as empty boxes means
//! the CJK font is missing: `fonts-noto-cjk`).

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The built books: the English one at the root of the site, each translation in a folder.
const LANGUAGES: [(&str, &str); 2] = [("en", ""), ("zh-CN", "zh-CN/")];

/// chromedriver, started in a process group of its own, which the browsers it starts join:
/// when this is dropped, also when the test fails half-way, the whole group is killed,
/// chromedriver reaped, and the browser's profile folder removed.
struct Driver {
    child: Child,
    profile: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("cannot find a free port")
        .port()
}

/// Serves the files under `dir` at `http://127.0.0.1:<port>/`, from a thread per request.
fn serve(dir: PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("cannot listen on localhost");
    let address = format!("http://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let dir = dir.clone();
            std::thread::spawn(move || answer(stream, &dir));
        }
    });
    address
}

/// Answers one GET request with the file it names, or 404.
fn answer(mut stream: TcpStream, dir: &Path) {
    let mut request = String::new();
    let mut reader = BufReader::new(&stream);
    if reader.read_line(&mut request).is_err() {
        return;
    }
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(0) | Err(_) => break,
            Ok(_) if header.trim().is_empty() => break,
            Ok(_) => {}
        }
    }
    let path = request.split_whitespace().nth(1).unwrap_or("/");
    let file = file_of(dir, path.split(['?', '#']).next().unwrap_or("/"));
    let response = match file.and_then(|f| std::fs::read(&f).ok().map(|body| (f, body))) {
        Some((file, body)) => {
            let kind = match file.extension().and_then(|e| e.to_str()) {
                Some("html") => "text/html; charset=utf-8",
                Some("js") => "text/javascript; charset=utf-8",
                Some("css") => "text/css; charset=utf-8",
                Some("svg") => "image/svg+xml",
                Some("png") => "image/png",
                Some("woff2") => "font/woff2",
                Some("json") => "application/json",
                _ => "text/plain; charset=utf-8",
            };
            let mut head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .into_bytes();
            head.extend(body);
            head
        }
        None => {
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
        }
    };
    let _ = stream.write_all(&response);
}

/// The file a URL path names under `dir` (a folder means its index.html), if it exists.
fn file_of(dir: &Path, url_path: &str) -> Option<PathBuf> {
    let decoded = percent_decode(url_path);
    if decoded.split('/').any(|part| part == "..") {
        return None;
    }
    let file = dir.join(decoded.trim_start_matches('/'));
    let file = if file.is_dir() {
        file.join("index.html")
    } else {
        file
    };
    file.is_file().then_some(file)
}

/// `%E9%98%9F` and the like, decoded (URLs carry the Chinese of ids and paths that way).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex =
            || u8::from_str_radix(std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?, 16).ok();
        match (bytes[i], hex()) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The pages of one language's book, relative to its folder: every `.html` file but the
/// ones mdBook adds around the chapters, and not the other languages' folders.
fn pages(book: &Path, dir: &Path, found: &mut Vec<String>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if !LANGUAGES.iter().any(|(code, _)| *code == name) {
                pages(book, &path, found);
            }
        } else if name.ends_with(".html")
            && !["toc.html", "print.html", "404.html"].contains(&name.as_str())
        {
            found.push(
                path.strip_prefix(book)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
}

/// What one page shows, read in the browser.
const INSPECT: &str = r##"
const main = document.getElementById("mdbook-content") || document.body;
const codes = [...main.querySelectorAll("pre > code")];
return {
    lang: document.documentElement.lang,
    title: document.title,
    heading: (main.querySelector("h1") || {}).textContent || "",
    code_blocks: codes.length,
    unhighlighted: codes.filter(c => !c.classList.contains("hljs") || c.textContent.length === 0).length,
    raw_fences: [...main.querySelectorAll("p")].filter(p => p.textContent.includes("```")).length,
    links: [...document.querySelectorAll("a[href]")].map(a => a.href),
    images: [...document.images].map(i => i.src),
    switch: [...document.querySelectorAll("#language-list a[hreflang]")].map(a => [a.hreflang, a.href]),
};
"##;

/// What is wrong with one page, given what INSPECT saw there.
fn problems(site: &str, book: &Path, language: &str, page: &str, seen: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let text = |key: &str| seen[key].as_str().unwrap_or("").trim().to_owned();
    if seen["lang"] != language {
        found.push(format!(
            "its <html lang> is {}, not {language}",
            seen["lang"]
        ));
    }
    if text("title").is_empty() || text("heading").is_empty() {
        found.push("no title, or no heading".to_owned());
    }
    if seen["unhighlighted"].as_u64() != Some(0) || seen["raw_fences"].as_u64() != Some(0) {
        found.push(format!("code blocks not rendered: {seen}"));
    }
    let urls = seen["links"]
        .as_array()
        .into_iter()
        .chain(seen["images"].as_array())
        .flatten();
    for url in urls.filter_map(Value::as_str) {
        let Some(inside) = url.strip_prefix(site) else {
            continue; // outside the book: the web
        };
        let (path, fragment) = inside.split_once('#').unwrap_or((inside, ""));
        match file_of(book, &format!("/{path}")) {
            None => found.push(format!("broken link: {url}")),
            Some(file) if !fragment.is_empty() && file.extension().is_some_and(|e| e == "html") => {
                let html = std::fs::read_to_string(&file).unwrap_or_default();
                let id = percent_decode(fragment);
                if !html.contains(&format!("id=\"{id}\"")) {
                    found.push(format!("broken anchor: {url} (no id \"{id}\")"));
                }
            }
            Some(_) => {}
        }
    }
    let switch = seen["switch"].as_array().cloned().unwrap_or_default();
    for (code, folder) in LANGUAGES {
        let expected = format!("{site}{folder}{page}");
        let link = switch
            .iter()
            .find(|pair| pair[0] == code)
            .and_then(|pair| pair[1].as_str());
        if link != Some(expected.as_str()) {
            found.push(format!(
                "the language switch to {code} leads to {link:?}, not {expected}"
            ));
        }
    }
    found
}

/// Waits until `script` returns true (a page's own scripts run after it loads).
async fn wait_for(client: &Client, script: &str, what: &str) {
    let start = Instant::now();
    loop {
        if client.execute(script, vec![]).await.expect("a script") == json!(true) {
            return;
        }
        if start.elapsed() > Duration::from_secs(20) {
            let page = client
                .execute(
                    "const h = document.getElementById('mdbook-searchresults-header'); \
                     const b = document.getElementById('mdbook-searchbar'); \
                     return [location.href, h && h.textContent, b && b.value];",
                    vec![],
                )
                .await;
            panic!("gave up waiting for {what}; the page: {page:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Searches `word` in the book's search box and returns the results' text.
async fn search(client: &Client, url: &str, word: &str) -> Vec<String> {
    client.goto(url).await.expect("cannot open the page");
    client
        .find(Locator::Id("mdbook-search-toggle"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(
        client,
        "return !!(window.search && window.search.index);",
        "the search index",
    )
    .await;
    // Typed as a reader would; Chinese typed through WebDriver does not always arrive (an input
    // method is not a keyboard), so the box is also given the word and the key event it awaits.
    let searchbar = client.find(Locator::Id("mdbook-searchbar")).await.unwrap();
    searchbar.send_keys(word).await.unwrap();
    client
        .execute(
            "const box = document.getElementById('mdbook-searchbar'); box.value = arguments[0]; \
             box.dispatchEvent(new KeyboardEvent('keyup'));",
            vec![json!(word)],
        )
        .await
        .unwrap();
    wait_for(
        client,
        "return document.querySelectorAll('#mdbook-searchresults li').length > 0 \
         || document.getElementById('mdbook-searchresults-header').textContent.includes('No search');",
        &format!("search results for {word}"),
    )
    .await;
    let results = client
        .execute(
            "return [...document.querySelectorAll('#mdbook-searchresults li')].map(li => li.textContent);",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(results).unwrap()
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "needs Chromium, chromedriver, a CJK font and the two built books: run .ci/book"]
async fn every_page_of_both_books_opens_in_chromium() {
    let book = root().join("book");
    for (code, folder) in LANGUAGES {
        assert!(
            book.join(folder).join("index.html").is_file(),
            "no {code} book in book/{folder}: build both with .ci/book"
        );
    }
    let site = serve(book.clone());
    let port = free_port();
    let profile = std::env::temp_dir().join(format!("book-browser-{}", std::process::id()));
    let _driver = Driver {
        child: Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("cannot start /usr/bin/chromedriver: run .ci/book, which installs it"),
        profile: profile.clone(),
    };
    let mut capabilities = serde_json::Map::new();
    let mut chrome = json!({"args": [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--window-size=1280,900", format!("--user-data-dir={}", profile.display()),
    ]});
    if Path::new("/usr/bin/chromium").exists() {
        chrome["binary"] = json!("/usr/bin/chromium");
    }
    capabilities.insert("goog:chromeOptions".to_owned(), chrome);
    let webdriver = format!("http://127.0.0.1:{port}");
    let start = Instant::now();
    let client = loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(capabilities.clone())
            .connect(&webdriver)
            .await
        {
            Ok(client) => break client,
            Err(e) if start.elapsed() > Duration::from_secs(20) => panic!("chromedriver: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };

    let mut report = Vec::new();
    let mut opened = 0;
    for (language, folder) in LANGUAGES {
        let mut list = Vec::new();
        pages(&book.join(folder), &book.join(folder), &mut list);
        for page in &list {
            let url = format!("{site}{folder}{page}");
            client.goto(&url).await.expect("cannot open a page");
            wait_for(
                &client,
                "return document.getElementById('language-toggle') !== null;",
                &url,
            )
            .await;
            let seen = client
                .execute(INSPECT, vec![])
                .await
                .expect("cannot inspect a page");
            let found = problems(&site, &book, language, page, &seen);
            report.extend(found.into_iter().map(|p| format!("{folder}{page}: {p}")));
            opened += 1;
        }
    }

    // The switch, clicked: from the English glossary to the Chinese one.
    client.goto(&format!("{site}glossary.html")).await.unwrap();
    client
        .find(Locator::Id("language-toggle"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .find(Locator::Css("#language-list a[hreflang='zh-CN']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(
        &client,
        "return document.documentElement.lang === 'zh-CN';",
        "the Chinese page",
    )
    .await;
    let now = client.current_url().await.unwrap();
    if now.as_str() != format!("{site}zh-CN/glossary.html") {
        report.push(format!("the language switch on glossary.html led to {now}"));
    }

    for (language, folder, word) in [("en", "", "Queue"), ("zh-CN", "zh-CN/", "队列")] {
        let results = search(&client, &format!("{site}{folder}index.html"), word).await;
        if results.is_empty() {
            report.push(format!(
                "the {language} book's search finds nothing for {word}"
            ));
        }
    }

    let shots = root().join("target/book-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    for (language, folder) in LANGUAGES {
        client
            .goto(&format!("{site}{folder}glossary.html"))
            .await
            .unwrap();
        let png = client.screenshot().await.expect("cannot take a screenshot");
        std::fs::write(shots.join(format!("glossary-{language}.png")), png).unwrap();
    }
    client.close().await.expect("cannot close the browser");

    eprintln!("opened {opened} pages; screenshots in {}", shots.display());
    assert!(opened > 0, "no pages found under book/");
    assert!(
        report.is_empty(),
        "{} problem(s):\n  {}",
        report.len(),
        report.join("\n  ")
    );
}
