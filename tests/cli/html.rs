//! `--format html`: a fixture repository with history (a key added, moved to a second
//! path, removed from `main`, still on a tag) and a tree of hostile names, reported as one
//! self-contained page: a card per key, the timeline's dates, every scanned text escaped,
//! no full key, no external reference, the same bytes at any thread count; then the same
//! pages opened in a real browser (Debian's `chromium`, headless).

use std::path::Path;
use std::process::Command;

use crate::git::Repo;
use crate::{key, Run, Tree};

/// The fixture shop's keys: `MOVED` goes from a served script to the server's settings
/// and off `main` (a tag keeps it); `KEPT` and `OPS` (in server config, so high) are
/// still in HEAD.
const MOVED: u64 = 700;
const KEPT: u64 = 701;
const OPS: u64 = 708;

/// Writes (or deletes) files and commits them with the given author date.
fn commit_on(repo: &Repo, date: &str, message: &str, files: &[(&str, Option<&str>)]) -> String {
    for (path, content) in files {
        let full = repo.path().join(path);
        match content {
            Some(content) => {
                std::fs::create_dir_all(full.parent().unwrap()).unwrap();
                std::fs::write(full, content).unwrap();
            }
            None => std::fs::remove_file(full).unwrap(),
        }
    }
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "--date", &format!("{date}T10:00:00+00:00"), "-m", message]);
    repo.head()
}

/// A small shop's history over five months.
pub(crate) fn shop() -> Repo {
    let (moved, kept) = (key(MOVED), key(KEPT));
    let repo = Repo::new();
    let base = "<html><head>\n<script async src=\"//static.klaviyo.com/onsite/js/klaviyo.js?\
                company_id=AbC123\"></script>\n</head></html>\n";
    commit_on(
        &repo,
        "2024-01-08",
        "Initial storefront",
        &[("README.md", Some("# Shop\n")), ("templates/base.html", Some(base))],
    );
    let cart = format!(
        "export function added(item) {{\n  klaviyo.track(\"Added to Cart\", item, {{ token: \
         \"{moved}\" }});\n}}\n"
    );
    commit_on(
        &repo,
        "2024-02-12",
        "Track add-to-cart events",
        &[("static/js/cart.js", Some(&cart))],
    );
    let signup = format!("<script>\n_learnq.push(['account', '{kept}']);\n</script>\n");
    commit_on(
        &repo,
        "2024-03-04",
        "Newsletter signup",
        &[("templates/signup.html", Some(&signup))],
    );
    let settings = format!("import os\n\nKLAVIYO_KEY = \"{moved}\"\n");
    commit_on(
        &repo,
        "2024-03-18",
        "Send cart events from the server",
        &[("static/js/cart.js", None), ("shop/settings.py", Some(&settings))],
    );
    repo.git(&["tag", "v1.4.0"]);
    let env = format!("KLAVIYO_PRIVATE_KEY={}\n", key(OPS));
    commit_on(&repo, "2024-04-15", "Deploy settings", &[("ops/production.env", Some(&env))]);
    commit_on(
        &repo,
        "2024-05-06",
        "Read the Klaviyo key from the environment",
        &[("shop/settings.py", Some("import os\n\nKLAVIYO_KEY = os.environ[\"KLAVIYO_KEY\"]\n"))],
    );
    commit_on(&repo, "2024-06-10", "Update copy", &[("README.md", Some("# Shop\n\nHello.\n"))]);
    repo
}

/// Hostile names: files named as markup, a non-UTF-8 name, and (in the history) a commit
/// message that tries to close the page's elements (and quotes a key, which is not
/// scanned there but still redacted) and an author with quotes and an ampersand (git
/// itself drops `<` and `>` from names).
pub(crate) fn hostile() -> Repo {
    let repo = Repo::new();
    let files = [
        ("<img src=x onerror=alert(1)>.js", key(702)),
        ("\"><svg onload=alert(2)>.env", key(703)),
        ("a\u{202e}lmth.js", key(704)),
    ];
    for (name, k) in &files {
        std::fs::write(repo.path().join(name), format!("const k = \"{k}\";\n")).unwrap();
    }
    use std::os::unix::ffi::OsStrExt;
    let raw = std::ffi::OsStr::from_bytes(b"bad\xffname\nwith\x1b[31mescape.env");
    std::fs::write(repo.path().join(raw), format!("K={}\n", key(705))).unwrap();
    repo.git(&["add", "-A"]);
    repo.git(&[
        "commit",
        "-q",
        "--author",
        "Mallory \"Eve\" & co <eve@example.com>",
        "-m",
        &format!("</script><script>alert(3)</script><img src=x onerror=alert(4)> {}", key(707)),
    ]);
    repo
}

fn html(dir: &Path, args: &[&str]) -> String {
    let mut all = args.to_vec();
    all.extend(["--format", "html"]);
    let run = Run::new(crate::pkscan_in(dir, &all));
    assert!(matches!(run.code(), 0 | 1), "{}", run.stderr());
    run.stdout()
}

/// Every start tag of the page (`<name …>`); text from the scan never makes one, as
/// its `<` is escaped.
fn start_tags(page: &str) -> Vec<&str> {
    let mut tags = Vec::new();
    for (at, _) in page.match_indices('<') {
        let rest = &page[at + 1..];
        if rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
            tags.push(&rest[..rest.find('>').unwrap_or(rest.len())]);
        }
    }
    tags
}

/// The page loads nothing: only the page's own elements, no `src`, no `href` but
/// in-page anchors, no `url(` or `@import`, and a CSP that forbids loads.
pub(crate) fn assert_self_contained(page: &str) {
    assert!(page.contains("content=\"default-src 'none';"), "CSP");
    for tag in start_tags(page) {
        let name = tag.split([' ', '/']).next().unwrap_or_default().to_ascii_lowercase();
        assert!(ELEMENTS.contains(&name.as_str()), "a <{tag}> element");
        assert!(!tag.contains(" src="), "<{tag}>");
        if let Some(at) = tag.find(" href=\"") {
            assert!(tag[at + 7..].starts_with('#'), "<{tag}>");
        }
    }
    for forbidden in ["url(", "@import", "http://", "https://"] {
        let css = &page[page.find("<style>").unwrap()..page.find("</style>").unwrap()];
        assert!(!css.contains(forbidden), "{forbidden} in the style");
    }
}

/// The elements the page is made of.
const ELEMENTS: [&str; 34] = [
    "html", "head", "meta", "title", "style", "body", "header", "main", "section", "footer",
    "article", "h1", "h2", "h3", "p", "div", "span", "a", "code", "time", "q", "b", "i", "small",
    "br", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td",
];

fn assert_no_full_key(page: &str, seeds: &[u64]) {
    for &seed in seeds {
        let k = key(seed);
        assert!(!page.contains(&k), "full key {seed} in the page");
        assert!(!page.contains(&k[3..]), "the body of key {seed} in the page");
    }
}

fn redacted(k: &str) -> String {
    format!("pk_{}…{}", &k[3..7], &k[k.len() - 2..])
}

fn count(page: &str, needle: &str) -> usize {
    page.matches(needle).count()
}

#[test]
fn a_history_report_has_a_card_per_key_with_its_exposure_and_places() {
    let repo = shop();
    let page = html(repo.path(), &["git"]);
    assert_self_contained(&page);
    assert_no_full_key(&page, &[MOVED, KEPT, OPS]);
    assert_eq!(count(&page, "<article class=\"card "), 3, "{page}");
    assert_eq!(count(&page, "<article class=\"card sev-critical\""), 2, "critical first");
    assert!(page.contains("<li class=\"tile sev-high\"><b>1</b> high</li>"), "{page}");
    // Two critical: sorted by secret_sha256, and each card in that order.
    let (moved, kept) = (redacted(&key(MOVED)), redacted(&key(KEPT)));
    let first = page.find(&format!("<code class=\"key\">{moved}</code>")).unwrap();
    let second = page.find(&format!("<code class=\"key\">{kept}</code>")).unwrap();
    let third = page.find(&format!("<code class=\"key\">{}</code>", redacted(&key(OPS)))).unwrap();
    let sha = |seed| crate::git::sha256_hex(&key(seed));
    assert_eq!(first < second, sha(MOVED) < sha(KEPT), "critical keys by secret_sha256");
    assert!(first.max(second) < third, "high after critical");
    let card = |at: usize| &page[at..page[at..].find("</article>").unwrap() + at];
    let (moved_card, kept_card, ops_card) = (card(first), card(second), card(third));
    for (text, expected) in [
        (moved_card, "<span class=\"when\">Introduced</span> <time>2024-02-12</time>"),
        (moved_card, "→ <span class=\"when\">Removed</span> <time>2024-05-06</time>"),
        (moved_card, "<q>Read the Klaviyo key from the environment</q>"),
        (moved_card, "Still handed out by <code>refs/tags/v1.4.0</code>"),
        (moved_card, "removed from HEAD, on 1 ref</span>"),
        (moved_card, "<td class=\"path\">static/js/cart.js</td><td class=\"num\">2</td>"),
        (moved_card, "<td class=\"path\">shop/settings.py</td><td class=\"num\">3</td>"),
        (moved_card, "Replace it with your public key AbC123 in static/js/cart.js:2."),
        (
            moved_card,
            "Public key to use: <code>AbC123</code> (the one public key seen, at \
                      templates/base.html:2)",
        ),
        (kept_card, "<span class=\"when\">Introduced</span> <time>2024-03-04</time>"),
        (kept_card, "→ <span class=\"when\">now</span>: still in HEAD"),
        (kept_card, "<span class=\"badge exposed\">in HEAD</span>"),
        (ops_card, "<span class=\"when\">Introduced</span> <time>2024-04-15</time>"),
        (ops_card, "→ <span class=\"when\">now</span>: still in HEAD"),
        (ops_card, "<td class=\"path\">ops/production.env</td><td class=\"num\">1</td>"),
    ] {
        assert!(text.contains(expected), "{expected}\n--- in\n{text}");
    }
    // One axis for the run: from the first introduction to the last commit.
    assert!(page.contains("History from 2024-02-12 to 2024-05-06"), "{page}");
    // Its dates in the overview and on the three cards; the last one at 90 %, then "now".
    assert_eq!(count(&page, "<span style=\"left:0.00%\">2024-02-12</span>"), 4, "{page}");
    assert_eq!(count(&page, "<span style=\"left:90.00%\">2024-05-06</span>"), 4);
    assert_eq!(count(&page, "<span style=\"left:100.00%\">now</span>"), 4);
    let solid_then_dashed = "<span class=\"bar\" style=\"left:0.00%;width:90.00%\"></span>\
                             <span class=\"linger\" style=\"left:90.00%;width:10.00%\"></span>";
    assert!(moved_card.contains(solid_then_dashed), "{moved_card}");
    // 2024-03-04 is 21 of the axis' 84 days.
    let open = "<span class=\"bar open\" style=\"left:22.50%;width:77.50%\"></span></div>";
    assert!(kept_card.contains(open), "{kept_card}");
}

/// The page's body, for review: what a person reads of the shop's history.
#[test]
fn html_body_snapshot() {
    let page = html(shop().path(), &["git"]);
    let body = &page[page.find("<body>").unwrap()..];
    insta::assert_snapshot!(body);
}

#[test]
fn the_same_report_is_the_same_bytes_at_any_thread_count() {
    let repo = shop();
    for command in ["git", "scan"] {
        let one = html(repo.path(), &[command, "--threads", "1"]);
        let four = html(repo.path(), &[command, "--threads", "4"]);
        assert_eq!(one, four, "{command}");
    }
}

#[test]
fn hostile_names_messages_and_authors_stay_text() {
    let repo = hostile();
    let seeds = [702, 703, 704, 705, 707];
    for command in ["scan", "git"] {
        let page = html(repo.path(), &[command]);
        assert_self_contained(&page);
        assert_no_full_key(&page, &seeds);
        assert_eq!(count(&page, "<article class=\"card "), 4, "{command}");
        for expected in [
            "<td class=\"path\">&lt;img src=x onerror=alert(1)&gt;.js</td>",
            "<td class=\"path\">&quot;&gt;&lt;svg onload=alert(2)&gt;.env</td>",
            "<td class=\"path\">a\\u{202e}lmth.js</td>",
            "<td class=\"path\">bad\\xffname\\nwith\\x1b[31mescape.env</td>",
        ] {
            assert!(page.contains(expected), "{command}: {expected}\n{page}");
        }
        assert!(!page.contains('\u{1b}') && !page.contains('\u{202e}'), "{command}");
    }
    let page = html(repo.path(), &["git"]);
    let message = format!(
        "<q>&lt;/script&gt;&lt;script&gt;alert(3)&lt;/script&gt;&lt;img src=x onerror=alert(4)&gt; \
         {}</q>",
        redacted(&key(707))
    );
    assert!(page.contains(&message), "{page}");
    assert!(page.contains("by Mallory &quot;Eve&quot; &amp; co:"), "{page}");
}

#[test]
fn full_keys_only_with_show_secrets() {
    let repo = shop();
    let page = html(repo.path(), &["git", "--show-secrets"]);
    assert!(page.contains(&format!("<code class=\"key\">{}</code>", key(MOVED))));
    assert!(page.contains("secrets shown in full (--show-secrets)"));
    let hidden = html(repo.path(), &["scan"]);
    assert_no_full_key(&hidden, &[MOVED, KEPT, OPS]);
}

#[test]
fn a_scan_report_says_what_was_scanned_with_custom_rules_and_errors() {
    let k = key(706);
    let tree = Tree::new(&[
        ("site/index.html", &format!("<script>var c = {{ companyId: \"{k}\" }};</script>\n")),
        ("ops/deploy.sh", "TOKEN=acme_live_0123456789abcdef0123456789abcdef\n"),
        (
            ".pkscan.toml",
            "[[rule]]\nid = \"acme-live-token\"\nregex = 'acme_live_[a-z0-9]{32}'\nseverity = \
             \"high\"\ntitle = \"Acme <live> token\"\nhelp = \"Rotate it in the Acme console.\"\n",
        ),
    ]);
    tree.write("broken.gz", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage");
    let run = tree.pkscan(&["scan", "site", "ops", "broken.gz", "--format", "html"]);
    let page = run.expect_code(1).stdout();
    assert_eq!(
        run.stderr(),
        "pkscan: the scan is partial: 1 input could not be read (listed in the report's \
         errors); --strict makes this exit 2\n"
    );
    assert_self_contained(&page);
    assert_no_full_key(&page, &[706]);
    for expected in [
        "<title>pkscan: 1 leaked key in files in site, ops, broken.gz</title>",
        "<p class=\"subject\">files in site, ops, broken.gz</p>",
        "The files as they were when scanned; this report records no time.",
        "3 files (",
        "<li class=\"tile sev-critical\"><b>1</b> critical</li>",
        "<li class=\"tile status-unverified\"><b>1</b> not verified</li>",
        "<p class=\"exposure\">In the files as they are now.",
        "<h2>Custom rules (1)</h2>",
        "<td><code>acme…ef</code></td>",
        "<b>Acme &lt;live&gt; token</b> (acme-live-token): Rotate it in the Acme console.",
        "<h2>Errors (1)</h2>",
        "<tr><td class=\"path\">broken.gz</td>",
        "Partial scan: 1 input could not be read",
    ] {
        assert!(page.contains(expected), "{expected}\n--- in\n{page}");
    }
    assert!(!page.contains("acme_live_0123456789abcdef0123456789abcdef"));
    assert!(!page.contains("id=\"timeline\""), "no history, no axis");
}

#[test]
fn a_bundle_place_shows_where_its_source_map_says_the_key_was_written() {
    let root = crate::project_root();
    let page = html(root, &["scan", "fixtures/js"]);
    assert_self_contained(&page);
    for expected in [
        "<td class=\"path\">fixtures/js/next-shop/.next/static/chunks/pages/_app-7d2f50b419c19413.js\
         <br><small class=\"original\">webpack://_N_E/./components/KlaviyoScript.tsx:4:28 <i>via \
         source map</i></small></td><td class=\"num\">1</td><td class=\"num\">396</td>",
        "<td class=\"path\">fixtures/js/vite-shop/dist/assets/index-BfM_ion2.js<br><small \
         class=\"original\">../../src/profile.js:2:25 <i>via source map</i></small></td>",
        // A file with no map to read says nothing of one.
        "<td class=\"path\">fixtures/js/vite-shop/src/profile.js</td>",
    ] {
        assert!(page.contains(expected), "{expected}\n--- in\n{page}");
    }
    assert_eq!(count(&page, "<i>via source map</i>"), 8, "the findings that have an original");
    let one = html(root, &["scan", "fixtures/js", "--threads", "1"]);
    assert_eq!(one, html(root, &["scan", "fixtures/js", "--threads", "4"]));
    assert_eq!(one, page);

    // The source's name comes from the map, so it is scanned data: escaped.
    let k = key(709);
    let map = format!(
        r#"{{"version":3,"sources":["webpack://app/./src/<img src=x onerror=alert(5)>&.ts"],"sourcesContent":["// x\nconst k = \"{k}\";\n"],"names":[],"mappings":";AACA,OAAW"}}"#
    );
    let bundle = format!("/* built */\nvar k=\"{k}\";\n//# sourceMappingURL=app.js.map\n");
    let tree = Tree::new(&[("dist/app.js", &bundle), ("dist/app.js.map", &map)]);
    let page = html(tree.path(), &["scan", "dist/app.js"]);
    assert_self_contained(&page);
    assert_no_full_key(&page, &[709]);
    let escaped = "<td class=\"path\">dist/app.js<br><small class=\"original\">webpack://app/./src/\
                   &lt;img src=x onerror=alert(5)&gt;&amp;.ts:2:12 <i>via source map</i></small></td>";
    assert!(page.contains(escaped), "{page}");
}

#[test]
fn repos_and_merge_reports_name_the_repository_of_each_place() {
    use crate::git::{code, git_in};
    let tree = Tree::new(&[]);
    for (i, name) in ["web", "<b>ops"].iter().enumerate() {
        let dir = tree.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        git_in(&dir, &["init", "-q", "-b", "main"], 0);
        std::fs::write(dir.join("settings.py"), code(&key(710))).unwrap();
        if i == 1 {
            std::fs::write(dir.join("deploy.py"), code(&key(711))).unwrap();
        }
        git_in(&dir, &["add", "-A"], 1);
        git_in(&dir, &["commit", "-q", "-m", "settings"], 1);
    }
    let repos = ["repos", "web", "<b>ops", "--format", "json", "--output", "shard.json"];
    Run::new(crate::pkscan_in(tree.path(), &repos)).expect_code(1);
    let merged = html(tree.path(), &["merge", "shard.json"]);
    let direct = html(tree.path(), &["repos", "web", "<b>ops"]);
    for (page, subject) in [
        (&merged, "1 merged report, findings in 2 repositories"),
        (&direct, "the git histories of 2 repositories"),
    ] {
        assert_self_contained(page);
        assert_no_full_key(page, &[710, 711]);
        assert_eq!(count(page, "<article class=\"card "), 2, "{page}");
        for expected in [
            format!("<p class=\"subject\">{subject}</p>"),
            "<thead><tr><th>Repository</th><th>Path</th>".to_string(),
            "<p class=\"repos\">In 2 repositories: <code>&lt;b&gt;ops</code> <code>web</code></p>"
                .to_string(),
            "<p class=\"repos\">In 1 repository: <code>&lt;b&gt;ops</code></p>".to_string(),
            "<tr><td class=\"repo\">&lt;b&gt;ops</td><td class=\"path\">settings.py</td>"
                .to_string(),
            "<tr><td class=\"repo\">web</td><td class=\"path\">settings.py</td>".to_string(),
            "<tr><td class=\"repo\">&lt;b&gt;ops</td><td class=\"path\">deploy.py</td>".to_string(),
        ] {
            assert!(page.contains(&expected), "{expected}\n--- in\n{page}");
        }
    }
    let one = html(tree.path(), &["repos", "web", "<b>ops", "--threads", "1", "--jobs", "1"]);
    assert_eq!(
        one,
        html(tree.path(), &["repos", "web", "<b>ops", "--threads", "4", "--jobs", "2"])
    );
    // A report with no repository has no such column.
    let page = html(&tree.path().join("web"), &["git"]);
    assert!(!page.contains("<th>Repository</th>") && !page.contains("class=\"repos\""));
}

#[test]
fn an_empty_report_says_so() {
    let tree = Tree::new(&[("README.md", "nothing here\n")]);
    let page = tree.pkscan(&["scan", "--format", "html"]).expect_code(0).stdout();
    assert!(page.contains("<p class=\"empty\">No leaked keys found.</p>"), "{page}");
    assert!(page.starts_with("<!DOCTYPE html>\n<html lang=\"en\">") && page.ends_with("</html>\n"));
}

/// `chromium` on PATH, or why the browser test cannot run.
fn chromium() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join("chromium")).find(|p| p.is_file())
}

/// Opens `file` in headless chromium and returns the DOM it rendered; `screenshot` also
/// writes a picture of the page there.
fn render(browser: &Path, file: &Path, screenshot: Option<&Path>) -> String {
    let profile = tempfile::TempDir::new().unwrap();
    let mut cmd = Command::new(browser);
    cmd.args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"])
        .args(["--disable-background-networking", "--disable-component-update", "--disable-sync"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .env("HOME", profile.path());
    match screenshot {
        Some(png) => cmd
            .arg(format!("--screenshot={}", png.display()))
            .arg("--window-size=1200,1400")
            .arg("--hide-scrollbars"),
        None => cmd.arg("--dump-dom"),
    };
    let output = cmd.arg(file).output().expect("chromium runs");
    assert!(output.status.success(), "chromium: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("the DOM is UTF-8")
}

/// The rendered DOM of a page: one card per key, the dates shown, no element the scanned
/// data made, no full key, nothing external.
fn check_rendered(dom: &str, cards: usize, dates: &[&str], seeds: &[u64]) {
    assert_eq!(count(dom, "<article class=\"card "), cards, "{dom}");
    for date in dates {
        assert!(dom.contains(&format!("<time>{date}</time>")), "{date}\n{dom}");
    }
    for element in ["<img", "<svg", "<script", "<iframe", "<object", "<embed", "<link", "<base"] {
        assert!(!dom.contains(element), "{element} element in the rendered page");
    }
    assert_no_full_key(dom, seeds);
    assert_self_contained(dom);
}

#[test]
fn reports_render_in_a_real_browser() {
    let Some(browser) = chromium() else {
        // CI installs chromium (.ci/run), so there a missing browser is a failure.
        assert!(std::env::var_os("CI").is_none(), "chromium is not on PATH, and CI is set");
        #[allow(clippy::print_stderr)] // the one notice that a check did not run
        {
            eprintln!("note: chromium is not on PATH: the browser test did not run");
        }
        return;
    };
    let out = tempfile::TempDir::new().unwrap();
    let shop = shop();
    let file = out.path().join("shop.html");
    std::fs::write(&file, html(shop.path(), &["git"])).unwrap();
    let dom = render(&browser, &file, None);
    let dates = ["2024-02-12", "2024-03-04", "2024-04-15", "2024-05-06"];
    check_rendered(&dom, 3, &dates, &[MOVED, KEPT, OPS]);
    assert!(dom.contains("refs/tags/v1.4.0"));
    if let Some(png) = std::env::var_os("PKSCAN_HTML_SCREENSHOT") {
        // The README's picture: PKSCAN_HTML_SCREENSHOT=$PWD/docs/html-report.png.
        render(&browser, &file, Some(Path::new(&png)));
    }

    let hostile = hostile();
    for command in ["git", "scan"] {
        let file = out.path().join(format!("hostile-{command}.html"));
        std::fs::write(&file, html(hostile.path(), &[command])).unwrap();
        let dom = render(&browser, &file, None);
        let dates: &[&str] = if command == "git" { &["2020-01-01"] } else { &[] };
        check_rendered(&dom, 4, dates, &[702, 703, 704, 705, 707]);
        assert!(dom.contains("&lt;img src=x onerror=alert(1)&gt;.js"), "{dom}");
    }
}
