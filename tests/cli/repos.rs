//! `pkscan repos` and `pkscan merge` over repositories built here: local paths and
//! `file://` mirrors, the repository on findings and keys, errors per repository, no
//! configuration read from audited repositories, and the union of shards.

use std::path::Path;

use serde_json::Value;

use crate::git::{code, git_in, sha256_hex};
use crate::{key, pkscan_in, Run, Tree};

/// A folder of repositories `r0`, `r1`…: repository `i` commits `files(i)` once.
fn org(count: usize, files: impl Fn(usize) -> Vec<(String, String)>) -> Tree {
    let tree = Tree::new(&[]);
    for i in 0..count {
        let dir = tree.path().join(format!("r{i}"));
        std::fs::create_dir_all(&dir).expect("create repo dir");
        git_in(&dir, &["init", "-q", "-b", "main"], 0);
        for (path, content) in files(i) {
            let file = dir.join(&path);
            std::fs::create_dir_all(file.parent().expect("a parent")).expect("create dirs");
            std::fs::write(file, content).expect("write file");
        }
        git_in(&dir, &["add", "-A"], 1);
        git_in(&dir, &["commit", "-q", "--allow-empty", "-m", &format!("repo {i}")], 1);
    }
    tree
}

fn repos(cwd: &Path, args: &[&str]) -> Run {
    let mut all = vec!["repos", "--format", "json"];
    all.extend_from_slice(args);
    Run::new(pkscan_in(cwd, &all))
}

/// The report as JSON, without what differs between equal runs.
fn comparable(stdout: &[u8]) -> Value {
    let mut value: Value = serde_json::from_slice(stdout).expect("a JSON report");
    value["summary"]["elapsed_ms"] = Value::from(0);
    value
}

#[test]
fn findings_name_their_repository_and_a_shared_key_is_one_key() {
    let shared = key(1);
    let tree = org(3, |i| {
        let mut files = vec![("app/config.py".to_string(), code(&shared))];
        if i == 1 {
            files.push(("settings.py".to_string(), code(&key(2))));
        }
        files
    });
    let mirror = tree.path().join("mirror.git");
    git_in(tree.path(), &["clone", "-q", "--mirror", "r2", "mirror.git"], 0);
    let url = format!("file://{}/", mirror.display());
    let run = repos(tree.path(), &["r0", "r1", &url]);
    run.expect_code(1);
    let report = run.json();
    let named = format!("file://{}", tree.path().join("mirror").display());
    let places: Vec<(Option<String>, String, String)> = report
        .findings
        .iter()
        .map(|f| (f.repository.clone(), f.path.clone(), f.secret_sha256.clone()))
        .collect();
    let at =
        |repo: &str, path: &str, k: &str| (Some(repo.to_string()), path.to_string(), sha256_hex(k));
    assert_eq!(
        places,
        vec![
            at(&named, "app/config.py", &shared),
            at("r0", "app/config.py", &shared),
            at("r1", "app/config.py", &shared),
            at("r1", "settings.py", &key(2)),
        ]
    );
    let fingerprints: std::collections::HashSet<_> =
        report.findings[..3].iter().map(|f| f.fingerprint.clone()).collect();
    assert_eq!(fingerprints.len(), 3, "the repository is part of the fingerprint");
    let one = report.keys.iter().find(|k| k.secret_sha256 == sha256_hex(&shared)).expect("the key");
    assert_eq!(one.repositories, Some(vec![named.clone(), "r0".into(), "r1".into()]));
    assert_eq!(one.findings.len(), 3);
    assert_eq!(one.in_head, Some(true));
    assert_eq!(
        one.refs,
        Some(vec![
            format!("{named}:refs/heads/main"),
            "r0:refs/heads/main".into(),
            "r1:refs/heads/main".into()
        ])
    );
    assert_eq!(report.keys.len(), 2);
    assert_eq!(report.summary.files_scanned, 4);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
}

#[test]
fn a_repository_that_fails_is_an_error_and_the_rest_go_on() {
    let tree = org(1, |_| vec![("a.py".to_string(), code(&key(3)))]);
    std::fs::create_dir_all(tree.path().join("plain")).expect("mkdir");
    let run = repos(tree.path(), &["r0", "missing", "plain"]);
    run.expect_code(1);
    let report = run.json();
    assert_eq!(report.findings.len(), 1);
    let failed: Vec<&str> = report.errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(failed, ["missing", "plain"]);
    assert!(report.errors[0].message.contains("no such file or directory"), "{:?}", report.errors);
    assert!(report.errors[1].message.contains("not in a git repository"), "{:?}", report.errors);
    repos(tree.path(), &["r0", "missing", "--strict"]).expect_code(2);
    let none = repos(tree.path(), &["missing", "plain"]);
    none.expect_code(2);
    assert_eq!(none.json().errors.len(), 2);
    assert!(
        none.stderr().contains("none of the 2 repositories could be scanned"),
        "{}",
        none.stderr()
    );
}

#[test]
fn an_audited_repository_configures_nothing() {
    let tree = org(1, |_| {
        vec![
            ("a.py".to_string(), code(&key(4))),
            (".pkscan.toml".to_string(), "[allow]\npaths = [\"**\"]\n".to_string()),
        ]
    });
    // In the repository itself, `git` honours its file; `repos` does not.
    Run::new(pkscan_in(&tree.path().join("r0"), &["git"])).expect_code(0);
    let run = repos(tree.path(), &["r0"]);
    run.expect_code(1);
    assert_eq!(run.json().findings.len(), 1);
    std::fs::write(tree.path().join("audit.toml"), "[allow]\npaths = [\"a.py\"]\n").expect("write");
    let allowed = repos(tree.path(), &["r0", "--config", "audit.toml"]);
    allowed.expect_code(0);
    assert_eq!(allowed.json().summary.allowed, 1);
}

#[test]
fn sources_come_from_stdin_and_a_list_file_and_jobs_do_not_change_the_report() {
    let tree = org(4, |i| vec![(format!("k{i}.py"), code(&key(10 + i as u64)))]);
    std::fs::write(tree.path().join("list.txt"), "# the org\nr0\n\nr1\n").expect("write");
    let one = repos(tree.path(), &["r2", "r3", "--from", "list.txt", "--jobs", "1"]);
    let three = repos(tree.path(), &["r3", "r2", "r1", "r0", "--jobs", "3"]);
    one.expect_code(1);
    assert_eq!(comparable(&one.output.stdout), comparable(&three.output.stdout));
    let piped = assert_cmd::Command::cargo_bin("pkscan")
        .expect("built")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .current_dir(tree.path())
        .args(["repos", "--format", "json", "-", "r3"])
        .write_stdin("r1\nr0\n# a comment\nr2\n")
        .output()
        .expect("pkscan runs");
    assert_eq!(comparable(&piped.stdout), comparable(&one.output.stdout));
    assert_eq!(one.json().findings.len(), 4);
}

#[test]
fn merged_shards_equal_the_unsharded_run() {
    let tree = org(9, |i| {
        let mut files = vec![(format!("src/k{i}.py"), code(&key(20 + (i % 4) as u64)))];
        if i % 3 == 0 {
            files.push(("dist/app.js".to_string(), format!("var k = \"{}\";\n", key(99))));
        }
        files
    });
    let names: Vec<String> = (0..9).map(|i| format!("r{i}")).chain(["gone".to_string()]).collect();
    let args: Vec<&str> = names.iter().map(String::as_str).collect();
    let whole = repos(tree.path(), &args);
    whole.expect_code(1);
    let expected = comparable(&whole.output.stdout);
    assert_eq!(expected["keys"].as_array().map(Vec::len), Some(5));
    for n in [1, 3, 7] {
        let mut outputs = Vec::new();
        for k in 1..=n {
            let shard = format!("{k}/{n}");
            let output = format!("shard-{k}-of-{n}.json");
            let mut sharded = args.clone();
            sharded.extend(["--shard", &shard, "--output", &output]);
            let run = repos(tree.path(), &sharded);
            let report: Value = serde_json::from_slice(
                &std::fs::read(tree.path().join(&output)).expect("the shard's report"),
            )
            .expect("JSON");
            // A shard holding only the missing repository could scan none: exit 2.
            let only_failed =
                report["summary"]["files_scanned"] == 0 && report["summary"]["errors"] == 1;
            let found = report["summary"]["findings"] != 0;
            run.expect_code(if only_failed {
                2
            } else if found {
                1
            } else {
                0
            });
            outputs.push(output);
        }
        let mut merge = vec!["merge", "--format", "json"];
        merge.extend(outputs.iter().map(String::as_str));
        let merged = Run::new(pkscan_in(tree.path(), &merge));
        merged.expect_code(1);
        assert_eq!(comparable(&merged.output.stdout), expected, "{n} shards");
        merge[3..].reverse();
        let reversed = Run::new(pkscan_in(tree.path(), &merge));
        assert_eq!(comparable(&reversed.output.stdout), expected, "{n} shards, reversed");
    }
}

#[test]
fn a_public_key_seen_only_in_a_report_without_keys_reaches_the_merged_report() {
    let tree = org(2, |i| match i {
        0 => vec![("src/k.py".to_string(), code(&key(40)))],
        _ => vec![(
            "site/index.html".to_string(),
            "<script src=\"//static.klaviyo.com/onsite/js/klaviyo.js?company_id=AbC123\">\
             </script>\n"
                .to_string(),
        )],
    });
    let whole = repos(tree.path(), &["r0", "r1"]);
    whole.expect_code(1);
    let expected = comparable(&whole.output.stdout);
    assert_eq!(expected["keys"][0]["public_api_key"]["id"], "AbC123", "one run sees it");
    repos(tree.path(), &["r0", "--output", "keys.json"]).expect_code(1);
    repos(tree.path(), &["r1", "--output", "public.json"]).expect_code(0);
    let public: Value = serde_json::from_slice(
        &std::fs::read(tree.path().join("public.json")).expect("the report"),
    )
    .expect("JSON");
    assert_eq!(public["keys"], Value::Array(Vec::new()));
    assert_eq!(public["public_keys_seen"][0]["id"], "AbC123", "a report without keys has them");
    let merged = Run::new(pkscan_in(
        tree.path(),
        &["merge", "--format", "json", "keys.json", "public.json"],
    ));
    merged.expect_code(1);
    assert_eq!(comparable(&merged.output.stdout), expected);
}

#[test]
fn merge_refuses_what_is_not_a_pkscan_report_of_this_version() {
    let tree = org(1, |_| vec![("a.py".to_string(), code(&key(5)))]);
    repos(tree.path(), &["r0", "--output", "good.json"]).expect_code(1);
    let good = std::fs::read_to_string(tree.path().join("good.json")).expect("report");
    let older = good.replace(
        &format!("\"version\": \"{}\"", env!("CARGO_PKG_VERSION")),
        "\"version\": \"0.0.1\"",
    );
    assert_ne!(older, good);
    std::fs::write(tree.path().join("older.json"), older).expect("write");
    std::fs::write(tree.path().join("sarif.json"), r#"{"version":"2.1.0","runs":[]}"#)
        .expect("write");
    let run = |args: &[&str]| Run::new(pkscan_in(tree.path(), args));
    let not_ours = run(&["merge", "good.json", "sarif.json"]);
    not_ours.expect_code(2);
    assert!(
        not_ours.stderr().contains("sarif.json is not a pkscan JSON report"),
        "{}",
        not_ours.stderr()
    );
    let mixed = run(&["merge", "good.json", "older.json"]);
    mixed.expect_code(2);
    assert!(
        mixed.stderr().contains("older.json was written by pkscan 0.0.1"),
        "{}",
        mixed.stderr()
    );
    let text = run(&["merge", "good.json", "--format", "sarif"]);
    text.expect_code(1);
    assert!(!text.stdout().contains(&key(5)), "the merged SARIF stays redacted");
}

/// A test server from `support/` (git smart HTTP, or the GitHub API stub), stopped on drop.
struct GitServer {
    child: std::process::Child,
    port: u16,
    log: std::path::PathBuf,
}

impl GitServer {
    fn start(root: &Path, log: std::path::PathBuf, token: &str) -> GitServer {
        let root = root.to_str().expect("utf-8").to_string();
        let shown = log.to_str().expect("utf-8").to_string();
        GitServer::script("git_http.py", &[&root, &shown], log, token)
    }

    /// Runs `support/NAME ARGS…`, whose requests are logged to `log`.
    fn script(name: &str, args: &[&str], log: std::path::PathBuf, token: &str) -> GitServer {
        use std::io::BufRead;
        let script = crate::project_root().join("tests/cli/support").join(name);
        let mut child = std::process::Command::new("python3")
            .arg(script)
            .args(args)
            .env("GIT_TEST_TOKEN", token)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("piped");
        std::io::BufReader::new(stdout).read_line(&mut line).expect("the port");
        GitServer { child, port: line.trim().parse().expect("a port"), log }
    }

    fn requests(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines().map(str::to_string).collect()
    }
}

impl Drop for GitServer {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// Every other process's command line, sampled now.
fn command_lines() -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|bytes| String::from_utf8_lossy(&bytes).replace('\0', " "))
        .collect()
}

#[test]
fn clones_over_http_with_a_token_that_never_shows() {
    let token = format!("tok_{}", &key(77)[3..]);
    let tree = org(2, |i| vec![(format!("k{i}.py"), code(&key(30 + i as u64)))]);
    let root = tree.path().join("served");
    std::fs::create_dir_all(&root).expect("mkdir");
    for (repo, name) in [("r0", "shop.git"), ("r1", "app.git")] {
        git_in(
            tree.path(),
            &["clone", "-q", "--bare", repo, root.join(name).to_str().expect("utf-8")],
            0,
        );
    }
    let server = GitServer::start(&root, tree.path().join("requests.log"), &token);
    let base = format!("http://127.0.0.1:{}", server.port);
    let sources = [
        format!("{base}/public/shop.git"),
        format!("http://x-access-token:{token}@127.0.0.1:{}/private/app.git", server.port),
        format!("http://bot:{token}@127.0.0.1:{}/broken/shop.git", server.port),
    ];
    // Given in a file, so that pkscan's own command line holds no token either.
    std::fs::write(tree.path().join("sources.txt"), sources.join("\n")).expect("write");
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("pkscan"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .current_dir(tree.path())
        .args(["repos", "--format", "json", "--jobs", "3", "--from", "sources.txt"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().expect("pkscan runs");
    let pid = child.id();
    let mut clones_seen = 0;
    while std::fs::metadata(format!("/proc/{pid}/cmdline")).is_ok()
        && std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "))
    {
        for line in command_lines() {
            assert!(!line.contains(&token), "a command line holds the token: {line}");
            clones_seen += usize::from(line.contains("clone --mirror"));
        }
    }
    let run = Run::new(child.wait_with_output().expect("pkscan ends"));
    assert!(clones_seen > 0, "no clone was running while sampled");
    run.expect_code(1);
    assert!(!run.stdout().contains(&token) && !run.stderr().contains(&token), "{}", run.stderr());
    let report = run.json();
    let found: Vec<(String, String)> = report
        .findings
        .iter()
        .map(|f| (f.repository.clone().expect("a repository"), f.secret_sha256.clone()))
        .collect();
    assert_eq!(
        found,
        vec![
            (format!("{base}/private/app"), sha256_hex(&key(31))),
            (format!("{base}/public/shop"), sha256_hex(&key(30))),
        ]
    );
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert_eq!(report.errors[0].path, format!("{base}/broken/shop"));
    assert!(report.errors[0].message.starts_with("git could not clone it"), "{:?}", report.errors);
    let sent: Vec<String> =
        server.requests().into_iter().filter(|r| r.ends_with("auth=yes")).collect();
    assert!(!sent.is_empty());
    assert!(sent.iter().all(|r| r.contains(" /private/app.git/")), "{sent:?}");
}

#[test]
fn kept_clones_are_fetched_into_on_the_next_run() {
    let tree = org(1, |_| vec![("a.py".to_string(), code(&key(40)))]);
    let root = tree.path().join("served");
    std::fs::create_dir_all(&root).expect("mkdir");
    git_in(
        tree.path(),
        &["clone", "-q", "--bare", "r0", root.join("shop.git").to_str().expect("utf-8")],
        0,
    );
    let server = GitServer::start(&root, tree.path().join("requests.log"), "unused");
    let url = format!("http://127.0.0.1:{}/public/shop.git", server.port);
    let first = repos(tree.path(), &[&url, "--keep-clones", "cache"]);
    first.expect_code(1);
    assert_eq!(first.json().findings.len(), 1);
    let kept: Vec<_> = std::fs::read_dir(tree.path().join("cache")).expect("the cache").collect();
    assert_eq!(kept.len(), 1);
    let r0 = tree.path().join("r0");
    std::fs::write(r0.join("b.py"), code(&key(41))).expect("write");
    git_in(&r0, &["add", "-A"], 2);
    git_in(&r0, &["commit", "-q", "-m", "more"], 2);
    git_in(&r0, &["push", "-q", root.join("shop.git").to_str().expect("utf-8"), "main"], 2);
    let second = repos(tree.path(), &[&url, "--keep-clones", "cache"]);
    second.expect_code(1);
    assert_eq!(second.json().findings.len(), 2);
    let clones = server.requests().iter().filter(|r| r.starts_with("GET ")).count();
    assert_eq!(clones, 2, "one clone, then one fetch: {:?}", server.requests());
}

#[test]
fn an_organisation_is_listed_page_by_page_and_its_token_stays_with_the_api() {
    let token = format!("ghp_{}", &key(78)[3..]);
    let names = ["shop", "app", "site", "api", "web"];
    let tree = org(names.len(), |i| vec![(format!("k{i}.py"), code(&key(50 + i as u64)))]);
    let root = tree.path().join("served");
    std::fs::create_dir_all(&root).expect("mkdir");
    for (i, name) in names.iter().enumerate() {
        let dest = root.join(format!("{name}.git"));
        git_in(
            tree.path(),
            &["clone", "-q", "--bare", &format!("r{i}"), dest.to_str().expect("utf-8")],
            0,
        );
    }
    let git = GitServer::start(&root, tree.path().join("git.log"), "unused");
    let git_base = format!("http://127.0.0.1:{}", git.port);
    let api_log = tree.path().join("api.log");
    let shown_log = api_log.to_str().expect("utf-8").to_string();
    let api = GitServer::script("github_api.py", &[&shown_log, &git_base], api_log.clone(), "-");
    let api_base = format!("http://127.0.0.1:{}", api.port);
    let run = |org: &str, extra: &[&str]| {
        let mut cmd = assert_cmd::Command::cargo_bin("pkscan").expect("built");
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("GITHUB_TOKEN", &token)
            .current_dir(tree.path())
            .args([
                "repos",
                "--format",
                "json",
                "--github-org",
                org,
                "--github-api-base",
                &api_base,
            ])
            .args(extra);
        Run::new(cmd.output().expect("pkscan runs"))
    };
    let listed = run("acme", &["--skip-forks", "--skip-archived"]);
    listed.expect_code(1);
    assert!(!listed.stdout().contains(&token) && !listed.stderr().contains(&token));
    let report = listed.json();
    let repositories: Vec<String> =
        report.findings.iter().map(|f| f.repository.clone().expect("a repository")).collect();
    assert_eq!(repositories, ["acme/api", "acme/app", "acme/shop", "acme/site", "acme/web"]);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let bearer = format!("auth=Bearer {token}");
    let page = |n: u32| format!("/orgs/acme/repos?per_page=100&type=all&page={n} {bearer}");
    assert_eq!(
        std::fs::read_to_string(&api_log).expect("the API's log").lines().collect::<Vec<_>>(),
        [format!("/orgs/acme/repos?per_page=100&type=all {bearer}"), page(2), page(2), page(3)]
    );
    assert!(git.requests().iter().all(|r| r.ends_with("auth=no")), "{:?}", git.requests());

    let all = run("acme", &[]);
    all.expect_code(1);
    let failed: Vec<String> = all.json().errors.into_iter().map(|e| e.path).collect();
    assert_eq!(failed, ["acme/forked", "acme/old"]);

    let limited = run("limited", &[]);
    limited.expect_code(2);
    assert!(
        limited.stderr().contains("GitHub's API rate limit is reached; try again after 20"),
        "{}",
        limited.stderr()
    );
}

#[test]
fn text_and_sarif_name_the_repository_of_each_finding() {
    let tree = org(2, |_| vec![("app/config.py".to_string(), code(&key(60)))]);
    let text = Run::new(pkscan_in(tree.path(), &["repos", "r0", "r1", "--color", "never"]));
    text.expect_code(1);
    let headers: Vec<&str> = text
        .output
        .stdout
        .split(|&b| b == b'\n')
        .filter_map(|l| std::str::from_utf8(l).ok())
        .filter(|l| l.ends_with("app/config.py"))
        .collect();
    assert_eq!(headers, ["r0: app/config.py", "r1: app/config.py"], "{}", text.stdout());
    let sarif = Run::new(pkscan_in(tree.path(), &["repos", "r0", "r1", "--format", "sarif"]));
    sarif.expect_code(1);
    let value: Value = serde_json::from_slice(&sarif.output.stdout).expect("SARIF is JSON");
    let repositories: Vec<&str> = value["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["properties"]["repository"].as_str().expect("a repository"))
        .collect();
    assert_eq!(repositories, ["r0", "r1"]);
}

#[test]
fn a_repos_report_is_a_baseline_for_the_next_run() {
    let tree = org(2, |i| vec![("a.py".to_string(), code(&key(70 + i as u64)))]);
    repos(tree.path(), &["r0", "r1", "--output", "base.json"]).expect_code(1);
    let again = repos(tree.path(), &["r0", "r1", "--baseline", "base.json"]);
    again.expect_code(0);
    let report = again.json();
    assert_eq!((report.findings.len(), report.keys.len(), report.summary.baselined), (0, 0, 2));
    // The fingerprint holds the repository: r1's finding does not cover the same key in r2.
    let r1 = tree.path().join("r1");
    std::fs::write(r1.join("b.py"), code(&key(70))).expect("write");
    git_in(&r1, &["add", "-A"], 2);
    git_in(&r1, &["commit", "-q", "-m", "copy"], 2);
    let copied = repos(tree.path(), &["r0", "r1", "--baseline", "base.json"]);
    copied.expect_code(1);
    let report = copied.json();
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.findings[0].path, "b.py");
    assert_eq!(report.keys[0].repositories, Some(vec!["r1".to_string()]));
}

#[test]
#[cfg(unix)] // the stand-in for ssh is a shell script
fn ssh_sources_clone_through_the_users_ssh_command() {
    // A stand-in for ssh: git runs it as `COMMAND HOST 'git-upload-pack PATH'` and talks
    // to that command's stdio, which here is git's own upload-pack on this machine.
    let tree = org(2, |i| vec![(format!("k{i}.py"), code(&key(40 + i as u64)))]);
    let log = tree.path().join("ssh.log");
    let ssh = tree.path().join("fake-ssh");
    let script =
        format!("#!/bin/sh\necho \"$1\" >> '{}'\nshift\nexec sh -c \"$*\"\n", log.display());
    std::fs::write(&ssh, script).expect("write the fake ssh");
    std::fs::set_permissions(&ssh, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("make it executable");
    let scp = format!("git@gitserver.example:{}", tree.path().join("r0").display());
    let url = format!("ssh://git@gitserver.example{}", tree.path().join("r1").display());
    let run = Run::new(
        assert_cmd::Command::cargo_bin("pkscan")
            .expect("built")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("GIT_SSH_COMMAND", &ssh)
            .env("GIT_SSH_VARIANT", "simple")
            .current_dir(tree.path())
            .args(["repos", "--format", "json", &scp, &url])
            .output()
            .expect("pkscan runs"),
    );
    run.expect_code(1);
    let report = run.json();
    let repositories: Vec<_> =
        report.findings.iter().map(|f| f.repository.clone().unwrap_or_default()).collect();
    let named = |r: &str| format!("ssh://gitserver.example{}", tree.path().join(r).display());
    assert_eq!(repositories, vec![named("r0"), named("r1")]);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let hosts = std::fs::read_to_string(&log).expect("the fake ssh ran");
    assert_eq!(hosts, "git@gitserver.example\ngit@gitserver.example\n");
}
