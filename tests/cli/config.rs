//! The team workflow through the binary: where `.pkscan.toml` is found, flags over file
//! over defaults, `[allow]`, `[[rule]]` custom rules in every format, `--baseline`, and
//! `pkscan init`. (Parsing and every config error message are unit-tested in
//! `src/config/file/tests.rs`; here a few are checked end to end.)

use std::path::Path;

use crate::{key, pkscan_in, project_root, JsonReport, Run, Tree};

/// An Acme-style custom secret derived from the synthetic key generator.
fn acme(seed: u64) -> String {
    format!("acme_live_{}", &key(seed)[3..35])
}

const ACME_RULE: &str = r#"
[[rule]]
id = "acme-live-token"
regex = 'acme_live_(?P<secret>[a-z0-9]{32})'
keywords = ["acme_live_"]
severity = "high"
title = "Acme live token"
help = "Rotate it in the Acme console.\n\nThen remove it from the history."
"#;

fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs the shared SARIF validator on `sarif` when it is installed beside the project.
pub(crate) fn validate_sarif_if_available(sarif: &[u8]) {
    let validator = project_root().join("../shared/tools/validate-sarif.sh");
    if !validator.exists() {
        return;
    }
    let file = tempfile::Builder::new().suffix(".sarif").tempfile().expect("temp file");
    std::fs::write(file.path(), sarif).expect("write SARIF");
    let check = std::process::Command::new("bash")
        .arg(&validator)
        .arg(file.path())
        .output()
        .expect("bash runs");
    assert!(
        check.status.success(),
        "validate-sarif.sh failed:\n{}\n{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
}

fn git_init(dir: &Path) {
    let status = std::process::Command::new("git")
        .args(["init", "-q"])
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .status()
        .expect("git runs");
    assert!(status.success());
}

fn paths(report: &JsonReport) -> Vec<(&str, &str)> {
    report.findings.iter().map(|f| (f.path.as_str(), f.rule_id.as_str())).collect()
}

#[test]
fn the_config_at_the_work_tree_root_applies_to_a_path_below_it() {
    let tree = Tree::new(&[
        ("repo/.pkscan.toml", "[scan]\nexclude = [\"vendor/\"]\n"),
        ("repo/src/vendor/lib.py", &format!("k = '{}'\n", key(100))),
        ("repo/src/app.py", &format!("k = '{}'\n", key(101))),
    ]);
    git_init(&tree.path().join("repo"));
    // Run from outside the work tree: the config is found from the scanned path.
    let run = tree.pkscan(&["scan", "repo/src", "--format", "json"]);
    run.expect_code(1);
    assert_eq!(paths(&run.json()), [("repo/src/app.py", "klaviyo-private-key")]);
}

#[test]
fn a_mirror_inside_a_work_tree_is_not_scanned_under_its_config() {
    let tree = Tree::new(&[
        ("site/.pkscan.toml", "[scan]\nexclude = [\"server/\"]\n"),
        ("app/server/settings.py", &format!("KEY = '{}'\n", key(103))),
    ]);
    git_init(&tree.path().join("site"));
    let git = |args: &[&str]| tree.git(args);
    git(&["-C", "app", "init", "-q"]);
    git(&["-C", "app", "add", "."]);
    git(&["-C", "app", "commit", "-qm", "first"]);
    git(&["clone", "-q", "--mirror", "app", "site/app.git"]);
    // The site's config excludes its own `server/`, not the mirror's: the mirror is a
    // repository of its own, found from the scanned path (run from outside both).
    let run = tree.pkscan(&["git", "site/app.git", "--format", "json"]);
    run.expect_code(1);
    assert_eq!(paths(&run.json()), [("server/settings.py", "klaviyo-private-key")]);
}

#[test]
fn outside_a_work_tree_the_current_directory_config_applies() {
    let tree = Tree::new(&[
        (".pkscan.toml", "[scan]\nfail_on = \"critical\"\n"),
        ("server/.env", &format!("KLAVIYO_PRIVATE_KEY={}\n", key(102))),
    ]);
    let run = tree.pkscan(&["scan", "--format", "json"]);
    run.expect_code(0);
    assert_eq!(run.json().findings.len(), 1, "found, but below fail_on");
    tree.pkscan(&["scan", "--fail-on", "high"]).expect_code(1);
}

#[test]
fn config_flag_overrides_the_lookup_and_a_missing_file_is_exit_2() {
    let tree = Tree::new(&[
        (".pkscan.toml", "[scan]\nfail_on = \"critical\"\n"),
        ("strict.toml", "[scan]\nfail_on = \"low\"\n"),
        ("docs.md", &format!("pk_{}", "x".repeat(34))),
    ]);
    tree.pkscan(&["scan"]).expect_code(0);
    tree.pkscan(&["scan", "--config", "strict.toml"]).expect_code(1);
    let run = tree.pkscan(&["scan", "--config", "missing.toml"]);
    run.expect_code(2);
    assert_eq!(
        run.stderr(),
        "pkscan: cannot read config missing.toml: No such file or directory (os error 2)\n"
    );
    assert_eq!(run.stdout(), "");
}

#[test]
fn a_broken_config_is_exit_2_naming_file_and_line() {
    let tree = Tree::new(&[
        (".pkscan.toml", "[scan]\nthreads = 2\nexclud = [\"vendor/\"]\n"),
        ("a.txt", "nothing"),
    ]);
    let run = tree.pkscan(&["scan"]);
    run.expect_code(2);
    assert_eq!(
        run.stderr(),
        "pkscan: .pkscan.toml:3: unknown key \"exclud\" in [scan]; expected one of exclude, \
         gitignore, follow, max_file_size, threads, fail_on, max_member_bytes, max_file_bytes, \
         max_ratio, ratio_floor, max_depth, max_members\n"
    );
    assert_eq!(run.stdout(), "");
    tree.write(".pkscan.toml", b"[allow]\nsecret_sha256 = [\n  \"not-a-hash\",\n]\n");
    let run = tree.pkscan(&["scan"]);
    run.expect_code(2);
    assert!(run.stderr().starts_with("pkscan: .pkscan.toml:3: bad value in secret_sha256"));
    // `pkscan rules` reads the same file and fails the same way.
    tree.pkscan(&["rules"]).expect_code(2);
}

#[test]
fn a_raw_key_in_the_allowlist_is_refused_and_not_echoed() {
    let raw = key(103);
    let tree = Tree::new(&[(".pkscan.toml", &format!("[allow]\nsecret_sha256 = [\"{raw}\"]\n"))]);
    let run = tree.pkscan(&["scan"]);
    run.expect_code(2);
    let redacted = format!("{}…{}", &raw[..7], &raw[raw.len() - 2..]);
    assert!(
        run.stderr().contains(&format!("looks like a raw key ({redacted})")),
        "{}",
        run.stderr()
    );
    assert!(!run.stderr().contains(&raw));
}

#[test]
fn allowlist_paths_hashes_regexes_and_rules_suppress_and_count() {
    let kept = key(110);
    let by_hash = key(111);
    let sha = sha256_hex(&by_hash);
    let config = format!(
        "[allow]\npaths = [\"docs/examples/**\", \"*.snap\"]\nsecret_sha256 = [\"{sha}\"]\n\
         regexes = ['example_private_key']\nrules = [\"klaviyo-placeholder-key\"]\n"
    );
    let tree = Tree::new(&[
        (".pkscan.toml", &config),
        ("docs/examples/setup/a.env", &format!("K={}\n", key(112))),
        ("tests/snapshots/x.snap", &format!("K={}\n", key(113))),
        ("server/one.env", &format!("K={by_hash}\n")),
        ("server/two.env", &format!("example_private_key={}\n", key(114))),
        ("server/three.env", &format!("PLACEHOLDER=pk_{}\n", "x".repeat(34))),
        ("server/kept.env", &format!("K={kept}\n# pkscan:allow {}\n", key(115))),
        ("docs/example.env", &format!("K={}\n", key(116))),
    ]);
    let run = tree.pkscan(&["scan", "--format", "json"]);
    run.expect_code(1);
    let report = run.json();
    assert_eq!(
        paths(&report),
        [("docs/example.env", "klaviyo-private-key"), ("server/kept.env", "klaviyo-private-key")]
    );
    assert_eq!(report.summary.allowed, 6, "5 by the config, 1 by the inline comment");
    assert_eq!(report.summary.findings, 2);
    let text = tree.pkscan(&["scan", "--color", "never"]);
    assert!(text.stdout().contains(" · 6 allowed"), "{}", text.stdout());
}

#[test]
fn custom_rules_are_reported_like_built_in_ones_in_json_text_and_sarif() {
    let token = acme(120);
    let tree = Tree::new(&[
        (".pkscan.toml", ACME_RULE),
        ("server/payments.py", &format!("import os\nACME = \"{token}\"  # live\n")),
        ("server/.env", &format!("KLAVIYO_PRIVATE_KEY={}\n", key(121))),
        ("server/notes.txt", "acme_live_ is the prefix; acme_live_tooshort\n"),
    ]);
    let run = tree.pkscan(&["scan", "--format", "json"]);
    run.expect_code(1);
    let report = run.json();
    assert_eq!(
        paths(&report),
        [("server/.env", "klaviyo-private-key"), ("server/payments.py", "acme-live-token")]
    );
    let f = &report.findings[1];
    let secret = &token["acme_live_".len()..];
    assert_eq!((f.line, f.column, f.end_line, f.end_column), (2, 19, 2, 51));
    assert_eq!(f.severity, "high");
    assert_eq!(f.secret, format!("{}…{}", &secret[..4], &secret[30..]));
    assert_eq!(f.secret_sha256, sha256_hex(secret));
    assert_eq!(f.message, "Acme live token (custom rule acme-live-token).");
    assert_eq!(f.decoded, Vec::<String>::new());
    assert!(!run.stdout().contains(secret));

    let shown = tree.pkscan(&["scan", "--format", "json", "--show-secrets"]).json();
    assert_eq!(shown.findings[1].secret, secret);

    let text = tree.pkscan(&["scan", "--color", "never"]);
    let out = text.stdout();
    assert!(
        out.contains(&format!(
            "server/payments.py\n  2:19  HIGH  acme-live-token  {}\n      ACME = \"acme_live_{}\"  # live\n      Acme live token (custom rule acme-live-token).\n      fix: Rotate it in the Acme console.\n",
            f.secret, f.secret
        )),
        "{out}"
    );
    assert!(!out.contains(secret));

    let sarif = tree.pkscan(&["scan", "--format", "sarif"]);
    sarif.expect_code(1);
    let value: serde_json::Value = serde_json::from_slice(&sarif.output.stdout).unwrap();
    let rules = value["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 7);
    let rule = &rules[6];
    assert_eq!(rule["id"], "acme-live-token");
    assert_eq!(rule["shortDescription"]["text"], "Acme live token");
    assert_eq!(
        rule["help"]["text"],
        "Rotate it in the Acme console.\n\nThen remove it from the history."
    );
    assert_eq!(rule["properties"]["security-severity"], "8.0");
    assert_eq!(
        rule["properties"]["tags"],
        serde_json::json!(["security", "secrets", "external/cwe/cwe-798"])
    );
    let result = &value["runs"][0]["results"][1];
    assert_eq!(result["ruleId"], "acme-live-token");
    assert_eq!(result["ruleIndex"], 6);
    assert_eq!(result["partialFingerprints"]["primaryLocationLineHash"], f.fingerprint.as_str());
    assert!(!sarif.stdout().contains(secret));
    validate_sarif_if_available(&sarif.output.stdout);
}

#[test]
fn custom_rules_without_keywords_and_without_a_secret_group() {
    let token = acme(122);
    let config =
        "[[rule]]\nid = \"acme-any\"\nregex = 'acme_live_[a-f0-9]{32}'\nseverity = \"medium\"\n";
    let tree = Tree::new(&[(".pkscan.toml", config), ("a.txt", &format!("x\n  {token}\n"))]);
    let run = tree.pkscan(&["scan", "--format", "json"]);
    run.expect_code(1);
    let f = &run.json().findings[0];
    assert_eq!(
        (f.rule_id.as_str(), f.severity.as_str(), f.line, f.column),
        ("acme-any", "medium", 2, 3)
    );
    assert_eq!(f.secret, format!("acme…{}", &token[token.len() - 2..]), "the whole match");
    assert_eq!(f.message, "acme-any (custom rule acme-any).", "title defaults to the id");
}

#[test]
fn a_custom_match_straddling_the_read_buffer_is_found_once() {
    // The scanner reads 4 MiB windows; put a token across the first boundary.
    let token = acme(123);
    let mut text = "a".repeat((4 << 20) - 20);
    text.push('\n');
    text.push_str(&token);
    text.push('\n');
    let tree = Tree::new(&[(".pkscan.toml", ACME_RULE), ("big.txt", &text)]);
    let report = tree.pkscan(&["scan", "--format", "json"]).json();
    assert_eq!(report.findings.iter().map(|f| (f.line, f.column)).collect::<Vec<_>>(), [(2, 11)]);
}

#[test]
fn rules_lists_custom_rules_after_the_built_in_ones() {
    let tree = Tree::new(&[("team.toml", ACME_RULE)]);
    let run = tree.pkscan(&["rules", "--config", "team.toml", "--format", "json"]);
    run.expect_code(0);
    let rules: Vec<serde_json::Value> = serde_json::from_slice(&run.output.stdout).unwrap();
    assert_eq!(rules.len(), 7);
    assert_eq!(
        rules[6],
        serde_json::json!({
            "id": "acme-live-token",
            "severity": "high",
            "title": "Acme live token",
            "message": "Acme live token (custom rule acme-live-token).",
            "help": "Rotate it in the Acme console.\n\nThen remove it from the history.",
            "builtin": false,
        })
    );
    let text = tree.pkscan(&["rules", "--config", "team.toml"]);
    assert!(
        text.stdout().contains("acme-live-token  (high)\n  Acme live token\n"),
        "{}",
        text.stdout()
    );
    // Without --config, `rules` reads .pkscan.toml like `scan` does.
    tree.write(".pkscan.toml", ACME_RULE.as_bytes());
    let found = tree.pkscan(&["rules", "--format", "json"]);
    assert!(found.stdout().contains("\"acme-live-token\""));
}

#[test]
fn baseline_round_trip_reports_only_new_findings() {
    let tree = Tree::new(&[
        (".pkscan.toml", ACME_RULE),
        ("server/.env", &format!("KLAVIYO_PRIVATE_KEY={}\n", key(130))),
        (
            "site/index.html",
            &format!("<script src=\"klaviyo.js?company_id={}\"></script>\n", key(131)),
        ),
        ("server/acme.py", &format!("ACME = '{}'\n", acme(132))),
    ]);
    let first = tree.pkscan(&["scan", "--format", "json", "--output", "baseline.json"]);
    first.expect_code(1);
    let baseline: JsonReport =
        serde_json::from_slice(&std::fs::read(tree.path().join("baseline.json")).unwrap()).unwrap();
    assert_eq!(baseline.findings.len(), 3);

    let accepted = tree.pkscan(&["scan", "--baseline", "baseline.json", "--format", "json"]);
    accepted.expect_code(0);
    let report = accepted.json();
    assert_eq!(report.findings, vec![]);
    assert_eq!((report.summary.baselined, report.summary.findings), (3, 0));

    tree.write("server/new.py", format!("key = '{}'\n", key(133)).as_bytes());
    let run = tree.pkscan(&["scan", "--baseline", "baseline.json", "--format", "json"]);
    run.expect_code(1);
    let report = run.json();
    assert_eq!(paths(&report), [("server/new.py", "klaviyo-private-key")]);
    assert_eq!(report.summary.baselined, 3);
    let text = tree.pkscan(&["scan", "--baseline", "baseline.json", "--color", "never"]);
    assert!(text.stdout().contains(" · 3 baselined"), "{}", text.stdout());
}

#[test]
fn a_baseline_survives_moved_lines_and_edits_but_not_a_new_key_or_path() {
    let tree = Tree::new(&[("app/settings.py", &format!("DEBUG = False\nKEY = '{}'\n", key(140)))]);
    git_init(tree.path());
    tree.pkscan(&["scan", "--format", "json", "--output", "baseline.json"]).expect_code(1);
    tree.write(
        "app/settings.py",
        format!("# settings\nimport os\n\nDEBUG = True\nTIMEOUT = 30\nKEY = '{}'\n", key(140))
            .as_bytes(),
    );
    let moved = tree.pkscan(&["scan", "--baseline", "baseline.json", "--format", "json"]);
    moved.expect_code(0);
    assert_eq!(moved.json().summary.baselined, 1);
    // The same baseline matches when the repository is named by its absolute path.
    let absolute = tree.path().display().to_string();
    let run = tree.pkscan(&["scan", &absolute, "--baseline", "baseline.json", "--format", "json"]);
    run.expect_code(0);
    // A rotated key, or the key copied to another file, is new.
    tree.write("app/copy.py", format!("KEY = '{}'\n", key(140)).as_bytes());
    tree.write("app/settings.py", format!("KEY = '{}'\n", key(141)).as_bytes());
    let run = tree.pkscan(&["scan", "--baseline", "baseline.json", "--format", "json"]);
    run.expect_code(1);
    assert_eq!(
        paths(&run.json()),
        [("app/copy.py", "klaviyo-private-key"), ("app/settings.py", "klaviyo-private-key")]
    );
}

#[test]
fn a_bad_baseline_is_exit_2_with_a_message() {
    let tree =
        Tree::new(&[("a.txt", "x"), ("report.sarif", "{\"version\": \"2.1.0\", \"runs\": []}")]);
    let run = tree.pkscan(&["scan", "--baseline", "missing.json"]);
    run.expect_code(2);
    assert_eq!(
        run.stderr(),
        "pkscan: cannot read baseline missing.json: No such file or directory (os error 2)\n"
    );
    let run = tree.pkscan(&["scan", "--baseline", "report.sarif"]);
    run.expect_code(2);
    assert_eq!(
        run.stderr(),
        "pkscan: baseline report.sarif: is not a pkscan JSON report (line 1, column 19: expected \
         u32, found a string); write one with `pkscan scan --format json --output FILE`\n"
    );
}

#[test]
fn init_writes_the_template_once() {
    let tree = Tree::new(&[]);
    let run = tree.pkscan(&["init"]);
    run.expect_code(0);
    assert_eq!(
        run.stdout(),
        "wrote .pkscan.toml: every setting at its default; edit it, then run `pkscan scan`\n"
    );
    let written = std::fs::read_to_string(tree.path().join(".pkscan.toml")).unwrap();
    assert!(written.starts_with("# pkscan configuration."));
    let again = tree.pkscan(&["init"]);
    again.expect_code(2);
    assert_eq!(
        again.stderr(),
        "pkscan: .pkscan.toml already exists; use `pkscan init --force` to replace it\n"
    );
    tree.write(".pkscan.toml", b"# edited\n");
    tree.pkscan(&["init", "--force"]).expect_code(0);
    assert_eq!(std::fs::read_to_string(tree.path().join(".pkscan.toml")).unwrap(), written);
    // The written file is a valid config that changes nothing.
    tree.write("server/.env", format!("K={}\n", key(150)).as_bytes());
    tree.pkscan(&["scan"]).expect_code(1);
}

#[test]
fn the_project_scans_itself_clean_with_its_own_config() {
    let run = Run::new(pkscan_in(project_root(), &["scan", ".", "--format", "json"]));
    run.expect_code(0);
    let report = run.json();
    assert_eq!(report.findings, vec![]);
    assert_eq!(report.errors, vec![]);
}

/// The project's excludes are anchored at its root: a tree scanned from a checkout (the
/// config in the current directory applies outside a git work tree) keeps its own
/// `fixtures/` and `target/` folders in the scan.
#[test]
fn the_project_config_does_not_exclude_same_named_folders_elsewhere() {
    let tree = Tree::new(&[
        ("tests/fixtures/app.env", &format!("K={}\n", key(160))),
        ("web/target/app.env", &format!("K={}\n", key(161))),
    ]);
    let root = tree.path().to_str().expect("a UTF-8 temp path");
    let run = Run::new(pkscan_in(project_root(), &["scan", root, "--format", "json"]));
    run.expect_code(1);
    assert_eq!(run.json().findings.len(), 2);
}

#[test]
fn git_history_honours_the_config_and_a_baseline_made_by_scan() {
    let config = format!("[allow]\npaths = [\"docs/examples/\"]\n{ACME_RULE}");
    let tree = Tree::new(&[
        (".pkscan.toml", &config),
        ("server/.env", &format!("KLAVIYO_PRIVATE_KEY={}\n", key(160))),
        ("server/acme.py", &format!("ACME = '{}'\n", acme(161))),
        ("docs/examples/setup.env", &format!("KLAVIYO_PRIVATE_KEY={}\n", key(162))),
    ]);
    let git = |args: &[&str]| tree.git(args);
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-qm", "first"]);
    tree.pkscan(&["scan", ".", "--format", "json", "--output", "baseline.json"]).expect_code(1);

    let history = tree.pkscan(&["git", "--format", "json"]);
    history.expect_code(1);
    let report = history.json();
    assert_eq!(
        paths(&report),
        [("server/.env", "klaviyo-private-key"), ("server/acme.py", "acme-live-token")]
    );
    assert_eq!(report.summary.allowed, 1);

    let run = tree.pkscan(&["git", "--baseline", "baseline.json", "--format", "json"]);
    run.expect_code(0);
    assert_eq!((run.json().summary.baselined, run.json().summary.allowed), (2, 1));

    tree.write("server/new.py", format!("ACME = '{}'\n", acme(163)).as_bytes());
    git(&["add", "server/new.py"]);
    git(&["commit", "-qm", "second"]);
    let run = tree.pkscan(&["git", "--baseline", "baseline.json", "--format", "json"]);
    run.expect_code(1);
    assert_eq!(paths(&run.json()), [("server/new.py", "acme-live-token")]);
}
