//! `pkscan scan` on the fixture corpus and on temp trees: findings, rules, locations,
//! exit codes, redaction, determinism and the output formats.

use std::collections::BTreeSet;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::{key, newer_key, pkscan_in, project_root, Run, Tree};

#[derive(Debug, Deserialize)]
struct Expected {
    path: String,
    line: u64,
    column: u64,
    end_column: u64,
    rule_id: String,
    secret: String,
    decoded: Vec<String>,
    #[serde(default)]
    original: Option<serde_json::Value>,
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn scan_fixtures(extra: &[&str]) -> Run {
    let mut args = vec![
        "scan",
        "fixtures/site",
        "fixtures/app",
        "fixtures/decoys",
        "fixtures/js",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    Run::new(pkscan_in(project_root(), &args))
}

#[test]
fn fixture_corpus_gives_exactly_the_expected_findings() {
    let text = std::fs::read_to_string(project_root().join("fixtures/expected.json")).unwrap();
    let expected: Vec<Expected> = serde_json::from_str(&text).unwrap();
    let run = scan_fixtures(&[]);
    run.expect_code(1);
    let report = run.json();
    let got: Vec<_> = report
        .findings
        .iter()
        .map(|f| {
            (
                f.path.clone(),
                f.line,
                f.column,
                f.end_column,
                f.rule_id.clone(),
                f.secret_sha256.clone(),
                f.decoded.clone(),
                f.original.clone(),
            )
        })
        .collect();
    let want: Vec<_> = expected
        .iter()
        .map(|e| {
            (
                e.path.clone(),
                e.line,
                e.column,
                e.end_column,
                e.rule_id.clone(),
                sha256_hex(&e.secret),
                e.decoded.clone(),
                e.original.clone(),
            )
        })
        .collect();
    assert_eq!(got, want);
    assert_eq!(report.summary.allowed, 1, "the pkscan:allow line");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
}

#[test]
fn decoys_give_nothing() {
    let run = Run::new(pkscan_in(project_root(), &["scan", "fixtures/decoys", "--format", "json"]));
    run.expect_code(0);
    assert_eq!(run.json().findings, vec![]);
}

#[test]
fn no_full_key_in_any_format_unless_shown() {
    let text = std::fs::read_to_string(project_root().join("fixtures/expected.json")).unwrap();
    let expected: Vec<Expected> = serde_json::from_str(&text).unwrap();
    for format in ["text", "json", "sarif", "github"] {
        let run = Run::new(pkscan_in(
            project_root(),
            &["scan", "fixtures/site", "fixtures/app", "--format", format, "--color", "always"],
        ));
        run.expect_code(1);
        for e in &expected {
            assert!(!run.stdout().contains(&e.secret), "{format} shows {}", &e.secret[..8]);
            assert!(!run.stderr().contains(&e.secret), "{format} stderr shows {}", &e.secret[..8]);
        }
    }
    let shown = Run::new(pkscan_in(
        project_root(),
        &["scan", "fixtures/site", "--format", "json", "--show-secrets"],
    ));
    let secrets: BTreeSet<String> = shown.json().findings.into_iter().map(|f| f.secret).collect();
    let site: BTreeSet<String> = expected
        .iter()
        .filter(|e| e.path.starts_with("fixtures/site/"))
        .map(|e| e.secret.clone())
        .collect();
    assert_eq!(secrets, site);
}

#[test]
fn output_is_identical_at_any_thread_count() {
    let strip = |run: Run| {
        let mut value: serde_json::Value = serde_json::from_slice(&run.output.stdout).unwrap();
        value["summary"]["elapsed_ms"] = 0.into();
        value
    };
    let one = strip(scan_fixtures(&["--threads", "1"]));
    let two = strip(scan_fixtures(&["--threads", "2"]));
    let eight = strip(scan_fixtures(&["--threads", "8"]));
    assert_eq!(one, two);
    assert_eq!(one, eight);
}

/// Files of every size take one of three read paths (read whole, mapped, streamed): the
/// report must not depend on which.
#[test]
fn mapped_read_whole_and_streamed_files_give_the_same_report() {
    let tree = Tree::new(&[]);
    for (name, size) in [("small.js", 3_000usize), ("mid.js", 3 << 20), ("big.min.js", 9 << 20)] {
        let mut text = format!("const a = '{}';\n", key(size as u64)).into_bytes();
        text.resize(size, b'x');
        text.extend_from_slice(format!("\nklaviyo.js?company_id={}\n", key(7)).as_bytes());
        tree.write(name, &text);
    }
    let strip = |run: &Run| {
        let mut value: serde_json::Value = serde_json::from_slice(&run.output.stdout).unwrap();
        value["summary"]["elapsed_ms"] = 0.into();
        value
    };
    let mapped = tree.pkscan(&["scan", "--format", "json", "."]);
    mapped.expect_code(1);
    assert_eq!(mapped.json().findings.len(), 6);
    assert_eq!(mapped.json().summary.bytes_scanned, 3_000 + (3 << 20) + (9 << 20) + 3 * 61);
    let read = tree.pkscan(&["scan", "--format", "json", "--no-mmap", "."]);
    assert_eq!(strip(&mapped), strip(&read));
}

#[test]
fn exit_codes_follow_fail_on() {
    let tree = Tree::new(&[("server/.env", &format!("KLAVIYO_PRIVATE_KEY={}\n", key(1)))]);
    tree.pkscan(&["scan"]).expect_code(1);
    tree.pkscan(&["scan", "--fail-on", "high"]).expect_code(1);
    tree.pkscan(&["scan", "--fail-on", "critical"]).expect_code(0);
    let clean = Tree::new(&[("a.txt", "nothing here")]);
    clean.pkscan(&["scan"]).expect_code(0);
    let placeholder = Tree::new(&[("docs.md", &format!("pk_{}", "x".repeat(34)))]);
    placeholder.pkscan(&["scan"]).expect_code(0);
    placeholder.pkscan(&["scan", "--fail-on", "low"]).expect_code(1);
}

#[test]
fn a_missing_root_is_exit_2_with_a_message() {
    let tree = Tree::new(&[]);
    let run = tree.pkscan(&["scan", "does-not-exist"]);
    run.expect_code(2);
    assert!(run.stderr().starts_with("pkscan: cannot read does-not-exist"), "{}", run.stderr());
    tree.pkscan(&["scan", "--format", "yaml"]).expect_code(2);
}

#[test]
fn paths_are_as_named_without_leading_dot_slash() {
    let tree = Tree::new(&[("src/app.py", &format!("k = '{}'\n", key(2)))]);
    for args in [&["scan"][..], &["scan", "."], &["scan", "./"], &["scan", "./src"]] {
        let mut all = args.to_vec();
        all.extend(["--format", "json"]);
        assert_eq!(tree.pkscan(&all).json().findings[0].path, "src/app.py", "{args:?}");
    }
    let absolute = tree.path().join("src").display().to_string();
    let report = tree.pkscan(&["scan", &absolute, "--format", "json"]).json();
    assert_eq!(report.findings[0].path, format!("{absolute}/app.py"));
}

#[test]
fn fingerprints_ignore_how_the_root_was_named_and_where_the_line_is() {
    let tree = Tree::new(&[("src/app.py", &format!("k = '{}'\n", key(3)))]);
    std::fs::create_dir(tree.path().join(".git")).unwrap();
    let relative = tree.pkscan(&["scan", "--format", "json"]).json();
    let absolute =
        tree.pkscan(&["scan", &tree.path().display().to_string(), "--format", "json"]).json();
    tree.write("src/app.py", format!("\n\n# moved\nk = '{}'\n", key(3)).as_bytes());
    let moved = tree.pkscan(&["scan", "src", "--format", "json"]).json();
    assert_eq!(relative.findings[0].fingerprint, absolute.findings[0].fingerprint);
    assert_eq!(relative.findings[0].fingerprint, moved.findings[0].fingerprint);
    assert_eq!(moved.findings[0].line, 4);
}

#[test]
fn stdin_is_scanned_as_stdin() {
    let mut cmd = assert_cmd::Command::cargo_bin("pkscan").unwrap();
    let output = cmd
        .args(["scan", "-", "--format", "json"])
        .write_stdin(format!("company_id={}\n", key(4)))
        .output()
        .unwrap();
    let report = Run::new(output).json();
    assert_eq!(
        report.places(),
        vec![("<stdin>".into(), 1, 12, "klaviyo-private-key-as-company-id".into())]
    );
}

#[test]
fn hidden_and_gitignored_files_are_scanned_but_not_dot_git() {
    let tree = Tree::new(&[
        (".gitignore", "dist/\n"),
        ("dist/app.js", &format!("x=\"{}\"", key(5))),
        (".hidden/config", &format!("k={}", key(6))),
        (".git/config", &format!("k={}", key(7))),
        ("vendor/lib.js", &format!("k=\"{}\"", key(8))),
    ]);
    let paths = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["scan", "--format", "json"];
        all.extend_from_slice(args);
        tree.pkscan(&all).json().findings.into_iter().map(|f| f.path).collect()
    };
    assert_eq!(paths(&[]), vec![".hidden/config", "dist/app.js", "vendor/lib.js"]);
    assert_eq!(paths(&["--gitignore"]), vec![".hidden/config", "vendor/lib.js"]);
    assert_eq!(paths(&["--exclude", "vendor/**", "--exclude", "*.js"]), vec![".hidden/config"]);
}

#[test]
fn both_key_shapes_and_their_rules() {
    let tree = Tree::new(&[
        ("public/index.html", &format!("<p>{}</p>", newer_key(9))),
        ("app/server.rb", &format!("KEY = '{}'", newer_key(10))),
    ]);
    let report = tree.pkscan(&["scan", "--format", "json"]).json();
    assert_eq!(
        report.places(),
        vec![
            ("app/server.rb".into(), 1, 8, "klaviyo-private-key".into()),
            ("public/index.html".into(), 1, 4, "klaviyo-private-key-in-public-asset".into()),
        ]
    );
    assert_eq!(report.findings[0].end_column, 8 + 44);
}

#[test]
#[cfg(unix)] // mkfifo
fn fifos_are_skipped_not_opened() {
    let tree = Tree::new(&[("a.txt", &key(11))]);
    let fifo = tree.path().join("pipe");
    let status = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(status.success());
    let report = tree.pkscan(&["scan", "--format", "json"]).json();
    assert_eq!(report.summary.skipped, 1);
    assert_eq!(report.findings.len(), 1);
}

#[test]
fn the_library_scans_without_the_binary() {
    let tree = Tree::new(&[("site/index.html", &format!("klaviyo.js?company_id={}", key(12)))]);
    let opts =
        pkscan::Options { paths: vec![tree.path().join("site")], ..pkscan::Options::default() };
    let report = pkscan::scan(&opts).unwrap();
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.findings[0].rule_id, "klaviyo-private-key-as-company-id");
    assert_eq!(report.findings[0].column, 23);
}

#[test]
fn rules_lists_every_rule() {
    let run = Run::new(pkscan_in(project_root(), &["rules", "--format", "json"]));
    run.expect_code(0);
    let rules: Vec<serde_json::Value> = serde_json::from_slice(&run.output.stdout).unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "klaviyo-private-key-as-company-id",
            "klaviyo-private-key-as-token",
            "klaviyo-private-key-as-account",
            "klaviyo-private-key-in-public-asset",
            "klaviyo-private-key",
            "klaviyo-placeholder-key"
        ]
    );
    let text = Run::new(pkscan_in(project_root(), &["rules"]));
    assert!(text.stdout().contains("Delete the exposed key"));
}

#[test]
fn output_file_is_written_and_stdout_stays_empty() {
    let tree = Tree::new(&[("a/.env", &format!("K={}", key(13)))]);
    let run = tree.pkscan(&["scan", "a", "--format", "json", "--output", "report.json"]);
    run.expect_code(1);
    assert_eq!(run.stdout(), "");
    let text = std::fs::read_to_string(tree.path().join("report.json")).unwrap();
    assert!(text.contains("\"findings\""));
    let leftovers: Vec<_> = std::fs::read_dir(tree.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn sarif_is_typed_sarif_with_rules_and_fingerprints() {
    let run = Run::new(pkscan_in(
        project_root(),
        &["scan", "fixtures/site", "fixtures/app", "--format", "sarif"],
    ));
    run.expect_code(1);
    let sarif: serde_sarif::sarif::Sarif =
        serde_json::from_slice(&run.output.stdout).expect("typed SARIF");
    assert_eq!(sarif.version.to_string().trim_matches('"'), "2.1.0");
    let value: serde_json::Value = serde_json::from_slice(&run.output.stdout).unwrap();
    let run0 = &value["runs"][0];
    assert_eq!(run0["tool"]["driver"]["rules"].as_array().unwrap().len(), 6);
    for result in run0["results"].as_array().unwrap() {
        assert!(
            result["partialFingerprints"]["primaryLocationLineHash"].as_str().unwrap().len() == 64
        );
        assert_eq!(
            result["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"],
            "%SRCROOT%"
        );
    }
    let validator = project_root().join("../shared/tools/validate-sarif.sh");
    if validator.exists() {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), &run.output.stdout).unwrap();
        let check =
            std::process::Command::new("bash").arg(&validator).arg(file.path()).output().unwrap();
        assert!(
            check.status.success(),
            "validate-sarif.sh failed:\n{}\n{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );
    }
}

#[test]
fn github_annotations_put_the_most_severe_first() {
    let tree = Tree::new(&[
        ("a/docs.md", &format!("pk_{}", "x".repeat(34))),
        ("b/.env", &format!("K={}", key(14))),
        ("c/index.html", &format!("company_id={}", key(15))),
    ]);
    let run = tree.pkscan(&["scan", "--format", "github"]);
    run.expect_code(1);
    let lines: Vec<String> = run.stdout().lines().map(str::to_string).collect();
    assert!(lines[0].starts_with("::error file=c/index.html,line=1,col=12,"), "{}", lines[0]);
    assert!(lines[1].starts_with("::error file=b/.env,"), "{}", lines[1]);
    assert!(lines[2].starts_with("::notice file=a/docs.md,"), "{}", lines[2]);
    assert!(lines[3].starts_with("3 findings (1 critical, 1 high, 1 low)"), "{}", lines[3]);
}

#[test]
fn text_output_snapshot() {
    let tree = Tree::new(&[
        ("site/index.html", &format!("<script src=\"//static.klaviyo.com/onsite/js/klaviyo.js?company_id={}\"></script>\n", key(16))),
        ("server/.env", &format!("KLAVIYO_PRIVATE_KEY={}\n", key(17))),
    ]);
    let run = tree.pkscan(&["scan", "--color", "never"]);
    run.expect_code(1);
    let text = run.stdout();
    let text = regex::Regex::new(r"in \d+\.\d\d s").unwrap().replace(&text, "in [elapsed] s");
    insta::assert_snapshot!(text);
}

#[test]
fn color_is_off_unless_asked_or_a_terminal() {
    let tree = Tree::new(&[("x/.env", &format!("K={}", key(18)))]);
    assert!(!tree.pkscan(&["scan"]).stdout().contains('\x1b'));
    assert!(tree.pkscan(&["scan", "--color", "always"]).stdout().contains('\x1b'));
}

#[test]
#[cfg(unix)] // bash process substitution through /dev/fd
fn a_named_pipe_on_the_command_line_is_read() {
    let script = format!(
        "exec '{}' scan <(printf 'company_id={}') --format json",
        env!("CARGO_BIN_EXE_pkscan"),
        key(19)
    );
    let output = std::process::Command::new("bash").arg("-c").arg(script).output().unwrap();
    let report = Run::new(output).json();
    assert_eq!(report.findings.len(), 1);
    assert!(report.findings[0].path.starts_with("/dev/fd/"), "{}", report.findings[0].path);
    assert_eq!(report.findings[0].rule_id, "klaviyo-private-key-as-company-id");
}

/// `pkscan scan ROOT --format json` run in `cwd`.
fn scan_at(cwd: &std::path::Path, root: &str) -> Run {
    Run::new(pkscan_in(cwd, &["scan", root, "--format", "json"]))
}

/// (path below `root`, line, column, end column, rule, sha256 of the key) of each finding.
fn below_root(run: &Run, root: &str) -> Vec<(String, u64, u64, u64, String, String)> {
    run.expect_code(1);
    let report = run.json();
    assert_eq!(report.errors, vec![]);
    report
        .findings
        .into_iter()
        .map(|f| {
            let path =
                f.path.strip_prefix(root).unwrap_or_else(|| panic!("{} not in {root}", f.path));
            (path.to_string(), f.line, f.column, f.end_column, f.rule_id, f.secret_sha256)
        })
        .collect()
}

#[test]
fn the_rule_never_depends_on_how_the_root_was_named() {
    let fixtures = project_root().join("fixtures");
    let absolute = fixtures.to_str().unwrap().to_string();
    let plain = below_root(&scan_at(project_root(), "fixtures"), "fixtures/");
    assert_eq!(below_root(&scan_at(project_root(), "./fixtures"), "fixtures/"), plain);
    assert_eq!(below_root(&scan_at(project_root(), "fixtures/"), "fixtures/"), plain);
    assert_eq!(below_root(&scan_at(project_root(), &absolute), &format!("{absolute}/")), plain);
    assert_eq!(below_root(&scan_at(&fixtures, "."), ""), plain, ". inside fixtures");
    let rule = |path: &str| plain.iter().find(|f| f.0 == path).map(|f| f.4.clone());
    let sample = "app/sample/src/main/java/com/acme/sample/SampleApplication.kt";
    assert_eq!(rule(sample).as_deref(), Some("klaviyo-private-key-in-public-asset"));
    // Rooted below the module, the manifest above the root is still found.
    let java = fixtures.join("app/sample/src/main/java");
    let found: Vec<(String, String)> =
        below_root(&scan_at(&java, "."), "").into_iter().map(|f| (f.0, f.4)).collect();
    let want = ("com/acme/sample/SampleApplication.kt", "klaviyo-private-key-in-public-asset");
    assert_eq!(found, vec![(want.0.to_string(), want.1.to_string())]);
}

#[test]
fn a_tree_outside_a_repository_is_the_same_from_any_root_form() {
    let tree = Tree::new(&[
        ("shop/sample/src/main/AndroidManifest.xml", "<manifest/>\n"),
        ("shop/sample/src/main/java/App.kt", &format!("val apiKey = \"{}\"\n", key(1820))),
        ("shop/server/Sync.kt", &format!("val apiKey = \"{}\"\n", key(1821))),
        ("shop/dist/app.js", &format!("const apiKey = \"{}\";\n", key(1822))),
    ]);
    let shop = tree.path().join("shop");
    let absolute = shop.to_str().unwrap().to_string();
    let public = "klaviyo-private-key-in-public-asset".to_string();
    let want = vec![
        ("dist/app.js".to_string(), public.clone()),
        ("sample/src/main/java/App.kt".to_string(), public.clone()),
        ("server/Sync.kt".to_string(), "klaviyo-private-key".to_string()),
    ];
    let rules = |run: Run, root: &str| -> Vec<(String, String)> {
        below_root(&run, root).into_iter().map(|f| (f.0, f.4)).collect()
    };
    assert_eq!(rules(scan_at(tree.path(), "shop"), "shop/"), want);
    assert_eq!(rules(scan_at(tree.path(), "./shop"), "shop/"), want);
    assert_eq!(rules(scan_at(tree.path(), &absolute), &format!("{absolute}/")), want);
    assert_eq!(rules(scan_at(&shop, "."), ""), want);
    // Inside the built folder, its files are still served.
    let public_file = ("app.js".to_string(), public);
    assert_eq!(rules(scan_at(&shop.join("dist"), "."), ""), vec![public_file]);
}
