//! Secret hygiene: keys planted in every kind of place (file content, plain and inside a
//! gzip and a zip member, config values, a file whose scan panics, an unreadable file)
//! must never appear whole in stdout or stderr of any format, `rules --config` or `git`,
//! unless `--show-secrets` is given. Keys in file and member names are the one documented
//! exception: names are not scanned and paths are printed as they are.

use crate::decode::{gzip, zip};
use crate::hostile::{chmod, pkscan_unprivileged};
use crate::{key, newer_key, Run, Tree};

/// The keys planted in content and config; none may be printed whole.
fn planted() -> Vec<String> {
    vec![key(800), key(801), key(802), newer_key(803), key(804), key(805), key(806), key(807)]
}

/// Asserts that no planted key appears whole in the run's stdout or stderr.
fn assert_no_key(run: &Run, what: &str) {
    for key in planted() {
        assert!(!run.stdout().contains(&key), "{what}: stdout holds {key}\n{}", run.stdout());
        assert!(!run.stderr().contains(&key), "{what}: stderr holds {key}\n{}", run.stderr());
    }
}

/// A tree with a key in every readable place, and a config that mentions keys in its
/// allow regexes and a custom rule.
fn planted_tree() -> Tree {
    let keys = planted();
    let tree = Tree::new(&[
        ("app.js", &format!("const k = \"{}\";\n", keys[0])),
        ("settings.py", &format!("KLAVIYO = '{}'\n", keys[3])),
        ("note.txt", &format!("acme_live_{}\n", &keys[5][3..35])),
    ]);
    tree.write("bundle.js.gz", &gzip(format!("var k='{}';", keys[1]).as_bytes()));
    let member = format!("x = \"{}\"\n", keys[2]);
    tree.write("site.zip", &zip(&[("inner/config.js", member.as_bytes())]));
    // An allow regex that quotes a whole key (wrong, but it must not be echoed) and one
    // that suppresses nothing, and a custom rule whose pattern holds a key.
    let config = format!(
        "[allow]\nregexes = ['{}']\n\n[[rule]]\nid = \"acme-live-token\"\nregex = \
         'acme_live_[0-9a-f]{{32}}|{}'\nseverity = \"high\"\ntitle = \"Acme\"\n",
        keys[4], keys[6]
    );
    tree.write(".pkscan.toml", config.as_bytes());
    tree
}

#[test]
fn no_format_prints_a_planted_key() {
    let tree = planted_tree();
    for format in ["text", "json", "sarif", "github", "html"] {
        let run = tree.pkscan(&["scan", "--format", format]);
        run.expect_code(1);
        assert_no_key(&run, format);
    }
    let report = tree.pkscan(&["scan", "--format", "json"]).json();
    let paths: Vec<&str> = report.findings.iter().map(|f| f.path.as_str()).collect();
    for path in ["app.js", "bundle.js.gz", "settings.py", "site.zip!inner/config.js", "note.txt"] {
        assert!(paths.contains(&path), "{path} found: {paths:?}");
    }
    // The same run with --show-secrets does print them: the check above can fail.
    let shown = tree.pkscan(&["scan", "--format", "json", "--show-secrets"]);
    assert!(shown.stdout().contains(&planted()[0]), "{}", shown.stdout());
    let rules = tree.pkscan(&["rules", "--config", ".pkscan.toml"]);
    rules.expect_code(0);
    assert_no_key(&rules, "rules --config");
    let rules_json = tree.pkscan(&["rules", "--config", ".pkscan.toml", "--format", "json"]);
    assert_no_key(&rules_json, "rules --config --format json");
}

#[test]
fn a_raw_key_in_the_config_is_refused_without_echoing_it() {
    let tree = Tree::new(&[("a.txt", "nothing")]);
    let config = format!("[allow]\nsecret_sha256 = [\"{}\"]\n", planted()[7]);
    tree.write(".pkscan.toml", config.as_bytes());
    for args in
        [&["scan"][..], &["scan", "--format", "sarif"], &["rules", "--config", ".pkscan.toml"]]
    {
        let run = tree.pkscan(args);
        run.expect_code(2);
        assert!(run.stderr().contains("looks like a raw key"), "{}", run.stderr());
        assert_no_key(&run, &format!("{args:?}"));
    }
}

#[test]
fn git_history_output_holds_no_key() {
    let tree = planted_tree();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .args(["-c", "user.name=A", "-c", "user.email=a@example.com"])
            .args(args)
            .current_dir(tree.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "add config"]);
    for format in ["text", "json", "sarif", "github", "html"] {
        let run = tree.pkscan(&["git", "--format", format]);
        run.expect_code(1);
        assert_no_key(&run, &format!("git {format}"));
    }
    git(&["rm", "-q", "--cached", "app.js"]);
    std::fs::write(tree.path().join("staged.js"), format!("k='{}'", planted()[0])).unwrap();
    git(&["add", "staged.js"]);
    let staged = tree.pkscan(&["git", "--staged", "--format", "json"]);
    staged.expect_code(1);
    assert_no_key(&staged, "git --staged");
}

#[test]
fn an_unreadable_file_is_an_error_without_its_content() {
    let tree = Tree::new(&[("ok.txt", &planted()[0]), ("locked.txt", &planted()[1])]);
    chmod(tree.path(), 0o755);
    chmod(&tree.path().join("ok.txt"), 0o644);
    chmod(&tree.path().join("locked.txt"), 0o000);
    for format in ["text", "json", "sarif", "github", "html"] {
        let run = pkscan_unprivileged(&tree, &["scan", "--format", format]);
        run.expect_code(1);
        assert!(run.stdout().contains("locked.txt"), "{format}: {}", run.stdout());
        assert_no_key(&run, format);
    }
}

/// Debug builds panic on request while scanning a named file: the panic is an `errors`
/// entry, every other file is still scanned, and the panic message (which quotes the
/// file's bytes, so its key) is not printed.
#[cfg(debug_assertions)]
#[test]
fn a_panic_while_scanning_is_an_error_entry_and_its_message_is_withheld() {
    let tree = Tree::new(&[("a.txt", &planted()[0]), ("boom.txt", &planted()[1])]);
    let run = |format: &str| {
        Run::new(
            assert_cmd::Command::cargo_bin("pkscan")
                .unwrap()
                .env_clear()
                .env("PKSCAN_DEBUG_PANIC", "boom.txt")
                .current_dir(tree.path())
                .args(["scan", "--threads", "1", "--format", format])
                .output()
                .unwrap(),
        )
    };
    let json = run("json");
    json.expect_code(1);
    assert_no_key(&json, "panic json");
    assert!(json.stderr().contains("pkscan: internal error at src/"), "{}", json.stderr());
    assert!(!json.stderr().contains("debug panic on request"), "{}", json.stderr());
    let report = json.json();
    let found: Vec<&str> = report.findings.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(found, ["a.txt"]);
    let errors: Vec<(&str, &str)> =
        report.errors.iter().map(|e| (e.path.as_str(), e.message.as_str())).collect();
    assert_eq!(
        errors,
        [(
            "boom.txt",
            "internal error: pkscan hit a bug scanning this file, so it was not fully scanned; \
             please report it"
        )]
    );
    let strict = Run::new(
        assert_cmd::Command::cargo_bin("pkscan")
            .unwrap()
            .env_clear()
            .env("PKSCAN_DEBUG_PANIC", "boom.txt")
            .current_dir(tree.path())
            .args(["scan", "--strict"])
            .output()
            .unwrap(),
    );
    strict.expect_code(2);
    assert_no_key(&strict, "panic text");
}

/// The documented exception (docs/bad-input.md, "Keys in names"): names are not scanned
/// and are printed as they are, so that the path leads back to the file; the key inside
/// the file is still redacted.
#[test]
fn a_key_in_a_name_is_printed_as_the_path_and_not_reported() {
    let (name_key, member_key, content_key) = (key(820), key(821), key(822));
    let tree = Tree::new(&[(&format!("{name_key}.txt"), &format!("k = '{content_key}'\n"))]);
    tree.write("m.zip", &zip(&[(&format!("{member_key}.js"), b"nothing here\n")]));
    let run = tree.pkscan(&["scan", "--format", "json"]);
    run.expect_code(1);
    let report = run.json();
    let paths: Vec<&str> = report.findings.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, [format!("{name_key}.txt")]);
    assert!(!run.stdout().contains(&content_key), "{}", run.stdout());
    assert!(!run.stdout().contains(&member_key), "a member without findings is not listed");
    let html = tree.pkscan(&["scan", "--format", "html"]).stdout();
    assert!(html.contains(&format!("<td class=\"path\">{name_key}.txt</td>")), "{html}");
    assert!(!html.contains(&content_key), "{html}");
}
