//! Hostile trees: special files, link loops, unreadable entries, odd names, terminal
//! escapes and very large inputs. The scan must finish, list what it could not read, find
//! every readable key and never print a scanned byte raw.

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

use crate::{key, Run, Tree};

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

/// Runs pkscan as an unprivileged user when the tests run as root, so that permission
/// bits mean something.
pub(crate) fn pkscan_unprivileged(tree: &Tree, args: &[&str]) -> Run {
    let bin = env!("CARGO_BIN_EXE_pkscan");
    let mut cmd = if is_root() {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", bin]);
        c
    } else {
        std::process::Command::new(bin)
    };
    Run::new(cmd.args(args).current_dir(tree.path()).env_clear().output().expect("pkscan runs"))
}

pub(crate) fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn special_files_are_skipped_and_counted() {
    let tree = Tree::new(&[("ok.txt", &key(100))]);
    let fifo = std::process::Command::new("mkfifo").arg(tree.path().join("fifo")).status().unwrap();
    assert!(fifo.success());
    let _socket = std::os::unix::net::UnixListener::bind(tree.path().join("sock")).unwrap();
    let mut expected_skipped = 2;
    if is_root() {
        let status = std::process::Command::new("mknod")
            .arg(tree.path().join("null"))
            .args(["c", "1", "3"])
            .status()
            .unwrap();
        assert!(status.success());
        expected_skipped += 1;
    }
    let report = tree.pkscan(&["scan", "--format", "json"]).json();
    assert_eq!(report.summary.skipped, expected_skipped);
    assert_eq!(report.findings.len(), 1);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
}

#[test]
fn symlinks_are_not_followed_unless_asked_and_loops_are_errors() {
    let outside = Tree::new(&[("secret.env", &format!("K={}", key(101)))]);
    let tree = Tree::new(&[("a/inside.txt", &key(102))]);
    symlink(outside.path(), tree.path().join("a/out")).unwrap();
    symlink(tree.path().join("a"), tree.path().join("a/loop")).unwrap();
    let plain = tree.pkscan(&["scan", "--format", "json"]).json();
    assert_eq!(plain.places().len(), 1, "links are not followed by default");
    assert!(plain.errors.is_empty());
    let followed = tree.pkscan(&["scan", "--follow", "--format", "json"]).json();
    let paths: Vec<_> = followed.findings.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, vec!["a/inside.txt", "a/out/secret.env"]);
    assert_eq!(followed.errors.len(), 1, "{:?}", followed.errors);
    assert_eq!(followed.errors[0].path, "a/loop");
    assert!(followed.errors[0].message.contains("loop"), "{}", followed.errors[0].message);
}

#[test]
fn unreadable_files_and_folders_are_errors_not_silence() {
    let tree = Tree::new(&[
        ("ok.txt", &key(103)),
        ("locked.txt", &key(104)),
        ("closed/inner.txt", &key(105)),
    ]);
    chmod(tree.path(), 0o755);
    chmod(&tree.path().join("ok.txt"), 0o644);
    chmod(&tree.path().join("locked.txt"), 0o000);
    chmod(&tree.path().join("closed"), 0o000);
    let run = pkscan_unprivileged(&tree, &["scan", "--format", "json"]);
    run.expect_code(1);
    let report = run.json();
    assert_eq!(report.findings.len(), 1);
    let errors: Vec<(String, String)> =
        report.errors.iter().map(|e| (e.path.clone(), e.message.clone())).collect();
    assert_eq!(
        errors,
        vec![
            ("closed".to_string(), "permission denied".to_string()),
            ("locked.txt".to_string(), "permission denied".to_string())
        ]
    );
    assert_eq!(report.summary.errors, 2);
    pkscan_unprivileged(&tree, &["scan", "--strict", "--format", "json"]).expect_code(2);
    let text = pkscan_unprivileged(&tree, &["scan"]);
    assert!(text.stdout().contains("Could not be read"), "{}", text.stdout());
    assert!(text.stdout().contains("2 errors"), "{}", text.stdout());
    chmod(&tree.path().join("closed"), 0o755);
}

#[test]
fn odd_file_names_stay_valid_and_escaped() {
    use std::os::unix::ffi::OsStrExt;
    let tree = Tree::new(&[]);
    let weird = std::ffi::OsStr::from_bytes(b"bad\xffname\nwith\x1bescape.env");
    std::fs::write(tree.path().join(weird), format!("K={}", key(106))).unwrap();
    let json = tree.pkscan(&["scan", "--format", "json"]).json();
    assert_eq!(json.findings[0].path, "bad\\xffname\nwith\u{1b}escape.env");
    let text = tree.pkscan(&["scan", "--color", "never"]).stdout();
    assert!(text.contains("bad\\xffname\\nwith\\x1bescape.env"), "{text}");
    assert!(!text.contains('\x1b'));
    let sarif = tree.pkscan(&["scan", "--format", "sarif"]).stdout();
    let value: serde_json::Value = serde_json::from_str(&sarif).unwrap();
    let uri = value["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
        ["artifactLocation"]["uri"]
        .as_str()
        .unwrap();
    assert_eq!(uri, "bad%5Cxffname%0Awith%1Bescape.env");
    let github = tree.pkscan(&["scan", "--format", "github"]).stdout();
    assert!(github.starts_with("::error file=bad\\xffname%0Awith"), "{github}");
    assert!(!github.contains('\x1b'));
}

#[test]
fn terminal_escapes_in_content_never_reach_the_terminal() {
    let tree =
        Tree::new(&[("x/.env", &format!("\x1b]0;pwned\x07\x1b[2J K={} \x1b[31m\r\n", key(107)))]);
    for format in ["text", "github"] {
        let out = tree.pkscan(&["scan", "--format", format, "--color", "never"]).stdout();
        assert!(
            !out.contains('\x1b') && !out.contains('\x07') && !out.contains('\r'),
            "{format}: {out:?}"
        );
    }
}

#[test]
fn empty_and_nul_only_files() {
    let tree = Tree::new(&[("empty", ""), ("nul", "\0\0\0\0")]);
    tree.write("zeros.bin", &vec![0u8; 1 << 20]);
    let report = tree.pkscan(&["scan", "--format", "json"]).json();
    assert_eq!(report.summary.files_scanned, 3);
    assert!(report.findings.is_empty() && report.errors.is_empty());
}

#[test]
fn a_100_mb_single_line_is_scanned_in_one_pass() {
    let tree = Tree::new(&[]);
    let mut line = vec![b'a'; 100 << 20];
    let k = key(108);
    let at = 99 << 20;
    line[at - 1] = b'"';
    line[at..at + k.len()].copy_from_slice(k.as_bytes());
    line[at + k.len()] = b'"';
    tree.write("dist/app.js", &line);
    let report = tree.pkscan(&["scan", "--format", "json"]).json();
    assert_eq!(
        report.places(),
        vec![(
            "dist/app.js".into(),
            1,
            at as u64 + 1,
            "klaviyo-private-key-in-public-asset".into()
        )]
    );
}

#[test]
fn deep_trees_and_many_files() {
    let tree = Tree::new(&[]);
    let mut deep = tree.path().to_path_buf();
    for _ in 0..1000 {
        deep.push("d");
    }
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(deep.join("k.env"), format!("K={}", key(109))).unwrap();
    let many = tree.path().join("many");
    std::fs::create_dir(&many).unwrap();
    for i in 0..200_000 {
        std::fs::File::create(many.join(i.to_string())).unwrap();
    }
    let report = tree.pkscan(&["scan", "--format", "json"]).json();
    assert_eq!(report.summary.files_scanned, 200_001);
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.findings[0].path, format!("{}k.env", "d/".repeat(1000)));
}

#[test]
fn a_sparse_5_gb_file_scans_to_the_end() {
    let tree = Tree::new(&[]);
    let path = tree.path().join("huge.img");
    let file = std::fs::File::create(&path).unwrap();
    let size: u64 = 5 << 30;
    file.set_len(size).unwrap();
    use std::os::unix::fs::FileExt;
    let k = key(110);
    file.write_all_at(format!("\n{k}\n").as_bytes(), size - 100).unwrap();
    drop(file);
    let report = tree.pkscan(&["scan", "--format", "json"]).json();
    assert_eq!(report.summary.bytes_scanned, size);
    assert_eq!(report.places(), vec![("huge.img".into(), 2, 1, "klaviyo-private-key".into())]);
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let tree = Tree::new(&[]);
    for i in 0..2000 {
        tree.write(&format!("f{i}.env"), format!("K={}\n", key(200 + i)).as_bytes());
    }
    let script = format!(
        "'{}' scan --color never | head -n 1; echo \"status=${{PIPESTATUS[0]}}\"",
        env!("CARGO_BIN_EXE_pkscan")
    );
    let output = std::process::Command::new("bash")
        .arg("-c")
        .arg(script)
        .current_dir(tree.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.trim_end().ends_with("status=1"), "{stdout}");
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

#[test]
fn an_unwritable_output_is_exit_2() {
    let tree = Tree::new(&[("a.env", &format!("K={}", key(111)))]);
    let run = tree.pkscan(&["scan", "a.env", "--output", "no/such/dir/report.json"]);
    run.expect_code(2);
    assert!(
        run.stderr().contains("cannot write the report to no/such/dir/report.json"),
        "{}",
        run.stderr()
    );
    // A full disk: /dev/full fails every write with ENOSPC, and stays a device.
    let full = tree.pkscan(&["scan", "a.env", "--output", "/dev/full"]);
    full.expect_code(2);
    assert!(full.stderr().contains("No space left on device"), "{}", full.stderr());
    let null = tree.pkscan(&["scan", "a.env", "--format", "json", "--output", "/dev/null"]);
    null.expect_code(1);
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::metadata("/dev/null").unwrap().file_type().is_char_device());
    assert!(std::fs::metadata("/dev/full").unwrap().file_type().is_char_device());
}
