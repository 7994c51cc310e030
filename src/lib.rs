//! pkscan finds leaked Klaviyo private API keys and says how each one leaked.
//!
//! The library is what the binary, the tests and the benchmarks drive: build an
//! [`Options`], call [`scan`], print the [`Report`] with [`print()`], and map it to an exit
//! code with [`ExitStatus`]. Everything they need is re-exported here; the modules below
//! are the crate's own (see docs/architecture.md), except `cli`, the command line.

pub(crate) mod allow;
pub(crate) mod baseline;
pub mod cli;
pub(crate) mod config;
pub(crate) mod decode;
pub(crate) mod detect;
pub(crate) mod finding;
pub(crate) mod lines;
pub(crate) mod mmap;
pub(crate) mod original;
pub(crate) mod paths;
pub(crate) mod report;
pub(crate) mod repos;
pub(crate) mod rules;
pub(crate) mod sanitize;
pub(crate) mod scan;
pub(crate) mod source;
pub(crate) mod verify;

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};

// The library's face: what the binary, the tests, the benchmarks and the fuzz targets use.
pub use allow::Allowlist;
pub use baseline::Baseline;
pub use config::file::{init as init_config, parse as parse_config, ConfigFile};
pub use config::{ColorChoice, Limits, Options};
pub use detect::asset::{is_on_minified_line, PathTraits};
pub use detect::custom::CustomRules;
pub use detect::{find_candidates, Candidate};
pub use finding::{Finding, Report, ScanError, Secret, Severity};
pub use paths::display_path;
pub use report::merge::{combine as merge_reports, load as load_report};
pub use report::rules::{print_json as print_rules_json, print_text as print_rules_text};
pub use report::{print, ExitStatus, Format, PrintOptions};
pub use repos::{scan_repos, ReposOptions};
pub use rules::Rule;
pub use sanitize::escape_control;
pub use source::git::GitOptions;
pub use source::url::UrlOptions;
pub use verify::VerifyOptions;

/// Scans `opts.paths` (files, directories, or `-` for stdin) and returns the sorted report.
///
/// On Linux, with `opts.mmap` (the default), files of 1 MiB and more are read through
/// memory maps, and the first map installs a process-wide SIGBUS handler (kept for the
/// life of the process) that turns a file cut short under its map into an `errors` entry
/// instead of a crash; faults outside pkscan's maps go to the handler that was there
/// before. A program that must own SIGBUS sets `opts.mmap = false`.
pub fn scan(opts: &Options) -> Result<Report> {
    let started = Instant::now();
    let engine = scan::Engine::new(opts);
    let (stdin, paths): (Vec<_>, Vec<_>) =
        opts.paths.iter().cloned().partition(|p| p == Path::new("-"));
    for path in &paths {
        std::fs::symlink_metadata(path)
            .with_context(|| format!("cannot read {}", paths::display_path(path)))?;
    }
    let mut collected = source::fs::scan_paths(opts, &paths, &|| engine.sink())?;
    if !stdin.is_empty() {
        let mut sink = engine.sink();
        source::scan_stdin(&mut sink);
        collected.merge(sink.into_collected());
    }
    let threads = opts.worker_threads();
    source::maps::resolve(&mut collected.findings, &mut collected.errors, &opts.limits, threads);
    Ok(finish_report(opts, collected, None, started))
}

/// Scans a git repository's history, or with `git.staged` only what the staged change
/// adds, and returns the sorted report. Not being in a repository is an error.
pub fn scan_git(opts: &Options, git: &GitOptions) -> Result<Report> {
    let started = Instant::now();
    let engine = scan::Engine::new(opts);
    let (collected, history_partial) = source::git::scan(&engine, git)?;
    Ok(finish_report(opts, collected, history_partial, started))
}

/// What `pkscan url` found: the report, and the start URLs that could not be fetched at
/// all (also in `report.errors`), which make the run fail.
#[derive(Debug, Clone, Default)]
pub struct UrlScan {
    pub report: Report,
    pub unreachable: Vec<finding::ScanError>,
}

/// Audits live sites: each start URL, what its pages load and the same-site pages they
/// link to, within `urls`' scope and caps. Bad start URLs or options are an error.
pub fn scan_urls(opts: &Options, urls: &UrlOptions) -> Result<UrlScan> {
    let started = Instant::now();
    let engine = scan::Engine::new(opts);
    let crawl = source::url::crawl(&|| engine.sink(), urls)?;
    let mut report = finish_report(opts, crawl.collected, None, started);
    report.summary.urls_fetched = Some(crawl.fetched);
    report.summary.urls_skipped = Some(crawl.skipped);
    report.skipped_urls = Some(crawl.skipped_urls);
    Ok(UrlScan { report, unreachable: crawl.unreachable })
}

/// The report of a run: sorted, then allowlist and baseline applied, then timed.
fn finish_report(
    opts: &Options,
    collected: scan::Collector,
    history_partial: Option<bool>,
    started: Instant,
) -> Report {
    let mut report = Report {
        findings: collected.findings,
        errors: collected.errors,
        summary: finding::Summary {
            files_scanned: collected.files_scanned,
            bytes_scanned: collected.bytes_scanned,
            allowed: collected.allowed,
            skipped: collected.skipped,
            history_partial,
            ..finding::Summary::default()
        },
        public_keys_seen: first_sightings(collected.public_keys),
        ..Report::default()
    };
    report.finish();
    allow::suppress(&opts.allow, opts.baseline.as_ref(), &mut report);
    // After suppression: an allowed or baselined key is never sent anywhere.
    if let Some(verify) = &opts.verify {
        verify::apply(verify, &mut report);
    }
    report::keys::build(&mut report, collected.exposures.as_ref());
    report.summary.elapsed_ms = started.elapsed().as_millis() as u64;
    report
}

/// Each public key once, at its first place in report order, sorted by id.
fn first_sightings(mut seen: Vec<finding::PublicKeySeen>) -> Vec<finding::PublicKeySeen> {
    seen.sort();
    seen.dedup_by(|later, first| later.id == first.id);
    seen
}

/// Scans one in-memory blob named `name` through the whole pipeline (decoding layers,
/// detection, classification, allowlist) as if it were a file of that name. Benchmarks and
/// fuzzers drive this; it never touches the filesystem, nor the network unless
/// `opts.verify` asks for it.
pub fn scan_blob(opts: &Options, name: &str, bytes: &[u8]) -> Report {
    let started = Instant::now();
    let engine = scan::Engine::new(opts);
    let blob = scan::Blob {
        display: name.to_string(),
        root_relative: name.to_string(),
        traits_path: name.to_string(),
        ..scan::Blob::default()
    };
    let mut collected = scan::Collector::default();
    let mut scratch = scan::Scratch::default();
    let mut reader = bytes;
    match engine.scan_file(&mut reader, &blob, &mut scratch, &mut collected) {
        Ok(read) => {
            collected.files_scanned += 1;
            collected.bytes_scanned += read;
        }
        Err(err) => collected.error(name, err.to_string()),
    }
    finish_report(opts, collected, None, started)
}
