//! One answer per key: the report's `keys` (severity, rules, findings, fix), the public
//! key to use (`public_keys_seen`, `public_api_key`), the git fields (`introduced`,
//! `removed`, `in_head`, `refs`) on histories built here, the text report's key lines, and
//! the stderr line of a partial scan.

use crate::git::{code, sha256_hex, Repo};
use crate::{key, JsonKey, JsonReport, Tree};

const CREATE: &str = "Create a new private key for each integration that used it, with a clear \
                      label and the narrowest scope.";
const UPDATE: &str = "Update each integration with its new key.";

fn delete(k: &str) -> String {
    format!(
        "Delete the exposed key pk_{}…{} in Klaviyo (Settings > API keys); Klaviyo deletes \
         without asking, so check that it is this one.",
        &k[3..7],
        &k[k.len() - 2..]
    )
}

/// The entry of key `k`, which must be there once.
fn entry<'r>(report: &'r JsonReport, k: &str) -> &'r JsonKey {
    let sha = sha256_hex(k);
    let found: Vec<&JsonKey> = report.keys.iter().filter(|e| e.secret_sha256 == sha).collect();
    assert_eq!(found.len(), 1, "{:#?}", report.keys);
    found[0]
}

/// The fingerprints of `k`'s findings, in report order.
fn fingerprints(report: &JsonReport, k: &str) -> Vec<String> {
    let sha = sha256_hex(k);
    report
        .findings
        .iter()
        .filter(|f| f.secret_sha256 == sha)
        .map(|f| f.fingerprint.clone())
        .collect()
}

#[test]
fn a_key_at_three_paths_is_one_key_with_every_place_and_its_steps() {
    let (k, other) = (key(600), key(601));
    let tree = Tree::new(&[
        ("site/index.html", &format!("<script>var c = {{ companyId: \"{k}\" }};</script>\n")),
        ("server/.env", &format!("KLAVIYO_PRIVATE_KEY={k}\n")),
        ("web/dist/app.js", &format!("const a=1;\nconst k=\"{k}\";\n")),
        ("tools/sync.py", &format!("KEY = \"{other}\"\n")),
    ]);
    let report = tree.pkscan(&["scan", "--format", "json"]).expect_code(1).json();
    assert_eq!(report.keys.len(), 2, "{:#?}", report.keys);
    assert_eq!(report.keys[0].secret_sha256, sha256_hex(&k), "critical before high");
    let e = entry(&report, &k);
    assert_eq!(e.secret, format!("pk_{}…{}", &k[3..7], &k[k.len() - 2..]));
    assert_eq!(e.severity, "critical");
    assert_eq!(
        e.rules,
        [
            "klaviyo-private-key",
            "klaviyo-private-key-as-company-id",
            "klaviyo-private-key-in-public-asset"
        ]
    );
    assert_eq!(e.findings, fingerprints(&report, &k));
    assert_eq!(e.findings.len(), 3);
    assert_eq!((&e.introduced, &e.removed, e.in_head, &e.refs), (&None, &None, None, &None));
    assert_eq!((&e.public_api_key, e.public_keys_seen.len()), (&None, 0));
    assert_eq!(
        e.fix,
        [
            "Replace it with your account's public key (site ID, 6 characters, under Settings > \
             API keys) in site/index.html:1."
                .to_string(),
            "Move it out of files served to browsers and apps (web/dist/app.js:2): a private key \
             belongs only on a server."
                .to_string(),
            "Move it out of the code into a secret store or the environment (server/.env:1)."
                .to_string(),
            CREATE.to_string(),
            UPDATE.to_string(),
            delete(&k),
        ]
    );
    let second = entry(&report, &other);
    assert_eq!(
        (second.severity.as_str(), second.rules.as_slice()),
        ("high", &["klaviyo-private-key".to_string()][..])
    );

    // Outside history the git fields are absent, not null.
    let raw: serde_json::Value =
        serde_json::from_slice(&tree.pkscan(&["scan", "--format", "json"]).output.stdout).unwrap();
    for field in ["introduced", "removed", "in_head", "refs", "repositories"] {
        assert!(raw["keys"][0].get(field).is_none(), "{field}");
    }
    assert!(raw["keys"][0]["public_api_key"].is_null());
}

#[test]
fn the_text_report_ends_with_one_line_per_key() {
    let (k, other) = (key(602), key(603));
    let tree = Tree::new(&[
        ("a.html", &format!("<script>var c = {{ companyId: \"{k}\" }};</script>\n")),
        ("b/.env", &format!("K={k}\n")),
        ("c.py", &format!("KEY = \"{other}\"\n")),
    ]);
    let run = tree.pkscan(&["scan", "--color", "never"]);
    let out = run.expect_code(1).stdout();
    let lines: Vec<&str> = out.lines().collect();
    let red = |k: &str| format!("pk_{}…{}", &k[3..7], &k[k.len() - 2..]);
    assert_eq!(
        lines[lines.len() - 5..lines.len() - 1],
        [
            "Keys (one line each, most severe first):".to_string(),
            format!("  {}  CRITICAL  not verified · 2 places: a.html:1, b/.env:1", red(&k)),
            format!("  {}  HIGH  not verified · 1 place: c.py:1", red(&other)),
            String::new(),
        ],
        "{out}"
    );
    assert!(lines[lines.len() - 1].starts_with("3 findings (1 critical, 2 high)"), "{out}");
}

/// The legacy snippet: the analytics script, then the account (the public key).
const LEARNQ: &str = "<script src=\"//a.klaviyo.com/media/js/analytics/analytics.js\"></script>\n\
                      <script>_learnq.push(['account', 'AbC123']);</script>";

fn site(public: &[(&str, &str)], k: &str) -> Tree {
    let mut files: Vec<(String, String)> = public
        .iter()
        .map(|(path, snippet)| (path.to_string(), format!("<p>shop</p>\n{snippet}\n")))
        .collect();
    files
        .push(("server/track.js".into(), format!("module.exports = {{ company_id: \"{k}\" }};\n")));
    let refs: Vec<(&str, &str)> = files.iter().map(|(p, c)| (p.as_str(), c.as_str())).collect();
    Tree::new(&refs)
}

#[test]
fn one_public_key_seen_is_the_one_to_use() {
    let k = key(604);
    let tree = site(
        &[(
            "templates/base.html",
            "<script src=\"//static.klaviyo.com/onsite/js/klaviyo.js?company_id=AbC123\"></script>",
        )],
        &k,
    );
    let report = tree.pkscan(&["scan", "--format", "json"]).expect_code(1).json();
    assert_eq!(report.findings.len(), 1, "a public key in its slot is no finding");
    let e = entry(&report, &k);
    let public = e.public_api_key.as_ref().unwrap();
    assert_eq!((public.id.as_str(), public.source.as_str()), ("AbC123", "seen"));
    let seen: Vec<_> =
        e.public_keys_seen.iter().map(|s| (s.id.as_str(), s.path.as_str(), s.line)).collect();
    assert_eq!(seen, [("AbC123", "templates/base.html", 2)]);
    assert_eq!(e.fix[0], "Replace it with your public key AbC123 in server/track.js:1.");
    let plain = tree.pkscan(&["scan", "--no-decode", "--format", "json"]).expect_code(1).json();
    assert_eq!(entry(&plain, &k).public_keys_seen, e.public_keys_seen, "same without decoding");

    let text = tree.pkscan(&["scan", "--color", "never"]).stdout();
    assert!(
        text.contains(
            "      fix: replace it with your public key AbC123, as in templates/base.html:2, then \
             rotate the private key.\n"
        ),
        "{text}"
    );
}

#[test]
fn two_public_keys_seen_name_none_and_none_seen_neither() {
    let k = key(605);
    let tree = site(
        &[
            (
                "templates/base.html",
                "<script src=\"//static.klaviyo.com/onsite/js/XyZ789/klaviyo.js\"></script>",
            ),
            ("templates/old.html", LEARNQ),
            ("templates/again.html", LEARNQ),
        ],
        &k,
    );
    let report = tree.pkscan(&["scan", "--format", "json"]).expect_code(1).json();
    assert_eq!(report.findings.len(), 1);
    let e = entry(&report, &k);
    assert_eq!(e.public_api_key, None);
    let seen: Vec<_> =
        e.public_keys_seen.iter().map(|s| (s.id.as_str(), s.path.as_str(), s.line)).collect();
    assert_eq!(seen, [("AbC123", "templates/again.html", 3), ("XyZ789", "templates/base.html", 2)]);

    let none = site(&[], &k);
    let report = none.pkscan(&["scan", "--format", "json"]).expect_code(1).json();
    let e = entry(&report, &k);
    assert_eq!((&e.public_api_key, e.public_keys_seen.len()), (&None, 0));
}

#[test]
fn a_partial_scan_says_so_on_stderr_beside_any_report_but_text_on_stdout() {
    let k = key(606);
    let tree = Tree::new(&[("a.py", &format!("KEY = \"{k}\"\n"))]);
    tree.write("broken.gz", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage");
    let line = "pkscan: the scan is partial: 1 input could not be read (listed in the report's \
                errors); --strict makes this exit 2\n";
    for format in ["json", "sarif", "github"] {
        let run = tree.pkscan(&["scan", "--format", format]);
        assert_eq!(run.expect_code(1).stderr(), line, "{format}");
    }
    let run = tree.pkscan(&["scan", "--output", "report.txt"]);
    assert_eq!(run.expect_code(1).stderr(), line);
    let run = tree.pkscan(&["scan", "--exclude", "report.txt"]);
    assert_eq!(run.expect_code(1).stderr(), "", "the text summary shows the errors itself");
    let run = tree.pkscan(&["scan", "--format", "json", "--strict", "--exclude", "report.txt"]);
    assert_eq!(run.expect_code(2).stderr(), line);
}

fn git_report(repo: &Repo) -> JsonReport {
    let run = repo.pkscan(&["git", "--format", "json"]);
    assert!(matches!(run.code(), 0 | 1), "{}", run.stderr());
    run.json()
}

fn introduced(e: &JsonKey) -> Option<&str> {
    JsonKey::commit_id(&e.introduced)
}

fn removed(e: &JsonKey) -> Option<&str> {
    JsonKey::commit_id(&e.removed)
}

fn refs(e: &JsonKey) -> Vec<&str> {
    e.refs.as_ref().expect("git reports have refs").iter().map(String::as_str).collect()
}

#[test]
fn a_key_removed_on_main_but_on_a_tag_and_a_remote_ref_is_still_handed_out() {
    let repo = Repo::new();
    let k = key(610);
    repo.commit("init", &[("README.md", Some("hello\n"))]);
    let added = repo.commit("Add settings", &[("app/settings.py", Some(&code(&k)))]);
    repo.git(&["tag", "-a", "v1.0.0", "-m", "release"]);
    repo.git(&["update-ref", "refs/remotes/origin/main", &added]);
    let gone = repo.commit("Remove the key", &[("app/settings.py", None)]);
    repo.commit("Later", &[("README.md", Some("bye\n"))]);

    let report = git_report(&repo);
    let e = entry(&report, &k);
    assert_eq!((introduced(e), removed(e), e.in_head), (Some(&*added), Some(&*gone), Some(false)));
    assert_eq!(refs(e), ["refs/remotes/origin/main", "refs/tags/v1.0.0"]);
    assert_eq!(
        e.fix[0],
        "It is no longer in HEAD but refs/remotes/origin/main, refs/tags/v1.0.0 still hold it: \
         remove it there too, and rotate it (below), as rewriting history does not recall clones \
         and forks."
    );
    let text = repo.pkscan(&["git", "--color", "never"]).stdout();
    let line = format!(
        "  pk_{}…{}  HIGH  not verified · 1 place: app/settings.py:2 · introduced 2020-01-01 in {}, \
         removed 2020-01-01 in {} · still on refs/remotes/origin/main, refs/tags/v1.0.0\n",
        &k[3..7],
        &k[k.len() - 2..],
        &added[..12],
        &gone[..12]
    );
    assert!(text.contains(&line), "{text}");

    // The same history as a bare clone: HEAD is main's tip; the remote-tracking ref is
    // not cloned.
    let bare = tempfile::TempDir::new().unwrap();
    let bare_path = bare.path().join("repo.git");
    repo.git(&["clone", "-q", "--bare", ".", bare_path.to_str().unwrap()]);
    let run = crate::Run::new(crate::pkscan_in(&bare_path, &["git", "--format", "json"]));
    let report = run.expect_code(1).json();
    let e = entry(&report, &k);
    assert_eq!((introduced(e), removed(e), e.in_head), (Some(&*added), Some(&*gone), Some(false)));
    assert_eq!(refs(e), ["refs/tags/v1.0.0"]);
}

#[test]
fn a_key_removed_and_added_again_is_in_head_then_removed_by_the_newest_removal() {
    let repo = Repo::new();
    let k = key(611);
    let added = repo.commit("Add", &[("app/settings.py", Some(&code(&k)))]);
    repo.commit("Remove", &[("app/settings.py", None)]);
    repo.commit("Add again", &[("app/settings.py", Some(&code(&k)))]);
    let report = git_report(&repo);
    let e = entry(&report, &k);
    assert_eq!((introduced(e), removed(e), e.in_head), (Some(&*added), None, Some(true)));
    assert_eq!(refs(e), ["refs/heads/main"]);
    assert_eq!(report.findings.len(), 1, "one (rule, path, key), at its first commit");

    let moved = repo.commit("Move", &[("app/settings.py", None), ("lib/conf.py", Some(&code(&k)))]);
    let again = repo.commit("Remove again", &[("lib/conf.py", None)]);
    let report = git_report(&repo);
    let e = entry(&report, &k);
    assert_eq!((introduced(e), removed(e), e.in_head), (Some(&*added), Some(&*again), Some(false)));
    assert_eq!(refs(e), Vec::<&str>::new());
    assert_eq!(e.findings.len(), 2);
    let commits: Vec<_> =
        report.findings.iter().map(|f| f.commit.as_ref().unwrap()["id"].clone()).collect();
    assert_eq!(commits, [serde_json::json!(added), serde_json::json!(moved)]);
    assert!(
        e.fix[0].starts_with("It is no longer in HEAD but stays in the history"),
        "{:?}",
        e.fix
    );
}

#[test]
fn a_merge_that_removes_the_key_on_one_side_is_its_removal() {
    let repo = Repo::new();
    let k = key(612);
    let added = repo.commit("Add", &[("app/settings.py", Some(&code(&k)))]);
    repo.git(&["checkout", "-q", "-b", "cleanup"]);
    repo.commit("Drop the key", &[("app/settings.py", None)]);
    repo.git(&["checkout", "-q", "main"]);
    repo.commit("Unrelated", &[("README.md", Some("x\n"))]);
    repo.git(&["merge", "-q", "--no-ff", "-m", "Merge cleanup", "cleanup"]);
    let merge = repo.head();
    repo.commit("After", &[("README.md", Some("y\n"))]);
    let report = git_report(&repo);
    let e = entry(&report, &k);
    assert_eq!((introduced(e), removed(e), e.in_head), (Some(&*added), Some(&*merge), Some(false)));
    assert_eq!(refs(e), Vec::<&str>::new());
}

#[test]
fn a_merge_that_brings_the_key_in_keeps_it_in_head() {
    let repo = Repo::new();
    let k = key(613);
    repo.commit("init", &[("README.md", Some("a\n"))]);
    repo.git(&["checkout", "-q", "-b", "feature"]);
    let added = repo.commit("Add", &[("deploy/secrets.yaml", Some(&format!("key: {k}\n")))]);
    repo.git(&["checkout", "-q", "main"]);
    repo.commit("Unrelated", &[("README.md", Some("x\n"))]);
    repo.git(&["merge", "-q", "--no-ff", "-m", "Merge feature", "feature"]);
    repo.git(&["branch", "-q", "-D", "feature"]);
    let gone = repo.commit("Remove", &[("deploy/secrets.yaml", None)]);
    let report = git_report(&repo);
    let e = entry(&report, &k);
    assert_eq!((introduced(e), removed(e), e.in_head), (Some(&*added), Some(&*gone), Some(false)));
}

#[test]
fn an_unborn_head_holds_nothing() {
    let repo = Repo::new();
    let k = key(614);
    repo.git(&["checkout", "-q", "-b", "other"]);
    let added = repo.commit("Add", &[("app/settings.py", Some(&code(&k)))]);
    repo.git(&["symbolic-ref", "HEAD", "refs/heads/unborn"]);
    let report = git_report(&repo);
    let e = entry(&report, &k);
    assert_eq!((introduced(e), removed(e), e.in_head), (Some(&*added), None, Some(false)));
    assert_eq!(refs(e), ["refs/heads/other"]);
}

#[test]
fn a_key_at_a_path_that_is_not_utf8_is_placed_in_head_and_its_removal() {
    use std::os::unix::ffi::OsStrExt;
    let repo = Repo::new();
    let (k, deeper) = (key(615), key(616));
    let name = std::ffi::OsStr::from_bytes(b"c\xffd.env");
    std::fs::write(repo.path().join(name), format!("K={k}\n")).unwrap();
    let folder = repo.path().join(std::ffi::OsStr::from_bytes(b"conf\xfe"));
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(folder.join(name), format!("K={deeper}\n")).unwrap();
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "Add settings"]);
    let added = repo.head();

    let report = git_report(&repo);
    let places: Vec<&str> = report.findings.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(places, ["c\\xffd.env", "conf\\xfe/c\\xffd.env"]);
    for k in [&k, &deeper] {
        let e = entry(&report, k);
        assert_eq!((introduced(e), removed(e), e.in_head), (Some(&*added), None, Some(true)));
        assert_eq!(refs(e), ["refs/heads/main"]);
    }

    std::fs::remove_file(repo.path().join(name)).unwrap();
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "Remove the root one"]);
    let gone = repo.head();
    let report = git_report(&repo);
    let e = entry(&report, &k);
    assert_eq!((introduced(e), removed(e), e.in_head), (Some(&*added), Some(&*gone), Some(false)));
    assert_eq!(refs(e), Vec::<&str>::new());
    assert_eq!(entry(&report, &deeper).in_head, Some(true));
}
