//! `pkscan git` and `pkscan git --staged` on repositories built here with the git CLI
//! (fixed names, emails and dates, so commit ids are stable): attribution to the
//! introducing commit, refs, merges, renames, ranges, the staged change, bare and shallow
//! clones, and the errors.

use std::cell::Cell;
use std::path::Path;
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::{key, newer_key, pkscan_in, JsonReport, Run, Tree};

/// 2020-01-01T00:00:00Z; commit N is authored N hours later.
const EPOCH: u64 = 1_577_836_800;

/// A repository in a temp dir, committed to with a clock that ticks an hour per commit.
pub(crate) struct Repo {
    tree: Tree,
    clock: Cell<u64>,
}

impl Repo {
    pub(crate) fn new() -> Repo {
        let repo = Repo { tree: Tree::new(&[]), clock: Cell::new(0) };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    pub(crate) fn path(&self) -> &Path {
        self.tree.path()
    }

    pub(crate) fn git(&self, args: &[&str]) -> String {
        git_in(self.path(), args, self.clock.get())
    }

    /// Writes (or, for `None`, deletes) files, stages everything and commits; returns the id.
    pub(crate) fn commit(&self, message: &str, files: &[(&str, Option<&str>)]) -> String {
        self.stage(files);
        self.clock.set(self.clock.get() + 1);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.head()
    }

    fn stage(&self, files: &[(&str, Option<&str>)]) {
        for (path, content) in files {
            match content {
                Some(content) => {
                    self.tree.write(path, content.as_bytes());
                }
                None => std::fs::remove_file(self.path().join(path)).expect("remove file"),
            }
        }
        self.git(&["add", "-A"]);
    }

    pub(crate) fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"]).trim().to_string()
    }

    pub(crate) fn pkscan(&self, args: &[&str]) -> Run {
        Run::new(pkscan_in(self.path(), args))
    }
}

/// `git ARGS` in `dir`, with no user or system config and dates from `clock`.
pub(crate) fn git_in(dir: &Path, args: &[&str], clock: u64) -> String {
    let date = format!("{} +0000", EPOCH + clock * 3600);
    let output = Command::new("git")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Ada Lovelace")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada Lovelace")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .env("GIT_AUTHOR_DATE", &date)
        .env("GIT_COMMITTER_DATE", &date)
        .current_dir(dir)
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?} failed\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub(crate) fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn code(k: &str) -> String {
    format!("import os\nAPI_KEY = \"{k}\"\n")
}

/// (path, line, column, sha256 of the key, introducing commit id) of every finding.
fn attributed(report: &JsonReport) -> Vec<(String, u64, u64, String, String)> {
    report
        .findings
        .iter()
        .map(|f| {
            let commit = f.commit.as_ref().and_then(|c| c["id"].as_str()).unwrap_or("none");
            (f.path.clone(), f.line, f.column, f.secret_sha256.clone(), commit.to_string())
        })
        .collect()
}

fn at(
    path: &str,
    line: u64,
    column: u64,
    k: &str,
    commit: &str,
) -> (String, u64, u64, String, String) {
    (path.to_string(), line, column, sha256_hex(k), commit.to_string())
}

fn history(repo: &Repo, extra: &[&str]) -> JsonReport {
    let mut args = vec!["git", "--format", "json"];
    args.extend_from_slice(extra);
    let run = repo.pkscan(&args);
    assert!(matches!(run.code(), 0 | 1), "exit {}\n{}", run.code(), run.stderr());
    run.json()
}

#[test]
fn a_key_added_then_removed_is_reported_once_at_the_adding_commit() {
    let repo = Repo::new();
    let k = key(1);
    repo.commit("init", &[("README.md", Some("hello\n"))]);
    let added = repo
        .commit("Add settings\nwith a key\n\nBody text.", &[("app/settings.py", Some(&code(&k)))]);
    repo.commit("Remove the key", &[("app/settings.py", None)]);
    let run = repo.pkscan(&["git", "--format", "json"]);
    run.expect_code(1);
    let report = run.json();
    assert_eq!(attributed(&report), vec![at("app/settings.py", 2, 12, &k, &added)]);
    let f = &report.findings[0];
    assert_eq!(f.rule_id, "klaviyo-private-key");
    assert_eq!(f.end_column, 49);
    let commit = f.commit.as_ref().expect("a commit");
    assert_eq!(commit["author_name"], "Ada Lovelace");
    assert_eq!(commit["author_email"], "ada@example.com");
    assert_eq!(commit["date"], "2020-01-01T02:00:00Z");
    assert_eq!(commit["summary"], "Add settings with a key");
    assert_eq!(report.summary.history_partial, Some(false));
    assert_eq!(report.summary.files_scanned, 2, "README.md and settings.py, once each");
    // HEAD is clean: a plain scan finds nothing.
    repo.pkscan(&["scan"]).expect_code(0);
}

#[test]
fn the_same_key_in_two_paths_is_two_findings() {
    let repo = Repo::new();
    let k = key(2);
    let c = repo.commit("keys", &[("a.py", Some(&code(&k))), ("b/c.py", Some(&code(&k)))]);
    let report = history(&repo, &[]);
    assert_eq!(attributed(&report), vec![at("a.py", 2, 12, &k, &c), at("b/c.py", 2, 12, &k, &c)]);
}

#[test]
fn a_key_kept_for_many_commits_is_one_finding_at_its_first_commit() {
    let repo = Repo::new();
    let k = key(3);
    let first = repo.commit("add", &[("server.py", Some(&code(&k)))]);
    let mut text = code(&k);
    for i in 0..12 {
        // Lines go in above the key, so later versions hold it further down.
        text = format!("# change {i}\n{text}");
        repo.commit(
            &format!("edit {i}"),
            &[("server.py", Some(&text)), ("other.txt", Some(&i.to_string()))],
        );
    }
    let report = history(&repo, &[]);
    assert_eq!(attributed(&report), vec![at("server.py", 2, 12, &k, &first)]);
    assert_eq!(report.summary.files_scanned, 25, "13 versions of server.py, 12 of other.txt");
}

#[test]
fn keys_only_on_an_unmerged_branch_or_a_tag_are_found_and_branch_narrows() {
    let repo = Repo::new();
    let (on_branch, on_tag) = (key(4), newer_key(5));
    repo.commit("init", &[("README.md", Some("hello\n"))]);
    repo.git(&["checkout", "-q", "-b", "feature"]);
    let branch_commit = repo.commit("wip", &[("sync.py", Some(&code(&on_branch)))]);
    repo.git(&["checkout", "-q", "-b", "experiment", "main"]);
    let tag_commit = repo.commit("try", &[("track.py", Some(&code(&on_tag)))]);
    repo.git(&["tag", "-a", "-m", "experiment", "v0-experiment"]);
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["branch", "-q", "-D", "experiment"]);
    let report = history(&repo, &[]);
    assert_eq!(
        attributed(&report),
        vec![
            at("sync.py", 2, 12, &on_branch, &branch_commit),
            at("track.py", 2, 12, &on_tag, &tag_commit)
        ]
    );
    assert!(history(&repo, &["--branch", "main"]).findings.is_empty());
    let tagged = history(&repo, &["--branch", "v0-experiment"]);
    assert_eq!(attributed(&tagged), vec![at("track.py", 2, 12, &on_tag, &tag_commit)]);
}

#[test]
fn a_key_merged_from_a_branch_belongs_to_the_branch_commit() {
    let repo = Repo::new();
    let k = key(6);
    repo.commit("init", &[("README.md", Some("hello\n"))]);
    repo.git(&["checkout", "-q", "-b", "feature"]);
    let introduced =
        repo.commit("add key", &[("deploy/secrets.yaml", Some(&format!("key: {k}\n")))]);
    repo.git(&["checkout", "-q", "main"]);
    repo.commit("main work", &[("main.txt", Some("x\n"))]);
    repo.clock.set(repo.clock.get() + 1);
    repo.git(&["merge", "-q", "--no-ff", "-m", "Merge feature", "feature"]);
    repo.git(&["branch", "-q", "-D", "feature"]);
    let report = history(&repo, &[]);
    assert_eq!(attributed(&report), vec![at("deploy/secrets.yaml", 1, 6, &k, &introduced)]);
}

#[test]
fn a_merge_that_adds_a_key_introduces_it() {
    let repo = Repo::new();
    let k = key(7);
    repo.commit("init", &[("config.py", Some("A = 1\n"))]);
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.commit("feature", &[("feature.txt", Some("f\n"))]);
    repo.git(&["checkout", "-q", "main"]);
    repo.commit("main", &[("main.txt", Some("m\n"))]);
    repo.clock.set(repo.clock.get() + 1);
    repo.git(&["merge", "-q", "--no-ff", "--no-commit", "feature"]);
    repo.tree.write("config.py", code(&k).as_bytes());
    repo.git(&["add", "config.py"]);
    repo.git(&["commit", "-q", "-m", "Merge feature"]);
    let merge = repo.head();
    let report = history(&repo, &[]);
    assert_eq!(attributed(&report), vec![at("config.py", 2, 12, &k, &merge)]);
}

#[test]
fn a_key_added_on_two_unrelated_branches_goes_to_the_earlier_author_date() {
    let repo = Repo::new();
    let k = key(8);
    repo.commit("init", &[("README.md", Some("hello\n"))]);
    repo.git(&["checkout", "-q", "-b", "one"]);
    let earlier = repo.commit("one", &[("env", Some(&format!("KEY={k}\n")))]);
    repo.git(&["checkout", "-q", "-b", "two", "main"]);
    repo.commit("two", &[("env", Some(&format!("# two\nKEY={k}\n")))]);
    repo.git(&["checkout", "-q", "main"]);
    let report = history(&repo, &[]);
    assert_eq!(attributed(&report), vec![at("env", 1, 5, &k, &earlier)]);
}

#[test]
fn ancestry_beats_author_date() {
    let repo = Repo::new();
    let k = key(9);
    repo.commit("init", &[("README.md", Some("hello\n"))]);
    // The introducing commit carries a later author date than its descendant that
    // re-adds the key: the ancestor still wins.
    repo.clock.set(100);
    let ancestor = repo.commit("add", &[("env", Some(&format!("KEY={k}\n")))]);
    repo.clock.set(10);
    repo.commit("remove", &[("env", Some("KEY=\n"))]);
    repo.commit("add again", &[("env", Some(&format!("KEY={k}\n")))]);
    let report = history(&repo, &[]);
    assert_eq!(attributed(&report), vec![at("env", 1, 5, &k, &ancestor)]);
}

#[test]
fn a_rename_is_a_new_path_introduced_by_the_rename_commit() {
    let repo = Repo::new();
    let k = key(10);
    let added = repo.commit("add", &[("old.py", Some(&code(&k)))]);
    repo.git(&["mv", "old.py", "new.py"]);
    let renamed = repo.commit("rename", &[]);
    let report = history(&repo, &[]);
    assert_eq!(
        attributed(&report),
        vec![at("new.py", 2, 12, &k, &renamed), at("old.py", 2, 12, &k, &added)]
    );
    // Fingerprints come from rule, path and key, so `scan .` at HEAD matches `git`.
    let scanned = repo.pkscan(&["scan", ".", "--format", "json"]).json();
    assert_eq!(scanned.findings[0].fingerprint, report.findings[0].fingerprint);
}

#[test]
fn a_range_reports_only_what_its_commits_introduce() {
    let repo = Repo::new();
    let (old, new) = (key(11), key(12));
    repo.commit("old key", &[("a.py", Some(&code(&old)))]);
    repo.git(&["branch", "base"]);
    repo.commit("touch", &[("a.py", Some(&format!("# x\n{}", code(&old))))]);
    let c = repo.commit("new key", &[("b.py", Some(&code(&new)))]);
    let report = history(&repo, &["--range", "base..HEAD"]);
    assert_eq!(attributed(&report), vec![at("b.py", 2, 12, &new, &c)]);
    let run = repo.pkscan(&["git", "--range", "nope..HEAD"]);
    run.expect_code(2);
    assert!(run.stderr().contains("cannot resolve revision \"nope\""), "{}", run.stderr());
}

#[test]
fn allow_comments_and_excludes_apply_to_history() {
    let repo = Repo::new();
    let (allowed, excluded) = (key(13), key(14));
    repo.commit(
        "keys",
        &[
            ("a.py", Some(&format!("K = \"{allowed}\"  # pkscan:allow\n"))),
            ("vendor/lib.py", Some(&code(&excluded))),
        ],
    );
    let report = history(&repo, &["--exclude", "vendor/**"]);
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    assert_eq!(report.summary.allowed, 1);
}

#[test]
fn staged_reports_only_lines_the_staged_change_adds() {
    let repo = Repo::new();
    let (committed, staged, unstaged, new_file) = (key(20), key(21), key(22), key(23));
    repo.commit(
        "committed",
        &[("app/config.py", Some(&format!("A = 1\nOLD = \"{committed}\"\n")))],
    );
    repo.stage(&[
        ("app/config.py", Some(&format!("A = 1\nOLD = \"{committed}\"\nNEW = \"{staged}\"\n"))),
        ("app/new.py", Some(&code(&new_file))),
    ]);
    // An unstaged edit in the work tree is not what will be committed.
    repo.tree.write(
        "app/config.py",
        format!("A = 1\nOLD = \"{committed}\"\nNEW = \"{staged}\"\nX = \"{unstaged}\"\n")
            .as_bytes(),
    );
    std::fs::create_dir_all(repo.path().join("app/sub")).unwrap();
    let run =
        Run::new(pkscan_in(&repo.path().join("app/sub"), &["git", "--staged", "--format", "json"]));
    run.expect_code(1);
    let report = run.json();
    assert_eq!(
        attributed(&report),
        vec![
            at("app/config.py", 3, 8, &staged, "none"),
            at("app/new.py", 2, 12, &new_file, "none")
        ]
    );
    assert_eq!(report.summary.history_partial, None);
    assert_eq!(report.summary.files_scanned, 2);
    // Once committed, nothing is staged any more.
    repo.commit("commit it", &[]);
    repo.pkscan(&["git", "--staged"]).expect_code(0);
}

#[test]
fn staged_on_an_unborn_branch_is_everything_staged() {
    let repo = Repo::new();
    let k = key(24);
    repo.stage(&[("first.py", Some(&code(&k)))]);
    let run = repo.pkscan(&["git", "--staged", "--format", "json"]);
    run.expect_code(1);
    assert_eq!(attributed(&run.json()), vec![at("first.py", 2, 12, &k, "none")]);
    // History of an unborn branch is empty, not an error.
    repo.pkscan(&["git"]).expect_code(0);
}

#[test]
fn a_bare_clone_scans_its_history_but_has_nothing_staged() {
    let repo = Repo::new();
    let k = key(25);
    let c = repo.commit("add", &[("a.py", Some(&code(&k)))]);
    let outer = Tree::new(&[]);
    git_in(outer.path(), &["clone", "-q", "--bare", repo.path().to_str().unwrap(), "bare.git"], 0);
    let run = Run::new(pkscan_in(outer.path(), &["git", "bare.git", "--format", "json"]));
    run.expect_code(1);
    assert_eq!(attributed(&run.json()), vec![at("a.py", 2, 12, &k, &c)]);
    let staged = Run::new(pkscan_in(&outer.path().join("bare.git"), &["git", "--staged"]));
    staged.expect_code(2);
    assert!(staged.stderr().contains("is a bare repository"), "{}", staged.stderr());
}

#[test]
fn a_shallow_clone_is_scanned_as_far_as_it_goes() {
    let repo = Repo::new();
    let (old, kept) = (key(26), key(27));
    repo.commit("old", &[("old.py", Some(&code(&old)))]);
    repo.commit("drop old", &[("old.py", None)]);
    repo.commit("kept", &[("kept.py", Some(&code(&kept)))]);
    let tip = repo.commit("tip", &[("tip.txt", Some("t\n"))]);
    let outer = Tree::new(&[]);
    let url = format!("file://{}", repo.path().display());
    git_in(outer.path(), &["clone", "-q", "--depth", "1", &url, "shallow"], 0);
    let run = Run::new(pkscan_in(&outer.path().join("shallow"), &["git", "--format", "json"]));
    run.expect_code(1);
    assert!(run.stderr().contains("shallow clone"), "{}", run.stderr());
    let report = run.json();
    assert_eq!(report.summary.history_partial, Some(true));
    // The boundary commit is all there is: it holds the kept key.
    assert_eq!(attributed(&report), vec![at("kept.py", 2, 12, &kept, &tip)]);
}

#[test]
fn not_a_repository_is_exit_2_with_a_hint() {
    let tree = Tree::new(&[("a.txt", "x\n")]);
    let run = tree.pkscan(&["git"]);
    run.expect_code(2);
    assert!(run.stderr().contains("is not in a git repository"), "{}", run.stderr());
    assert!(run.stderr().contains("pkscan scan"), "{}", run.stderr());
    let staged = tree.pkscan(&["git", "--staged"]);
    staged.expect_code(2);
    let missing = tree.pkscan(&["git", "no/such/dir"]);
    missing.expect_code(2);
    assert!(missing.stderr().contains("no such file or directory"), "{}", missing.stderr());
}

#[test]
fn a_corrupt_object_is_an_error_entry() {
    let repo = Repo::new();
    let k = key(28);
    repo.commit("add", &[("a.py", Some(&code(&k))), ("b.txt", Some("plain\n"))]);
    let blob = repo.git(&["rev-parse", "HEAD:b.txt"]).trim().to_string();
    let object = repo.path().join(".git/objects").join(&blob[..2]).join(&blob[2..]);
    let mut perms = std::fs::metadata(&object).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)] // a test corrupting its own temp file
    perms.set_readonly(false);
    std::fs::set_permissions(&object, perms).unwrap();
    std::fs::write(&object, b"not zlib at all").unwrap();
    let run = repo.pkscan(&["git", "--format", "json"]);
    run.expect_code(1);
    let report = run.json();
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.errors.len(), 1);
    assert_eq!(report.errors[0].path, "b.txt");
    assert!(report.errors[0].message.contains(&blob), "{}", report.errors[0].message);
    repo.pkscan(&["git", "--strict"]).expect_code(2);
}

#[test]
fn the_library_entry_point_matches_the_binary() {
    let repo = Repo::new();
    let k = key(29);
    let c = repo.commit("add", &[("a.py", Some(&code(&k)))]);
    let git = pkscan::GitOptions { repo: repo.path().to_path_buf(), ..Default::default() };
    for threads in [1, 3] {
        let opts = pkscan::Options { threads, ..Default::default() };
        let report = pkscan::scan_git(&opts, &git).expect("scan_git");
        let got: Vec<_> = report
            .findings
            .iter()
            .map(|f| (f.path.clone(), f.line, f.commit.as_ref().map(|c| c.id.clone())))
            .collect();
        assert_eq!(got, vec![("a.py".to_string(), 2, Some(c.clone()))]);
    }
}

const MANIFEST: &str = "<manifest package=\"com.acme.sample\"/>\n";

fn kotlin(k: &str) -> String {
    format!("package com.acme\n\nclass App {{\n    val apiKey = \"{k}\"\n}}\n")
}

/// (path, rule, introducing commit id) of every finding.
fn rules(report: &JsonReport) -> Vec<(String, String, String)> {
    report
        .findings
        .iter()
        .map(|f| {
            let commit = f.commit.as_ref().and_then(|c| c["id"].as_str()).unwrap_or("none");
            (f.path.clone(), f.rule_id.clone(), commit.to_string())
        })
        .collect()
}

#[test]
fn one_blob_is_app_code_in_a_module_with_a_manifest_and_server_code_elsewhere() {
    let repo = Repo::new();
    let app = kotlin(&key(1810));
    let first = repo.commit(
        "sample app",
        &[
            ("sample/src/main/AndroidManifest.xml", Some(MANIFEST)),
            ("sample/src/main/java/com/acme/App.kt", Some(&app)),
        ],
    );
    // The same bytes, so the same blob, where no manifest is above it.
    let second = repo.commit("server copy", &[("server/src/main/kotlin/App.kt", Some(&app))]);
    let want = vec![
        (
            "sample/src/main/java/com/acme/App.kt".to_string(),
            "klaviyo-private-key-in-public-asset".to_string(),
            first,
        ),
        ("server/src/main/kotlin/App.kt".to_string(), "klaviyo-private-key".to_string(), second),
    ];
    assert_eq!(rules(&history(&repo, &[])), want);
    // Whatever the repository is called on the command line, or where it is run from.
    let absolute = repo.path().to_str().unwrap().to_string();
    let nested = repo.path().join("sample/src/main/java");
    let parent = repo.path().parent().unwrap();
    let name = repo.path().file_name().unwrap().to_str().unwrap().to_string();
    for (cwd, args) in [
        (repo.path(), vec!["git", "."]),
        (repo.path(), vec!["git", absolute.as_str()]),
        (nested.as_path(), vec!["git"]),
        (nested.as_path(), vec!["git", "../../.."]),
        (parent, vec!["git", name.as_str()]),
    ] {
        let mut args = args;
        args.extend(["--format", "json"]);
        let run = Run::new(pkscan_in(cwd, &args));
        run.expect_code(1);
        assert_eq!(rules(&run.json()), want, "{args:?} in {}", cwd.display());
    }
}

#[test]
fn staged_kotlin_is_app_code_when_the_index_holds_its_manifest() {
    let repo = Repo::new();
    repo.commit("readme", &[("README.md", Some("app\n"))]);
    repo.stage(&[
        ("sample/src/main/AndroidManifest.xml", Some(MANIFEST)),
        ("sample/src/main/java/App.kt", Some(&kotlin(&key(1811)))),
        ("server/App.kt", Some(&kotlin(&key(1812)))),
    ]);
    let run = repo.pkscan(&["git", "--staged", "--format", "json"]);
    run.expect_code(1);
    let found: Vec<(String, String)> =
        run.json().findings.into_iter().map(|f| (f.path, f.rule_id)).collect();
    assert_eq!(
        found,
        vec![
            (
                "sample/src/main/java/App.kt".to_string(),
                "klaviyo-private-key-in-public-asset".to_string()
            ),
            ("server/App.kt".to_string(), "klaviyo-private-key".to_string()),
        ]
    );
}

#[test]
fn a_manifest_added_after_the_code_makes_its_key_app_code_from_that_commit() {
    let repo = Repo::new();
    let app = kotlin(&key(1813));
    let code = repo.commit("code", &[("sample/src/main/java/App.kt", Some(&app))]);
    let manifest =
        repo.commit("module", &[("sample/src/main/AndroidManifest.xml", Some(MANIFEST))]);
    repo.commit("unrelated", &[("README.md", Some("sample\n"))]);
    let path = "sample/src/main/java/App.kt".to_string();
    assert_eq!(
        rules(&history(&repo, &[])),
        vec![
            (path.clone(), "klaviyo-private-key".to_string(), code),
            (path, "klaviyo-private-key-in-public-asset".to_string(), manifest),
        ]
    );
}

#[test]
fn the_walk_finds_the_same_at_any_thread_count() {
    // Enough commits that the diff is split into several runs over the threads, with the
    // same blob introduced at two paths in commits far apart, and a manifest that changes
    // the rule of code committed long before it.
    let repo = Repo::new();
    let (shared, app) = (code(&key(1820)), kotlin(&key(1821)));
    let mut want = Vec::new();
    for i in 0..24 {
        let mut files = vec![("notes.txt", Some(format!("note {i}\n")))];
        let (path, rule) = match i {
            3 => ("sample/src/main/java/App.kt", "klaviyo-private-key"),
            5 => ("dist/app.js", "klaviyo-private-key-in-public-asset"),
            14 => ("sample/src/main/AndroidManifest.xml", "klaviyo-private-key-in-public-asset"),
            19 => ("server/app.js", "klaviyo-private-key"),
            _ => ("", ""),
        };
        match i {
            3 => files.push((path, Some(app.clone()))),
            5 | 19 => files.push((path, Some(shared.clone()))),
            14 => files.push((path, Some(MANIFEST.to_string()))),
            _ => {}
        }
        let files: Vec<(&str, Option<&str>)> =
            files.iter().map(|(p, c)| (*p, c.as_deref())).collect();
        let id = repo.commit(&format!("commit {i}"), &files);
        if !rule.is_empty() {
            let path = if i == 14 { "sample/src/main/java/App.kt" } else { path };
            want.push((path.to_string(), rule.to_string(), id));
        }
    }
    want.sort();
    let one = history(&repo, &["--threads", "1"]);
    let mut got = rules(&one);
    got.sort();
    assert_eq!(got, want);
    // notes.txt 24 times, App.kt, the manifest, and the blob at two paths once.
    assert_eq!(one.summary.files_scanned, 24 + 3);
    for threads in ["2", "3", "8"] {
        let many = history(&repo, &["--threads", threads]);
        assert_eq!(many.findings, one.findings, "--threads {threads}");
        assert_eq!(many.keys, one.keys, "--threads {threads}");
        assert_eq!(many.summary.files_scanned, one.summary.files_scanned, "--threads {threads}");
        assert_eq!(many.summary.bytes_scanned, one.summary.bytes_scanned, "--threads {threads}");
    }
}
