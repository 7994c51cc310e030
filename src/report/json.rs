//! The JSON report: the wire types of the contract (also read back as baselines) and its
//! printer.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::finding::{
    CommitInfo, Finding, Layer, Original, Report, ScanError, Severity, Summary, Verification,
};
use crate::report::PrintOptions;

/// The version of the report's shape; extended, never renamed.
pub const REPORT_VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
pub struct JsonReport {
    pub version: u32,
    pub tool: JsonTool,
    pub findings: Vec<JsonFinding>,
    pub summary: Summary,
    pub errors: Vec<ScanError>,
    /// `pkscan url` only: the URLs found but not requested.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub skipped_urls: Option<Vec<String>>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct JsonTool {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct JsonFinding {
    pub rule_id: String,
    pub severity: Severity,
    pub path: String,
    pub line: u64,
    pub column: u64,
    pub end_line: u64,
    pub end_column: u64,
    pub secret: String,
    pub secret_sha256: String,
    pub fingerprint: String,
    pub decoded: Vec<Layer>,
    pub message: String,
    pub commit: Option<CommitInfo>,
    /// Present only when the run verified keys (`--verify`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub verification: Option<Verification>,
    /// Present only when a source map tells where the key was written.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub original: Option<Original>,
}

impl JsonFinding {
    pub fn new(finding: &Finding, opts: &PrintOptions) -> JsonFinding {
        JsonFinding {
            rule_id: finding.rule_id.clone(),
            severity: finding.severity,
            path: finding.path.clone(),
            line: finding.line,
            column: finding.column,
            end_line: finding.end_line,
            end_column: finding.end_column,
            secret: opts.secret_text(finding),
            secret_sha256: finding.secret.sha256_hex(),
            fingerprint: finding.fingerprint(),
            decoded: finding.decoded.clone(),
            message: finding.message.clone(),
            commit: finding.commit.clone(),
            verification: finding.verification.clone(),
            original: finding.original.clone(),
        }
    }
}

impl JsonReport {
    pub fn new(report: &Report, opts: &PrintOptions) -> JsonReport {
        JsonReport {
            version: REPORT_VERSION,
            tool: JsonTool { name: "pkscan".into(), version: env!("CARGO_PKG_VERSION").into() },
            findings: report.findings.iter().map(|f| JsonFinding::new(f, opts)).collect(),
            summary: report.summary.clone(),
            errors: report.errors.clone(),
            skipped_urls: report.skipped_urls.clone(),
        }
    }
}

pub fn print(report: &Report, opts: &PrintOptions, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &JsonReport::new(report, opts))?;
    writeln!(out)
}
