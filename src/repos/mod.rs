//! `pkscan repos`: the history of many repositories in one run. Lists them (paths, clone
//! URLs, a GitHub organisation), keeps this shard's, then clones and scans at most `jobs`
//! at once, each as `pkscan git` scans one, and combines their reports
//! ([`crate::report::merge::combine`]). A repository that fails is an `errors` entry and
//! the rest go on. It reads no configuration from the repositories it audits: the caller
//! builds the one [`Options`] that applies to all of them.

pub(crate) mod clone;
pub(crate) mod github;
pub(crate) mod shard;
pub(crate) mod source;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use std::io::Read;

use anyhow::{bail, Context, Result};

use crate::finding::{Report, ScanError};
use crate::Options;
pub(crate) use shard::Shard;
pub(crate) use source::{Location, Repository};

/// The longest list of sources read from standard input or `--from`.
const MAX_LIST_BYTES: u64 = 64 << 20;

/// What `pkscan repos` was asked to audit and how, beside the shared [`Options`].
#[derive(Debug, Clone, Default)]
pub struct ReposOptions {
    /// Local paths and clone URLs, in the order given.
    pub sources: Vec<String>,
    /// `--from FILE`: more sources, one a line.
    pub from: Option<PathBuf>,
    /// `--github-org` / `--github-user`: listed through the REST API.
    pub github: Option<github::Listing>,
    pub shard: Option<Shard>,
    /// Repositories cloned and scanned at once (at least 1).
    pub jobs: usize,
    /// Keep mirror clones here (and fetch into them next time) instead of a temporary
    /// folder removed after each scan.
    pub keep_clones: Option<PathBuf>,
    /// Draw progress on stderr (the caller decides: only when it is a terminal).
    pub progress: bool,
}

/// What `pkscan repos` found: the combined report, and how many repositories were
/// selected and how many of those could be scanned.
#[derive(Debug, Clone, Default)]
pub struct ReposScan {
    pub report: Report,
    pub selected: usize,
    pub scanned: usize,
}

/// Lists, shards, clones and scans; a source that is not a repository or URL, or a
/// listing that fails, is an error before anything is scanned.
pub fn scan_repos(opts: &Options, repos: &ReposOptions) -> Result<ReposScan> {
    let started = Instant::now();
    let mut sources = Vec::new();
    for given in &repos.sources {
        match given.as_str() {
            "-" => sources.extend(read_lines(std::io::stdin().lock(), "standard input")?),
            _ => sources.push(given.clone()),
        }
    }
    if let Some(path) = &repos.from {
        let shown = crate::paths::display_path(path);
        let file = std::fs::File::open(path).with_context(|| format!("cannot read {shown}"))?;
        sources.extend(read_lines(file, &shown)?);
    }
    let mut listed: Vec<Repository> =
        sources.iter().map(|s| source::parse(s)).collect::<Result<_>>()?;
    if let Some(listing) = &repos.github {
        listed.extend(github::list(listing)?);
    }
    let mut seen = std::collections::HashSet::new();
    listed.retain(|r| seen.insert(r.name.clone()));
    if let Some(shard) = repos.shard {
        listed.retain(|r| shard.holds(&r.name));
    }
    let progress = Progress::new(repos.progress, listed.len());
    let results = run_jobs(opts, repos, &listed, &progress);
    progress.finish();
    let scanned = results.iter().filter(|r| r.is_ok()).count();
    let reports = results
        .into_iter()
        .zip(&listed)
        .map(|(result, repo)| result.unwrap_or_else(|message| failed(&repo.name, message)))
        .collect();
    let mut report = crate::report::merge::combine(reports);
    // Once for the whole run, after each repository's baseline: a key in ten repositories
    // is one request, and a baselined key none.
    if let Some(verify) = &opts.verify {
        crate::verify::apply(verify, &mut report);
        crate::report::merge::refresh_keys(&mut report);
    }
    report.summary.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(ReposScan { report, selected: listed.len(), scanned })
}

/// Sources one a line, blank lines and `#` comments skipped; at most `MAX_LIST_BYTES`.
fn read_lines(reader: impl Read, shown: &str) -> Result<Vec<String>> {
    let mut text = String::new();
    reader
        .take(MAX_LIST_BYTES + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("cannot read the repository list from {shown}"))?;
    if text.len() as u64 > MAX_LIST_BYTES {
        bail!("the repository list in {shown} is over {} MiB", MAX_LIST_BYTES >> 20);
    }
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect())
}

/// Scans `listed` on `repos.jobs` threads, each taking the next repository; results in
/// listing order.
fn run_jobs(
    opts: &Options,
    repos: &ReposOptions,
    listed: &[Repository],
    progress: &Progress,
) -> Vec<Result<Report, String>> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<Report, String>>>> = Mutex::new(vec![None; listed.len()]);
    std::thread::scope(|scope| {
        for _ in 0..repos.jobs.clamp(1, listed.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(repo) = listed.get(i) else { break };
                progress.start(&repo.name);
                let result = scan_one(opts, repos, repo).map_err(|err| format!("{err:#}"));
                progress.done();
                results.lock().expect("no job panics holding the lock")[i] = Some(result);
            });
        }
    });
    let results = results.into_inner().expect("the jobs have ended");
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("was not scanned (its job ended early)".into())))
        .collect()
}

/// One repository's history, as `pkscan git` scans it, with the repository on each
/// finding and key; the baseline applies once fingerprints include the repository.
fn scan_one(opts: &Options, repos: &ReposOptions, repo: &Repository) -> Result<Report> {
    let scratch;
    let dir = match &repo.location {
        Location::Local(path) => path.clone(),
        Location::Remote { url, credentials } => {
            let parent = match &repos.keep_clones {
                Some(dir) => dir.clone(),
                None => {
                    scratch = clone::Scratch::new()?;
                    scratch.dir.clone()
                }
            };
            let dest = parent.join(clone::folder_name(&repo.name));
            clone::mirror(url, credentials.as_ref(), &dest)?;
            dest
        }
    };
    // The baseline applies below, once fingerprints include the repository; `--verify`
    // after that, over the combined report (`scan_repos`).
    let unbaselined = Options { baseline: None, verify: None, ..opts.clone() };
    let git = crate::GitOptions { repo: dir, ..crate::GitOptions::default() };
    let mut report = crate::scan_git(&unbaselined, &git)?;
    for finding in &mut report.findings {
        finding.repository = Some(repo.name.clone());
    }
    for error in &mut report.errors {
        error.path = format!("{}: {}", repo.name, error.path);
    }
    for key in &mut report.keys {
        key.repositories = vec![repo.name.clone()];
        if let Some(history) = &mut key.history {
            history.refs = history.refs.iter().map(|r| format!("{}:{r}", repo.name)).collect();
        }
    }
    crate::allow::suppress(
        &crate::allow::Allowlist::default(),
        opts.baseline.as_ref(),
        &mut report,
    );
    // A key whose findings the baseline took is no longer in this repository's report.
    let left: std::collections::HashSet<_> = report.findings.iter().map(|f| &f.secret).collect();
    report.keys.retain(|key| left.contains(&key.secret));
    Ok(report)
}

/// The report of a repository that could not be cloned or read.
fn failed(name: &str, message: String) -> Report {
    Report { errors: vec![ScanError::new(name, message)], ..Report::default() }
}

/// Repositories done / total and the ones in flight, on stderr; nothing when off.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn new(on: bool, total: usize) -> Progress {
        let bar = on.then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            let style = indicatif::ProgressStyle::with_template(
                "{pos}/{len} repositories [{elapsed_precise}] {wide_msg}",
            )
            .expect("the template is valid");
            bar.set_style(style);
            bar
        });
        Progress { bar }
    }

    fn start(&self, name: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!(
                "cloning and scanning {}",
                crate::sanitize::escape_control(name)
            ));
        }
    }

    fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
