//! Integration tests: drive the `pkscan` binary (and the library) on fixture trees and on
//! temp trees built in one call. Keys are synthetic, from [`key`] and [`newer_key`] only.

// Helpers fail loudly by design: a broken fixture is a failed test.
#![allow(clippy::unwrap_used)]

mod config;
mod core;
mod decode;
mod git;
#[cfg(unix)] // FIFOs, sockets, permissions, symlinks and byte-named files
mod hostile;
mod html;
mod hygiene;
mod js;
mod keys;
mod packs;
mod recipes;
mod repos;
mod url;
mod verify;

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde::Deserialize;
use tempfile::TempDir;

/// A synthetic private key of the classic shape: `pk_` + 34 lowercase hex, derived from
/// `seed` (splitmix64), never a placeholder and never a real key.
pub fn key(seed: u64) -> String {
    format!("pk_{}", hex_digits(seed, 34))
}

/// A synthetic private key of the newer shape: `pk_` + 6 alphanumerics + `_` + 34 hex.
pub fn newer_key(seed: u64) -> String {
    format!("pk_{}_{}", &hex_digits(seed ^ 0x5eed, 6).replace('0', "Q"), hex_digits(seed, 34))
}

fn hex_digits(seed: u64, len: usize) -> String {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(0xD1B5_4A32_D192_ED03);
    let mut out = String::new();
    while out.len() < len {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        for nibble in 0..16 {
            let digit = (z >> (nibble * 4)) & 0xF;
            let c = char::from_digit(digit as u32, 16).expect("a nibble is a hex digit");
            // Keep the key clear of the placeholder heuristics: no runs, no sequences.
            let last = out.chars().last();
            if last.is_some_and(|l| {
                l == c
                    || (l as u8).wrapping_add(1) == c as u8
                    || (c as u8).wrapping_add(1) == l as u8
            }) {
                continue;
            }
            out.push(c);
            if out.len() == len {
                break;
            }
        }
    }
    out
}

/// A temp directory holding the given files (parents created), removed on drop.
pub struct Tree {
    pub dir: TempDir,
}

impl Tree {
    pub fn new(files: &[(&str, &str)]) -> Tree {
        let tree = Tree { dir: TempDir::new().expect("temp dir") };
        for (path, content) in files {
            tree.write(path, content.as_bytes());
        }
        tree
    }

    pub fn write(&self, path: &str, content: &[u8]) -> PathBuf {
        let full = self.dir.path().join(path);
        std::fs::create_dir_all(full.parent().expect("a file has a parent")).expect("mkdir");
        std::fs::write(&full, content).expect("write fixture file");
        full
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `git ARGS` inside the tree, with a fixed identity and no system config; panics
    /// when git fails.
    pub fn git(&self, args: &[&str]) {
        let status = std::process::Command::new("git")
            .args(args)
            .current_dir(self.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .status()
            .expect("git runs");
        assert!(status.success(), "git {args:?}");
    }

    /// `pkscan ARGS` run inside the tree.
    pub fn pkscan(&self, args: &[&str]) -> Run {
        Run::new(pkscan_in(self.path(), args))
    }
}

/// The binary, with a clean environment, run in `cwd`.
pub fn pkscan_in(cwd: &Path, args: &[&str]) -> Output {
    Command::cargo_bin("pkscan")
        .expect("the pkscan binary is built")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .current_dir(cwd)
        .args(args)
        .output()
        .expect("pkscan runs")
}

/// The repository root, where `fixtures/` lives.
pub fn project_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A finished run, with everything needed to explain a failure.
pub struct Run {
    pub output: Output,
}

impl Run {
    pub fn new(output: Output) -> Run {
        Run { output }
    }

    pub fn code(&self) -> i32 {
        self.output.status.code().unwrap_or(-1)
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// Asserts the exit code, printing stdout and stderr when it differs.
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code(),
            code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }

    /// The JSON report on stdout, through the test's own mirror types.
    pub fn json(&self) -> JsonReport {
        let report: JsonReport = serde_json::from_slice(&self.output.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not a JSON report ({e})\n--- stdout\n{}\n--- stderr\n{}",
                self.stdout(),
                self.stderr()
            )
        });
        for key in &report.keys {
            assert_eq!(key.public_keys_seen, report.public_keys_seen, "one list for the run");
        }
        report
    }
}

/// The contract's JSON report, mirrored by the tests (not the crate's own types), with
/// unknown fields rejected so a renamed field fails loudly.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonReport {
    pub version: u32,
    pub tool: JsonTool,
    pub findings: Vec<JsonFinding>,
    pub keys: Vec<JsonKey>,
    /// The run's public keys, as on each key; there also when there is no key.
    pub public_keys_seen: Vec<JsonPublicKeySeen>,
    pub summary: JsonSummary,
    pub errors: Vec<JsonError>,
    #[serde(default)]
    pub skipped_urls: Option<Vec<String>>,
}

/// A `keys` entry. The git fields are absent outside `git` (so `None` there); `removed`
/// is also `None` when it is `null`.
#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct JsonKey {
    pub secret: String,
    pub secret_sha256: String,
    pub severity: String,
    pub rules: Vec<String>,
    pub findings: Vec<String>,
    #[serde(default)]
    pub repositories: Option<Vec<String>>,
    #[serde(default)]
    pub introduced: Option<serde_json::Value>,
    #[serde(default)]
    pub removed: Option<serde_json::Value>,
    #[serde(default)]
    pub in_head: Option<bool>,
    #[serde(default)]
    pub refs: Option<Vec<String>>,
    pub public_api_key: Option<JsonPublicApiKey>,
    pub public_keys_seen: Vec<JsonPublicKeySeen>,
    #[serde(default)]
    pub verification: Option<serde_json::Value>,
    pub fix: Vec<String>,
}

#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct JsonPublicApiKey {
    pub id: String,
    pub source: String,
}

#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct JsonPublicKeySeen {
    pub id: String,
    pub path: String,
    pub line: u64,
}

impl JsonKey {
    /// The id of a commit field (`introduced`, `removed`), if it is one.
    pub fn commit_id(field: &Option<serde_json::Value>) -> Option<&str> {
        field.as_ref().and_then(|c| c["id"].as_str())
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonTool {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Deserialize, Clone, PartialEq)]
pub struct JsonFinding {
    pub rule_id: String,
    pub severity: String,
    pub path: String,
    pub line: u64,
    pub column: u64,
    pub end_line: u64,
    pub end_column: u64,
    pub secret: String,
    pub secret_sha256: String,
    pub fingerprint: String,
    pub decoded: Vec<String>,
    pub message: String,
    pub commit: Option<serde_json::Value>,
    #[serde(default)]
    pub verification: Option<serde_json::Value>,
    #[serde(default)]
    pub original: Option<serde_json::Value>,
    #[serde(default)]
    pub repository: Option<String>,
}

#[derive(Debug, Deserialize, Clone, PartialEq, Default)]
pub struct JsonSummary {
    pub files_scanned: u64,
    pub bytes_scanned: u64,
    pub findings: u64,
    pub baselined: u64,
    pub allowed: u64,
    pub skipped: u64,
    pub errors: u64,
    pub elapsed_ms: u64,
    #[serde(default)]
    pub history_partial: Option<bool>,
    #[serde(default)]
    pub urls_fetched: Option<u64>,
    #[serde(default)]
    pub urls_skipped: Option<u64>,
}

#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct JsonError {
    pub path: String,
    pub message: String,
}

impl JsonReport {
    /// (path, line, column, rule) of every finding, in report order.
    pub fn places(&self) -> Vec<(String, u64, u64, String)> {
        self.findings
            .iter()
            .map(|f| (f.path.clone(), f.line, f.column, f.rule_id.clone()))
            .collect()
    }
}
