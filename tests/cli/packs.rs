//! `pkscan git` on histories stored in packs (decoded once, in pack order) must report
//! exactly what the same history gives as loose objects (read one by one): the same
//! findings, commits and counts, whether the objects sit in one pack with long delta
//! chains, in several packs beside loose objects, or behind `objects/info/alternates`.

use std::path::Path;

use crate::{key, newer_key, pkscan_in, JsonFinding, JsonReport, Run, Tree};

/// A large file with `n` numbered lines: edited a line at a time, its versions become
/// delta chains once packed.
fn big_file(n: usize, edit: usize, extra: &str) -> String {
    let mut text = String::new();
    for i in 0..n {
        if i == n / 2 {
            text.push_str(extra);
        }
        let mark = if i == edit { "edited" } else { "plain" };
        text.push_str(&format!("line {i:05} of the schema, {mark} content for padding\n"));
    }
    text
}

/// Commits on `main` and a side branch: a key in a large file kept for many versions, a
/// key added then removed, a newer-shape key only on the unmerged branch.
fn history(tree: &Tree) {
    tree.git(&["init", "-q", "-b", "main"]);
    let kept = format!("INSERT INTO settings VALUES ('klaviyo', '{}');\n", key(41));
    for version in 0..30 {
        let extra = if version >= 10 { kept.as_str() } else { "" };
        tree.write("db/schema.sql", big_file(3000, version * 7, extra).as_bytes());
        if version == 12 {
            tree.write("config/settings.py", format!("KEY = \"{}\"\n", key(42)).as_bytes());
        }
        if version == 15 {
            tree.write("config/settings.py", b"KEY = os.environ[\"KEY\"]\n");
        }
        tree.git(&["add", "-A"]);
        tree.git(&["commit", "-q", "-m", &format!("version {version}")]);
    }
    tree.git(&["checkout", "-q", "-b", "feature"]);
    tree.write("deploy/secrets.yaml", format!("key: {}\n", newer_key(43)).as_bytes());
    tree.git(&["add", "-A"]);
    tree.git(&["commit", "-q", "-m", "secrets"]);
    tree.git(&["checkout", "-q", "main"]);
}

fn scan(dir: &Path, args: &[&str]) -> JsonReport {
    let mut all = vec!["git", "--format", "json", "--threads", "2"];
    all.extend_from_slice(args);
    let run = Run::new(pkscan_in(dir, &all));
    run.expect_code(1);
    run.json()
}

/// Findings (with their commits) and the counts that must not depend on storage.
fn essence(report: &JsonReport) -> (Vec<JsonFinding>, u64, u64, u64) {
    let s = &report.summary;
    (report.findings.clone(), s.files_scanned, s.bytes_scanned, s.errors)
}

fn loose_objects(dir: &Path) -> usize {
    std::fs::read_dir(dir.join(".git/objects"))
        .expect("objects dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().len() == 2)
        .map(|e| std::fs::read_dir(e.path()).map(|d| d.count()).unwrap_or(0))
        .sum()
}

fn packs(dir: &Path) -> usize {
    std::fs::read_dir(dir.join(".git/objects/pack"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "idx"))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn a_packed_history_with_long_delta_chains_reports_what_loose_objects_do() {
    let tree = Tree::new(&[]);
    history(&tree);
    let loose = scan(tree.path(), &[]);
    let paths: Vec<&str> = loose.findings.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, vec!["config/settings.py", "db/schema.sql", "deploy/secrets.yaml"]);
    assert_eq!(loose.summary.files_scanned, 33, "30 schema versions, 2 settings, 1 secrets");

    tree.git(&["repack", "-q", "-a", "-d", "-f", "--depth=250", "--window=50"]);
    tree.git(&["prune-packed"]);
    assert_eq!((loose_objects(tree.path()), packs(tree.path())), (0, 1));
    let packed = scan(tree.path(), &[]);
    assert_eq!(essence(&packed), essence(&loose));
}

#[test]
fn branch_and_range_keep_their_meaning_on_a_pack() {
    let tree = Tree::new(&[]);
    history(&tree);
    let loose_main = scan(tree.path(), &["--branch", "main"]);
    let loose_range = scan(tree.path(), &["--range", "main..feature"]);
    tree.git(&["repack", "-q", "-a", "-d"]);
    assert_eq!(loose_objects(tree.path()), 0);
    let main = scan(tree.path(), &["--branch", "main"]);
    let paths: Vec<&str> = main.findings.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        vec!["config/settings.py", "db/schema.sql"],
        "the branch's key is not main's"
    );
    assert_eq!(essence(&main), essence(&loose_main));
    let range = scan(tree.path(), &["--range", "main..feature"]);
    let paths: Vec<&str> = range.findings.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, vec!["deploy/secrets.yaml"]);
    assert_eq!(range.summary.files_scanned, 1);
    assert_eq!(essence(&range), essence(&loose_range));
}

#[test]
fn several_packs_loose_objects_and_alternates_are_all_scanned() {
    let tree = Tree::new(&[]);
    history(&tree);
    let expected = essence(&scan(tree.path(), &[]));
    // Two packs (the history so far, then the branch's commit) and a loose commit after.
    tree.git(&["repack", "-q", "-d"]);
    tree.git(&["checkout", "-q", "feature"]);
    tree.write("notes.txt", b"no key here\n");
    tree.git(&["add", "-A"]);
    tree.git(&["commit", "-q", "-m", "notes"]);
    tree.git(&["checkout", "-q", "main"]);
    tree.git(&["repack", "-q", "-d"]);
    tree.write("late.env", format!("KLAVIYO={}\n", key(44)).as_bytes());
    tree.git(&["add", "-A"]);
    tree.git(&["commit", "-q", "-m", "late"]);
    assert_eq!(packs(tree.path()), 2);
    assert!(loose_objects(tree.path()) > 0, "the last commit stays loose");
    let mixed = scan(tree.path(), &[]);
    let paths: Vec<&str> = mixed.findings.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        vec!["config/settings.py", "db/schema.sql", "deploy/secrets.yaml", "late.env"]
    );
    assert_eq!(mixed.summary.files_scanned, expected.1 + 2, "notes.txt and late.env");

    // A clone sharing the objects through alternates holds none of its own.
    let shared = Tree::new(&[]);
    let source = tree.path().to_str().expect("utf-8 temp path");
    shared.git(&["clone", "-q", "--shared", "--no-checkout", source, "clone"]);
    let clone = shared.path().join("clone");
    assert_eq!((loose_objects(&clone), packs(&clone)), (0, 0));
    let through_alternates = scan(&clone, &["--branch", "origin/feature"]);
    let direct = scan(tree.path(), &["--branch", "feature"]);
    assert_eq!(essence(&through_alternates), essence(&direct));
    assert_eq!(through_alternates.findings.len(), 3);
}
