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

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
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
    let jobs = repos.jobs.clamp(1, listed.len().max(1));
    let running = AtomicUsize::new(jobs);
    std::thread::scope(|scope| {
        for job in 0..jobs {
            let (next, results, running) = (&next, &results, &running);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(repo) = listed.get(i) else { break };
                    progress.start(job, &repo.name);
                    let result = scan_one(opts, repos, repo, &|phase| progress.phase(job, phase))
                        .map_err(|err| format!("{err:#}"));
                    progress.done(job);
                    results.lock().expect("no job panics holding the lock")[i] = Some(result);
                }
                running.fetch_sub(1, Ordering::Relaxed);
            });
        }
        if progress.is_on() {
            // Clones grow on disk while git fetches: the bytes move between job events.
            scope.spawn(|| {
                while running.load(Ordering::Relaxed) > 0 {
                    std::thread::sleep(std::time::Duration::from_millis(250));
                    progress.show();
                }
            });
        }
    });
    let results = results.into_inner().expect("the jobs have ended");
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("was not scanned (its job ended early)".into())))
        .collect()
}

/// Where a job is with its repository.
enum Phase<'a> {
    /// Cloning (or fetching into) this folder.
    Cloning(&'a Path),
    Scanning,
}

/// One repository's history, as `pkscan git` scans it, with the repository on each
/// finding and key; the baseline applies once fingerprints include the repository.
fn scan_one(
    opts: &Options,
    repos: &ReposOptions,
    repo: &Repository,
    phase: &dyn Fn(Phase<'_>),
) -> Result<Report> {
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
            phase(Phase::Cloning(&dest));
            clone::mirror(url, credentials.as_ref(), &dest)?;
            dest
        }
    };
    // The baseline applies below, once fingerprints include the repository; `--verify`
    // after that, over the combined report (`scan_repos`).
    let unbaselined = Options { baseline: None, verify: None, ..opts.clone() };
    phase(Phase::Scanning);
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

/// Repositories done / total, the bytes cloned so far and what each job is doing, on
/// stderr; nothing when off.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    jobs: Mutex<Vec<Option<Job>>>,
    /// Bytes brought in by the clones (and fetches) that have ended.
    cloned: AtomicU64,
}

/// The repository a job holds, and the clone it is writing, with the bytes that were
/// there before (a kept clone that is fetched into).
struct Job {
    name: String,
    cloning: Option<(PathBuf, u64)>,
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
        Progress { bar, jobs: Mutex::new(Vec::new()), cloned: AtomicU64::new(0) }
    }

    fn is_on(&self) -> bool {
        self.bar.is_some()
    }

    fn with_job(&self, job: usize, change: impl FnOnce(&mut Option<Job>)) {
        if self.bar.is_none() {
            return;
        }
        {
            let mut jobs = self.jobs.lock().expect("no job panics holding the lock");
            if jobs.len() <= job {
                jobs.resize_with(job + 1, || None);
            }
            change(&mut jobs[job]);
        }
        self.show();
    }

    fn start(&self, job: usize, name: &str) {
        self.with_job(job, |slot| *slot = Some(Job { name: name.to_string(), cloning: None }));
    }

    fn phase(&self, job: usize, phase: Phase<'_>) {
        self.with_job(job, |slot| {
            let Some(held) = slot else { return };
            match phase {
                Phase::Cloning(dir) => held.cloning = Some((dir.to_path_buf(), dir_size(dir))),
                Phase::Scanning => {
                    if let Some((dir, before)) = held.cloning.take() {
                        let added = dir_size(&dir).saturating_sub(before);
                        self.cloned.fetch_add(added, Ordering::Relaxed);
                    }
                }
            }
        });
    }

    fn done(&self, job: usize) {
        self.with_job(job, |slot| *slot = None);
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    /// Redraws the message: bytes cloned, then each job's repository and phase.
    fn show(&self) {
        let Some(bar) = &self.bar else { return };
        // Copied out, so the jobs' updates never wait on the folder sizes below.
        let jobs: Vec<(String, Option<(PathBuf, u64)>)> = {
            let jobs = self.jobs.lock().expect("no job panics holding the lock");
            jobs.iter().flatten().map(|job| (job.name.clone(), job.cloning.clone())).collect()
        };
        let mut bytes = self.cloned.load(Ordering::Relaxed);
        let mut doing = Vec::new();
        for (name, cloning) in jobs {
            let name = crate::sanitize::escape_control(&name);
            match cloning {
                Some((dir, before)) => {
                    bytes += dir_size(&dir).saturating_sub(before);
                    doing.push(format!("cloning {name}"));
                }
                None => doing.push(format!("scanning {name}")),
            }
        }
        bar.set_message(progress_message(bytes, &doing));
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn progress_message(bytes: u64, doing: &[String]) -> String {
    let cloned = crate::report::text::human_bytes(bytes);
    if doing.is_empty() {
        format!("{cloned} cloned")
    } else {
        format!("{cloned} cloned · {}", doing.join(", "))
    }
}

/// The bytes of the files below `dir` (a clone: a few folders deep); what cannot be read
/// counts nothing, as it is only shown.
fn dir_size(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            match entry.metadata() {
                Ok(meta) if meta.is_dir() => stack.push(entry.path()),
                Ok(meta) => total += meta.len(),
                Err(_) => {}
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_shows_the_bytes_each_clone_brings_and_what_each_job_does() {
        let clone = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(clone.path().join("objects/pack")).unwrap();
        std::fs::write(clone.path().join("HEAD"), [0u8; 100]).unwrap();
        let bar = indicatif::ProgressBar::hidden();
        let progress =
            Progress { bar: Some(bar.clone()), jobs: Mutex::default(), cloned: AtomicU64::new(0) };
        progress.start(1, "acme/shop");
        progress.start(0, "acme/\u{1b}blog");
        assert_eq!(bar.message(), "0 B cloned · scanning acme/\\x1bblog, scanning acme/shop");
        // A kept clone fetched into: only what the fetch adds counts.
        progress.phase(1, Phase::Cloning(clone.path()));
        std::fs::write(clone.path().join("objects/pack/tmp_pack_1"), [0u8; 50]).unwrap();
        progress.show();
        assert_eq!(bar.message(), "50 B cloned · scanning acme/\\x1bblog, cloning acme/shop");
        progress.phase(1, Phase::Scanning);
        progress.done(0);
        assert_eq!(bar.message(), "50 B cloned · scanning acme/shop");
        progress.done(1);
        assert_eq!((bar.message(), bar.position()), ("50 B cloned".to_string(), 2));
    }

    #[test]
    fn no_progress_holds_nothing() {
        let progress = Progress::new(false, 1);
        progress.start(0, "acme/shop");
        progress.done(0);
        assert!(progress.jobs.lock().unwrap().is_empty());
    }
}
