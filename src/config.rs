//! `Options`: everything a run needs, as one plain struct with defaults. Built once (by
//! `cli` from the command line, or by tests and benchmarks directly) with, where present,
//! `.pkscan.toml` (`file`), validated here, and passed by reference to the library.
//! Precedence: flags over the file over defaults. Knows nothing of clap: tests build
//! `Options::default()`, never a CLI struct.

pub(crate) mod file;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::allow::Allowlist;
use crate::baseline::Baseline;
use crate::detect::custom::CustomRules;
use crate::finding::Severity;
use crate::report::Format;
use crate::rules::Rule;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

pub use crate::decode::Limits;

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct Options {
    /// What to scan; `-` is standard input.
    pub paths: Vec<PathBuf>,
    pub format: Format,
    pub output: Option<PathBuf>,
    pub show_secrets: bool,
    pub color: ColorChoice,
    /// 0 means one per core.
    pub threads: usize,
    pub fail_on: Severity,
    pub strict: bool,
    pub gitignore: bool,
    pub follow: bool,
    /// Gitignore-style globs of paths not read at all.
    pub exclude: Vec<String>,
    pub max_file_size: Option<u64>,
    /// Scan large regular files through memory maps (`--no-mmap` turns this off).
    pub mmap: bool,
    /// Undo encodings, compression and containers (`--no-decode` turns this off).
    pub decode: bool,
    pub limits: Limits,
    /// The config's `[allow]`: findings scanned, then suppressed and counted.
    pub allow: Allowlist,
    /// The config's `[[rule]]`s, run beside the built-in rules.
    pub custom_rules: CustomRules,
    /// `--baseline`: findings of an earlier report, not reported again.
    pub baseline: Option<Baseline>,
    /// The config file that was read, if any.
    pub config_file: Option<PathBuf>,
    /// `--verify`: check each key with Klaviyo. `None` (the default): no network at all.
    pub verify: Option<crate::verify::VerifyOptions>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            paths: vec![PathBuf::from(".")],
            format: Format::Text,
            output: None,
            show_secrets: false,
            color: ColorChoice::Auto,
            threads: 0,
            fail_on: Severity::Medium,
            strict: false,
            gitignore: false,
            follow: false,
            mmap: true,
            exclude: Vec::new(),
            max_file_size: None,
            decode: true,
            limits: Limits::default(),
            allow: Allowlist::default(),
            custom_rules: CustomRules::default(),
            baseline: None,
            config_file: None,
            verify: None,
        }
    }
}

impl Options {
    /// Reads the config file (`config`, else `.pkscan.toml` found from the first path)
    /// and the baseline. Call before flags are applied, so that they override the file.
    pub fn load_files(&mut self, config: Option<&Path>, baseline: Option<&Path>) -> Result<()> {
        let first = self.paths.first().map(PathBuf::as_path);
        if let Some(path) = file::locate(config, first) {
            self.apply_config(file::load(&path)?);
        }
        if let Some(path) = baseline {
            self.baseline = Some(Baseline::load(path)?);
        }
        Ok(())
    }

    /// Takes every value the config file sets.
    pub fn apply_config(&mut self, config: file::ConfigFile) {
        let scan = config.scan;
        self.exclude.extend(scan.exclude);
        self.gitignore = scan.gitignore.unwrap_or(self.gitignore);
        self.follow = scan.follow.unwrap_or(self.follow);
        self.max_file_size = scan.max_file_size.or(self.max_file_size);
        self.threads = scan.threads.unwrap_or(self.threads);
        self.fail_on = scan.fail_on.unwrap_or(self.fail_on);
        let limits = &mut self.limits;
        limits.max_member_bytes = scan.max_member_bytes.unwrap_or(limits.max_member_bytes);
        limits.max_file_bytes = scan.max_file_bytes.unwrap_or(limits.max_file_bytes);
        limits.max_ratio = scan.max_ratio.unwrap_or(limits.max_ratio);
        limits.ratio_floor = scan.ratio_floor.unwrap_or(limits.ratio_floor);
        limits.max_depth = scan.max_depth.unwrap_or(limits.max_depth);
        limits.max_members = scan.max_members.unwrap_or(limits.max_members);
        self.allow = config.allow;
        self.custom_rules = CustomRules::new(config.rules);
        self.config_file = Some(config.path);
    }

    /// Every rule of this run: the built-in ones, then the config's, as printers list them.
    pub fn rules(&self) -> Vec<Rule> {
        let mut rules = crate::rules::builtin_rules();
        rules.extend(self.custom_rules.rules().iter().map(|r| r.rule()));
        rules
    }

    /// The number of worker threads to use.
    pub fn worker_threads(&self) -> usize {
        match self.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
}

/// Parses `2GiB`, `500MiB`, `64k`, `1G`, `1024` (bytes; K/M/G/T are powers of 1024).
pub(crate) fn parse_size(text: &str) -> Result<u64> {
    let trimmed = text.trim();
    let digits_end = trimmed.find(|c: char| !c.is_ascii_digit()).unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(digits_end);
    let Ok(number) = number.parse::<u64>() else {
        bail!("expected a size such as 500MiB, 2GiB or 1048576");
    };
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        other => bail!("unknown size unit {other:?}; expected B, KiB, MiB, GiB or TiB"),
    };
    number.checked_mul(1u64 << shift).context("size is too large")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1024").unwrap(), 1024);
        assert_eq!(parse_size("2GiB").unwrap(), 2 << 30);
        assert_eq!(parse_size("500MiB").unwrap(), 500 << 20);
        assert_eq!(parse_size("64k").unwrap(), 64 << 10);
        assert!(parse_size("lots").is_err());
        assert!(parse_size("5 parsecs").is_err());
        assert!(parse_size("99999999999T").is_err());
    }
}
