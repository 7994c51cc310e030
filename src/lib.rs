//! pkscan finds leaked Klaviyo private API keys and says how each one leaked.
//!
//! The library is what the binary, the tests and the benchmarks drive: build an
//! [`Options`], call [`scan`], print the [`Report`] with [`report::print`], and map it to
//! an exit code with [`report::ExitStatus`].

pub mod allow;
pub mod baseline;
pub mod cli;
pub mod config;
pub mod detect;
pub mod finding;
pub mod report;
pub mod rules;
pub(crate) mod scan;
pub mod source;

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};

pub use config::Options;
pub use finding::{Finding, Report, Severity};

/// Scans `opts.paths` (files, directories, or `-` for stdin) and returns the sorted report.
pub fn scan(opts: &Options) -> Result<Report> {
    let started = Instant::now();
    let engine = scan::Engine::new(opts);
    let (stdin, paths): (Vec<_>, Vec<_>) =
        opts.paths.iter().cloned().partition(|p| p == Path::new("-"));
    for path in &paths {
        std::fs::symlink_metadata(path)
            .with_context(|| format!("cannot read {}", source::display_path(path)))?;
    }
    let mut collected = source::fs::scan_paths(opts, &engine, &paths)?;
    if !stdin.is_empty() {
        source::scan_stdin(&engine, &mut collected);
    }
    let mut report = Report {
        findings: collected.findings,
        errors: collected.errors,
        summary: finding::Summary {
            files_scanned: collected.files_scanned,
            bytes_scanned: collected.bytes_scanned,
            allowed: collected.allowed,
            skipped: collected.skipped,
            ..finding::Summary::default()
        },
    };
    report.finish();
    allow::suppress(&opts.allow, opts.baseline.as_ref(), &mut report);
    report.summary.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}
