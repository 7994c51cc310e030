//! From clap's arguments to the library's plain data: `Options`, `GitOptions`,
//! `UrlOptions`. This is the only code that knows both; the library never sees a flag.

use anyhow::{bail, Context, Result};

use super::{
    ColorArg, CommonArgs, DecodeArgs, FormatArg, GitArgs, MergeArgs, ReposArgs, RulesArgs,
    ScanArgs, SeverityArg, UrlArgs,
};
use crate::baseline::Baseline;
use crate::config::{file, parse_size, ColorChoice, Limits, Options};
use crate::finding::Severity;
use crate::report::Format;

impl ScanArgs {
    /// Options for `pkscan scan`.
    pub fn options(&self) -> Result<Options> {
        let args = self;
        let mut opts = Options { paths: args.paths.clone(), ..Options::default() };
        apply_files(&mut opts, &args.common)?;
        apply_common(&mut opts, &args.common);
        opts.gitignore |= args.walk.gitignore;
        opts.follow |= args.walk.follow;
        opts.mmap &= !args.walk.no_mmap;
        apply_selection(&mut opts, &args.walk.exclude, args.walk.max_file_size.as_deref())?;
        opts.decode = !args.decode.no_decode;
        opts.limits = limits_of(&args.decode)?;
        Ok(opts)
    }
}

impl RulesArgs {
    /// Options for `pkscan rules`: only the config's custom rules matter.
    pub fn options(&self) -> Result<Options> {
        let mut opts = Options::default();
        if let Some(path) = file::locate(self.config.as_deref(), None) {
            opts.apply_config(file::load(&path)?);
        }
        Ok(opts)
    }
}

impl GitArgs {
    /// Options for `pkscan git`; the repository is the one scanned path.
    pub fn options(&self) -> Result<Options> {
        let args = self;
        let mut opts = Options { paths: vec![args.repo.clone()], ..Options::default() };
        apply_files(&mut opts, &args.common)?;
        apply_common(&mut opts, &args.common);
        apply_selection(&mut opts, &args.exclude, args.max_file_size.as_deref())?;
        opts.decode = !args.decode.no_decode;
        opts.limits = limits_of(&args.decode)?;
        Ok(opts)
    }

    /// What `pkscan git` selects; the caller decides on the progress bar.
    pub fn git_options(&self) -> crate::GitOptions {
        let args = self;
        crate::GitOptions {
            repo: args.repo.clone(),
            staged: args.staged,
            branch: args.branch.clone(),
            range: args.range.clone(),
            progress: false,
        }
    }
}

impl UrlArgs {
    /// Options for `pkscan url`: the config file is looked up from the current directory.
    pub fn options(&self) -> Result<Options> {
        let args = self;
        let mut opts = Options { paths: Vec::new(), ..Options::default() };
        apply_files(&mut opts, &args.common)?;
        apply_common(&mut opts, &args.common);
        opts.decode = !args.decode.no_decode;
        opts.limits = limits_of(&args.decode)?;
        Ok(opts)
    }

    /// What `pkscan url` fetches and how; the caller decides on the progress line.
    pub fn url_options(&self) -> Result<crate::UrlOptions> {
        url_options(self)
    }
}

impl ReposArgs {
    /// Options for `pkscan repos`: no configuration is read from the audited repositories
    /// (one could otherwise allow its own keys away), only `--config FILE`.
    pub fn options(&self) -> Result<Options> {
        let args = self;
        let mut opts = Options { paths: Vec::new(), ..Options::default() };
        if let Some(path) = &args.common.config {
            opts.apply_config(file::load(path)?);
        }
        if let Some(path) = &args.common.baseline {
            opts.baseline = Some(Baseline::load(path)?);
        }
        apply_common(&mut opts, &args.common);
        apply_selection(&mut opts, &args.exclude, args.max_file_size.as_deref())?;
        opts.decode = !args.decode.no_decode;
        opts.limits = limits_of(&args.decode)?;
        Ok(opts)
    }

    /// What `pkscan repos` audits, from its arguments and `GITHUB_TOKEN`; the caller
    /// decides on progress.
    pub fn repos_options(&self) -> Result<crate::ReposOptions> {
        use crate::repos::github::{Listing, Owner, Token};
        let args = self;
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
                "name the repositories: paths or clone URLs, \"-\" or --from FILE for a list, \
                 or --github-org ORG / --github-user USER"
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
}

impl MergeArgs {
    /// Options for `pkscan merge`: only how to print and judge the merged report.
    pub fn options(&self) -> Options {
        let args = self;
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
}

/// Reads what the shared options point at: the config file (found from the first path
/// unless `--config` names one) and the `--baseline`, before the flags override them.
fn apply_files(opts: &mut Options, common: &CommonArgs) -> Result<()> {
    opts.load_files(common.config.as_deref(), common.baseline.as_deref())
}

fn apply_common(opts: &mut Options, common: &CommonArgs) {
    opts.format = format_of(common.format);
    opts.output = common.output.clone();
    opts.show_secrets = common.show_secrets;
    opts.color = color_of(common.color);
    if let Some(level) = common.fail_on {
        opts.fail_on = severity_of(level);
    }
    opts.strict = common.strict;
    if let Some(threads) = common.threads {
        opts.threads = threads;
    }
    let verify = &common.verify;
    opts.verify =
        (verify.verify || verify.verify_only_live).then(|| crate::verify::VerifyOptions {
            api_base: verify.klaviyo_api_base.clone(),
            timeout: std::time::Duration::from_secs(verify.verify_timeout),
            only_live: verify.verify_only_live,
        });
}

fn format_of(format: FormatArg) -> Format {
    match format {
        FormatArg::Text => Format::Text,
        FormatArg::Json => Format::Json,
        FormatArg::Sarif => Format::Sarif,
        FormatArg::Github => Format::Github,
        FormatArg::Html => Format::Html,
    }
}

fn color_of(color: ColorArg) -> ColorChoice {
    match color {
        ColorArg::Auto => ColorChoice::Auto,
        ColorArg::Always => ColorChoice::Always,
        ColorArg::Never => ColorChoice::Never,
    }
}

fn url_options(args: &UrlArgs) -> Result<crate::UrlOptions> {
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
fn parse_header(text: &str) -> Result<(String, String)> {
    let Some((name, value)) = text.split_once(':') else {
        bail!("--header needs the form \"Name: value\", e.g. --header \"Authorization: Basic …\"");
    };
    let name = name.trim();
    let is_token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(is_token) {
        bail!("--header {:?}: not a valid header name", crate::sanitize::escape_control(name));
    }
    let value = value.trim();
    if value.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        bail!("--header \"{name}: …\": the value holds a control character");
    }
    Ok((name.to_string(), value.to_string()))
}

/// Parses `20s`, `1.5s`, `500ms`, `2m` or `20` (seconds); zero is refused.
fn parse_duration(text: &str) -> Result<std::time::Duration> {
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
/// `--exclude` (added to the config's) and `--max-file-size` (over the config's).
fn apply_selection(
    opts: &mut Options,
    exclude: &[String],
    max_file_size: Option<&str>,
) -> Result<()> {
    opts.exclude.extend(exclude.iter().cloned());
    if let Some(size) = max_file_size {
        opts.max_file_size =
            Some(parse_size(size).with_context(|| format!("--max-file-size {size:?}"))?);
    }
    Ok(())
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

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

    #[test]
    fn flags_override_the_file_and_the_file_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("c.toml");
        std::fs::write(&config, "[scan]\nthreads = 3\nfail_on = \"high\"\nexclude = [\"a/\"]\n")
            .unwrap();
        let parse = |extra: &[&str]| {
            let mut args = vec!["pkscan", "scan", "--config", config.to_str().unwrap()];
            args.extend_from_slice(extra);
            let super::super::Command::Scan(scan) = super::super::Cli::parse_from(args).command
            else {
                panic!("scan")
            };
            scan.options().unwrap()
        };
        let from_file = parse(&[]);
        assert_eq!((from_file.threads, from_file.fail_on), (3, Severity::High));
        assert_eq!(from_file.exclude, ["a/"]);
        assert_eq!(from_file.config_file.as_deref(), Some(config.as_path()));
        let flagged = parse(&["-j", "1", "--fail-on", "low", "--exclude", "b/"]);
        assert_eq!((flagged.threads, flagged.fail_on), (1, Severity::Low));
        assert_eq!(flagged.exclude, ["a/", "b/"], "excludes add up");
    }
}
