//! Turning a finished [`Report`] into output: the exit status, redaction, escaping, and one
//! printer per format. Printers write to a `&mut dyn Write` and see only findings, errors
//! and rules; they never decide what was found.

pub(crate) mod github;
pub(crate) mod html;
pub(crate) mod json;
pub(crate) mod keys;
pub(crate) mod merge;
pub(crate) mod rules;
pub(crate) mod sarif;
pub(crate) mod text;

use std::io::{self, Write};

use crate::finding::{Finding, Report, Secret, Severity, VerificationStatus};
use crate::rules::{KeyRule, Rule};
use crate::sanitize::escape_control;

/// The outcome of a run, mapped to the process exit code in one place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// The scan completed and nothing at or above `--fail-on` was found.
    Clean,
    /// The scan completed and found something at or above `--fail-on`.
    Leaked,
    /// The scan could not be done as asked (or `--strict` and something was unreadable).
    Failed,
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Clean => 0,
            ExitStatus::Leaked => 1,
            ExitStatus::Failed => 2,
        }
    }

    /// A pure function of the report: findings at or above `fail_on` make it `Leaked`;
    /// with `strict`, any error makes it `Failed`.
    pub fn of(report: &Report, fail_on: Severity, strict: bool) -> ExitStatus {
        if strict && !report.errors.is_empty() {
            ExitStatus::Failed
        } else if report.findings.iter().any(|f| f.severity >= fail_on) {
            ExitStatus::Leaked
        } else {
            ExitStatus::Clean
        }
    }
}

/// The report formats of `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Text,
    Json,
    Sarif,
    Github,
    Html,
}

/// How printers render what they are given.
#[derive(Clone, Debug, Default)]
pub struct PrintOptions {
    pub show_secrets: bool,
    pub color: bool,
    pub fail_on: Option<Severity>,
    /// Absolute directory that root-relative paths are relative to (SARIF's `%SRCROOT%`).
    pub root_uri: Option<String>,
    /// What was scanned, in words (`git history of .`), for reports that name it in a
    /// header (HTML). `None`: not named.
    pub subject: Option<String>,
}

impl PrintOptions {
    /// The key as this run may show it.
    pub fn secret_text(&self, finding: &Finding) -> String {
        self.key_text(&finding.secret)
    }

    /// A secret as this run may show it: redacted unless `--show-secrets`.
    pub fn key_text(&self, secret: &Secret) -> String {
        if self.show_secrets {
            secret.expose().to_string()
        } else {
            secret.redacted()
        }
    }

    /// The finding's line with the key redacted (unless shown) and control characters
    /// escaped, cut to `width` characters around the key.
    pub fn snippet(&self, finding: &Finding, width: usize) -> String {
        let raw = finding.secret.expose();
        let shown = self.secret_text(finding);
        let line = finding.line_text.expose();
        let (before, after) = match line.find(raw) {
            Some(at) => (&line[..at], &line[at + raw.len()..]),
            None => ("", ""),
        };
        let before: String = before
            .trim_start()
            .chars()
            .rev()
            .take(width)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let after: String = after.chars().take(width).collect();
        let mut text = escape_control(&before);
        text.push_str(&shown);
        text.push_str(&escape_control(&after));
        // A second copy of the key elsewhere on the line must not slip through.
        if !self.show_secrets {
            text = text.replace(raw, &shown);
        }
        text.trim_end().to_string()
    }
}

/// Writes the report in the chosen format.
pub fn print(
    format: Format,
    report: &Report,
    rules: &[Rule],
    opts: &PrintOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Text => text::print(report, rules, opts, out),
        Format::Json => json::print(report, opts, out),
        Format::Sarif => {
            serde_json::to_writer_pretty(&mut *out, &sarif::document(report, rules, opts))?;
            writeln!(out)
        }
        Format::Github => github::print(report, opts, out),
        Format::Html => html::print(report, rules, opts, out),
    }
}

/// The public key (site ID) to put where this finding's private key was pasted: for a key
/// in a public-key slot (company_id, token, account) that `--verify` found live and whose
/// account Klaviyo named.
pub(crate) fn replacement_public_key(finding: &Finding) -> Option<&str> {
    let slot = [KeyRule::CompanyId, KeyRule::Token, KeyRule::Account]
        .iter()
        .any(|r| r.id() == finding.rule_id);
    let verification = finding.verification.as_ref().filter(|_| slot)?;
    match verification.status {
        VerificationStatus::Live => verification.public_api_key.as_deref(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Finding, LineText, Secret};

    fn finding(severity: Severity) -> Finding {
        Finding {
            rule_id: "klaviyo-private-key".into(),
            severity,
            path: "a".into(),
            root_relative_path: "a".into(),
            line: 1,
            column: 1,
            end_line: 1,
            end_column: 38,
            secret: Secret::new("pk_8e1f47c2b90d3a65f0e2c7d914b8a36e52"), // pkscan:allow
            decoded: vec![],
            message: String::new(),
            commit: None,
            verification: None,
            line_text: LineText::new("x = 'pk_8e1f47c2b90d3a65f0e2c7d914b8a36e52' \x1b[31m"), // pkscan:allow
            original: None,
            repository: None,
            recorded_fingerprint: None,
        }
    }

    #[test]
    fn exit_status_maps_once() {
        let mut report = Report::default();
        assert_eq!(ExitStatus::of(&report, Severity::Medium, false), ExitStatus::Clean);
        report.findings.push(finding(Severity::Low));
        assert_eq!(ExitStatus::of(&report, Severity::Medium, false), ExitStatus::Clean);
        assert_eq!(ExitStatus::of(&report, Severity::Low, false), ExitStatus::Leaked);
        report.findings.push(finding(Severity::High));
        assert_eq!(ExitStatus::of(&report, Severity::Medium, false), ExitStatus::Leaked);
        assert_eq!(ExitStatus::of(&report, Severity::Critical, false), ExitStatus::Clean);
        report.errors.push(crate::finding::ScanError::new("x", "permission denied"));
        assert_eq!(ExitStatus::of(&report, Severity::Medium, true), ExitStatus::Failed);
        assert_eq!(
            [ExitStatus::Clean, ExitStatus::Leaked, ExitStatus::Failed].map(ExitStatus::code),
            [0, 1, 2]
        );
    }

    #[test]
    fn snippets_redact_and_escape() {
        let f = finding(Severity::High);
        let snippet = PrintOptions::default().snippet(&f, 40);
        assert_eq!(snippet, "x = 'pk_8e1f…52' \\x1b[31m");
        let shown = PrintOptions { show_secrets: true, ..PrintOptions::default() }.snippet(&f, 40);
        assert!(shown.contains(f.secret.expose()));
    }
}
