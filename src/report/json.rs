//! The JSON report: the wire types of the contract (also read back as baselines) and its
//! printer.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::finding::{
    CommitInfo, Finding, Key, KeyHistory, Layer, Original, PublicApiKey, PublicKeySeen, Report,
    ScanError, Severity, Summary, Verification,
};
use crate::report::PrintOptions;

/// The version of the report's shape; extended, never renamed.
pub(crate) const REPORT_VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct JsonReport {
    pub version: u32,
    pub tool: JsonTool,
    pub findings: Vec<JsonFinding>,
    /// One entry per leaked key (absent from reports of older versions).
    #[serde(default)]
    pub keys: Vec<JsonKey>,
    /// The public keys the run saw, as on each key; also when it found no key, so that
    /// `pkscan merge` gets a shard's public keys whatever the shard found.
    #[serde(default)]
    pub public_keys_seen: Vec<PublicKeySeen>,
    pub summary: Summary,
    pub errors: Vec<ScanError>,
    /// `pkscan url` only: the URLs found but not requested.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub skipped_urls: Option<Vec<String>>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct JsonTool {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct JsonFinding {
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
    /// The repository, as listed (`repos` and `merge` reports only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub repository: Option<String>,
}

impl JsonFinding {
    pub(crate) fn new(finding: &Finding, opts: &PrintOptions) -> JsonFinding {
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
            repository: finding.repository.clone(),
        }
    }
}

/// A leaked key, as the contract's `keys` entries show it.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct JsonKey {
    pub secret: String,
    pub secret_sha256: String,
    pub severity: Severity,
    pub rules: Vec<String>,
    pub findings: Vec<String>,
    /// The repositories it is in (`repos` and `merge` reports only).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub repositories: Vec<String>,
    /// `introduced`, `removed`, `in_head`, `refs`: in `git` reports only.
    #[serde(flatten, skip_serializing_if = "Option::is_none", default)]
    pub history: Option<KeyHistory>,
    pub public_api_key: Option<PublicApiKey>,
    pub public_keys_seen: Vec<PublicKeySeen>,
    /// Present only when the run verified keys (`--verify`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub verification: Option<Verification>,
    pub fix: Vec<String>,
}

impl JsonKey {
    pub(crate) fn new(key: &Key, opts: &PrintOptions) -> JsonKey {
        JsonKey {
            secret: opts.key_text(&key.secret),
            secret_sha256: key.secret.sha256_hex(),
            severity: key.severity,
            rules: key.rules.clone(),
            findings: key.findings.clone(),
            repositories: key.repositories.clone(),
            history: key.history.clone(),
            public_api_key: key.public_api_key.clone(),
            public_keys_seen: key.public_keys_seen.clone(),
            verification: key.verification.clone(),
            fix: key.fix.clone(),
        }
    }
}

impl JsonReport {
    pub(crate) fn new(report: &Report, opts: &PrintOptions) -> JsonReport {
        JsonReport {
            version: REPORT_VERSION,
            tool: JsonTool { name: "pkscan".into(), version: env!("CARGO_PKG_VERSION").into() },
            findings: report.findings.iter().map(|f| JsonFinding::new(f, opts)).collect(),
            keys: report.keys.iter().map(|k| JsonKey::new(k, opts)).collect(),
            public_keys_seen: report.public_keys_seen.clone(),
            summary: report.summary.clone(),
            errors: report.errors.clone(),
            skipped_urls: report.skipped_urls.clone(),
        }
    }
}

pub(crate) fn print(report: &Report, opts: &PrintOptions, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &JsonReport::new(report, opts))?;
    writeln!(out)
}
