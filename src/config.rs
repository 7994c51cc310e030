//! `Options`: everything a run needs, as one plain struct with defaults. Built once from
//! the command line and, where present, `.pkscan.toml` (`file`), validated here, and passed
//! by reference to the library. Precedence: flags over the file over defaults. Tests build
//! `Options::default()`, never a CLI struct.

pub mod file;

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use crate::allow::Allowlist;
use crate::baseline::Baseline;
use crate::cli::{
    ColorArg, CommonArgs, DecodeArgs, FormatArg, GitArgs, MergeArgs, ReposArgs, RulesArgs,
    ScanArgs, SeverityArg, UrlArgs,
};
use crate::detect::custom::CustomRules;
use crate::finding::Severity;
use crate::rules::Rule;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Text,
    Json,
    Sarif,
    Github,
}

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
    /// Options for `pkscan scan`.
    pub fn from_scan_args(args: &ScanArgs) -> Result<Options> {
        let mut opts = Options { paths: args.paths.clone(), ..Options::default() };
        opts.apply_files(&args.common)?;
        opts.apply_common(&args.common);
        opts.gitignore |= args.walk.gitignore;
        opts.follow |= args.walk.follow;
        opts.mmap &= !args.walk.no_mmap;
        opts.exclude.extend(args.walk.exclude.iter().cloned());
        if let Some(size) = &args.walk.max_file_size {
            opts.max_file_size =
                Some(parse_size(size).with_context(|| format!("--max-file-size {size:?}"))?);
        }
        opts.decode = !args.decode.no_decode;
        opts.limits = limits_of(&args.decode)?;
        Ok(opts)
    }

    /// Options for `pkscan rules`: only the config's custom rules matter.
    pub fn from_rules_args(args: &RulesArgs) -> Result<Options> {
        let mut opts = Options::default();
        if let Some(path) = file::locate(args.config.as_deref(), None) {
            opts.apply_config(file::load(&path)?);
        }
        Ok(opts)
    }

    /// Reads what the shared options point at: the config file (found from the first
    /// path unless `--config` names one) and the `--baseline`. Call before the flags are
    /// applied, so that they override the file.
    pub fn apply_files(&mut self, common: &CommonArgs) -> Result<()> {
        let first = self.paths.first().map(PathBuf::as_path);
        if let Some(path) = file::locate(common.config.as_deref(), first) {
            self.apply_config(file::load(&path)?);
        }
        if let Some(path) = &common.baseline {
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

    /// Options for `pkscan git`; the repository is the one scanned path.
    pub fn from_git_args(args: &GitArgs) -> Result<Options> {
        let mut opts = Options { paths: vec![args.repo.clone()], ..Options::default() };
        opts.apply_files(&args.common)?;
        opts.apply_common(&args.common);
        opts.exclude.extend(args.exclude.iter().cloned());
        if let Some(size) = &args.max_file_size {
            opts.max_file_size =
                Some(parse_size(size).with_context(|| format!("--max-file-size {size:?}"))?);
        }
        opts.decode = !args.decode.no_decode;
        Ok(opts)
    }

    /// Options for `pkscan url`: the config file is looked up from the current directory.
    pub fn from_url_args(args: &UrlArgs) -> Result<Options> {
        let mut opts = Options { paths: Vec::new(), ..Options::default() };
        opts.apply_files(&args.common)?;
        opts.apply_common(&args.common);
        opts.decode = !args.decode.no_decode;
        Ok(opts)
    }

    /// Options for `pkscan repos`: no configuration is read from the audited repositories
    /// (one could otherwise allow its own keys away), only `--config FILE`.
    pub fn from_repos_args(args: &ReposArgs) -> Result<Options> {
        let mut opts = Options { paths: Vec::new(), ..Options::default() };
        if let Some(path) = &args.common.config {
            opts.apply_config(file::load(path)?);
        }
        if let Some(path) = &args.common.baseline {
            opts.baseline = Some(Baseline::load(path)?);
        }
        opts.apply_common(&args.common);
        opts.exclude.extend(args.exclude.iter().cloned());
        if let Some(size) = &args.max_file_size {
            opts.max_file_size =
                Some(parse_size(size).with_context(|| format!("--max-file-size {size:?}"))?);
        }
        opts.decode = !args.decode.no_decode;
        opts.limits = limits_of(&args.decode)?;
        Ok(opts)
    }

    /// Options for `pkscan merge`: only how to print and judge the merged report.
    pub fn from_merge_args(args: &MergeArgs) -> Options {
        Options {
            paths: Vec::new(),
            format: format_of(args.format),
            output: args.output.clone(),
            show_secrets: args.show_secrets,
            color: color_of(args.color),
            fail_on: args.fail_on.map_or(Severity::Medium, severity_of),
            strict: args.strict,
            ..Options::default()
        }
    }

    fn apply_common(&mut self, common: &CommonArgs) {
        self.format = format_of(common.format);
        self.output = common.output.clone();
        self.show_secrets = common.show_secrets;
        self.color = color_of(common.color);
        if let Some(level) = common.fail_on {
            self.fail_on = severity_of(level);
        }
        self.strict = common.strict;
        if let Some(threads) = common.threads {
            self.threads = threads;
        }
        let verify = &common.verify;
        self.verify =
            (verify.verify || verify.verify_only_live).then(|| crate::verify::VerifyOptions {
                api_base: verify.klaviyo_api_base.clone(),
                timeout: std::time::Duration::from_secs(verify.verify_timeout),
                only_live: verify.verify_only_live,
            });
    }

    /// The number of worker threads to use.
    pub fn worker_threads(&self) -> usize {
        match self.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
}

fn format_of(format: FormatArg) -> Format {
    match format {
        FormatArg::Text => Format::Text,
        FormatArg::Json => Format::Json,
        FormatArg::Sarif => Format::Sarif,
        FormatArg::Github => Format::Github,
    }
}

fn color_of(color: ColorArg) -> ColorChoice {
    match color {
        ColorArg::Auto => ColorChoice::Auto,
        ColorArg::Always => ColorChoice::Always,
        ColorArg::Never => ColorChoice::Never,
    }
}

/// What `pkscan repos` audits, from its arguments and `GITHUB_TOKEN`; the caller decides
/// on progress.
pub fn repos_options(args: &ReposArgs) -> Result<crate::ReposOptions> {
    use crate::repos::github::{Listing, Owner, Token};
    let owner = match (&args.github_org, &args.github_user) {
        (Some(org), _) => Some(Owner::Org(org.clone())),
        (None, Some(user)) => Some(Owner::User(user.clone())),
        (None, None) => None,
    };
    let token = std::env::var("GITHUB_TOKEN").ok().filter(|t| !t.is_empty()).map(Token);
    let github = owner.map(|owner| Listing {
        owner,
        api_base: args.github_api_base.clone(),
        skip_forks: args.skip_forks,
        skip_archived: args.skip_archived,
        token,
        max_wait: std::time::Duration::from_secs(120),
    });
    if github.is_none() && args.sources.is_empty() && args.from.is_none() {
        bail!(
            "name the repositories: paths or clone URLs, \"-\" or --from FILE for a list, or \
             --github-org ORG / --github-user USER"
        );
    }
    Ok(crate::ReposOptions {
        sources: args.sources.clone(),
        from: args.from.clone(),
        github,
        shard: args.shard.as_deref().map(crate::repos::Shard::parse).transpose()?,
        jobs: usize::try_from(args.jobs).unwrap_or(1),
        keep_clones: args.keep_clones.clone(),
        progress: false,
    })
}

/// What `pkscan git` selects, from its arguments; the caller decides on the progress bar.
pub fn git_options(args: &GitArgs) -> crate::GitOptions {
    crate::GitOptions {
        repo: args.repo.clone(),
        staged: args.staged,
        branch: args.branch.clone(),
        range: args.range.clone(),
        progress: false,
    }
}

/// What `pkscan url` fetches and how, from its arguments; the caller decides on the
/// progress line.
pub fn url_options(args: &UrlArgs) -> Result<crate::UrlOptions> {
    let defaults = crate::UrlOptions::default();
    let ensure_positive = |n: usize, flag: &str| -> Result<usize> {
        if n == 0 {
            bail!("{flag} must be at least 1");
        }
        Ok(n)
    };
    Ok(crate::UrlOptions {
        urls: args.urls.clone(),
        depth: args.depth,
        max_pages: ensure_positive(args.max_pages, "--max-pages")?,
        allow_hosts: args.allow_host.clone(),
        timeout: parse_duration(&args.timeout)
            .with_context(|| format!("--timeout {:?}", args.timeout))?,
        max_response_bytes: parse_size(&args.max_response_bytes)
            .with_context(|| format!("--max-response-bytes {:?}", args.max_response_bytes))?,
        concurrency: ensure_positive(args.concurrency, "--concurrency")?,
        max_requests: ensure_positive(args.max_requests, "--max-requests")?,
        headers: args.header.iter().map(|h| parse_header(h)).collect::<Result<_>>()?,
        user_agent: args.user_agent.clone().unwrap_or(defaults.user_agent),
        ..defaults
    })
}

/// `Name: value` as (name, value). Errors name the header, never show its value.
pub fn parse_header(text: &str) -> Result<(String, String)> {
    let Some((name, value)) = text.split_once(':') else {
        bail!("--header needs the form \"Name: value\", e.g. --header \"Authorization: Basic …\"");
    };
    let name = name.trim();
    let is_token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(is_token) {
        bail!("--header {:?}: not a valid header name", crate::report::escape_control(name));
    }
    let value = value.trim();
    if value.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        bail!("--header \"{name}: …\": the value holds a control character");
    }
    Ok((name.to_string(), value.to_string()))
}

/// Parses `20s`, `1.5s`, `500ms`, `2m` or `20` (seconds); zero is refused.
pub fn parse_duration(text: &str) -> Result<std::time::Duration> {
    let trimmed = text.trim();
    let split = trimmed.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let Ok(number) = number.parse::<f64>() else {
        bail!("expected a duration such as 20s, 1.5s or 500ms");
    };
    let seconds = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "s" | "sec" | "secs" => number,
        "ms" => number / 1000.0,
        "m" | "min" => number * 60.0,
        other => bail!("unknown duration unit {other:?}; expected ms, s or m"),
    };
    let duration = std::time::Duration::try_from_secs_f64(seconds)
        .map_err(|_| anyhow::anyhow!("expected a duration such as 20s, 1.5s or 500ms"))?;
    if duration.is_zero() {
        bail!("the timeout must be more than zero");
    }
    Ok(duration)
}

/// The decoding limits: the defaults, with what the command line overrides.
fn limits_of(args: &DecodeArgs) -> Result<Limits> {
    let mut limits = Limits::default();
    let size = |flag: &str, text: &String| {
        parse_size(text).with_context(|| format!("{flag} {text:?}")).and_then(|n| {
            if n == 0 {
                bail!("{flag} must be more than 0");
            }
            Ok(n)
        })
    };
    if let Some(text) = &args.max_member_size {
        limits.max_member_bytes = size("--max-member-size", text)?;
    }
    if let Some(text) = &args.max_total_size {
        limits.max_file_bytes = size("--max-total-size", text)?;
    }
    if let Some(ratio) = args.max_ratio {
        limits.max_ratio = ratio;
    }
    if let Some(depth) = args.max_depth {
        limits.max_depth = depth;
    }
    if let Some(members) = args.max_members {
        limits.max_members = members;
    }
    Ok(limits)
}

fn severity_of(level: SeverityArg) -> Severity {
    match level {
        SeverityArg::Critical => Severity::Critical,
        SeverityArg::High => Severity::High,
        SeverityArg::Medium => Severity::Medium,
        SeverityArg::Low => Severity::Low,
    }
}

/// Parses `2GiB`, `500MiB`, `64k`, `1G`, `1024` (bytes; K/M/G/T are powers of 1024).
pub fn parse_size(text: &str) -> Result<u64> {
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

    #[test]
    fn durations() {
        use std::time::Duration;
        assert_eq!(parse_duration("20").unwrap(), Duration::from_secs(20));
        assert_eq!(parse_duration("20s").unwrap(), Duration::from_secs(20));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        for bad in ["", "0", "fast", "5h", "-1s", "1e99"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn headers_parse_and_errors_hide_values() {
        assert_eq!(parse_header("X-Token:  abc ").unwrap(), ("X-Token".into(), "abc".into()));
        let err = format!("{:#}", parse_header("X-Token: sec\nret").unwrap_err());
        assert!(!err.contains("sec"), "{err}");
        assert!(parse_header("no colon").is_err());
        assert!(parse_header("bad name: v").is_err());
    }
}
