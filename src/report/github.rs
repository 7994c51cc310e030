//! GitHub Actions workflow commands: one `::error`/`::warning`/`::notice` per finding, most
//! severe first (GitHub shows only ten of each kind per step), then a summary line.

use std::io::{self, Write};

use crate::finding::{Finding, Report, Severity, VerificationStatus};
use crate::report::PrintOptions;

pub(crate) fn print(report: &Report, opts: &PrintOptions, out: &mut dyn Write) -> io::Result<()> {
    let mut findings: Vec<&Finding> = report.findings.iter().collect();
    // Stable: within a severity the report's path/line order is kept. Keys `--verify`
    // found live come first, whatever their rule.
    findings.sort_by_key(|f| (!is_live(f), std::cmp::Reverse(f.severity)));
    for f in &findings {
        let command = match f.severity {
            Severity::Critical | Severity::High => "error",
            Severity::Medium => "warning",
            Severity::Low => "notice",
        };
        let mut location = format!("file={},line={},col={}", property(&f.path), f.line, f.column);
        if f.end_line == f.line {
            location.push_str(&format!(",endLine={},endColumn={}", f.end_line, f.end_column));
        }
        let title = property(&format!("pkscan {} ({})", f.rule_id, f.severity));
        let mut message = format!("{} Key: {}.", f.message, opts.secret_text(f));
        if !f.decoded.is_empty() {
            let layers: Vec<&str> = f.decoded.iter().map(|l| l.as_str()).collect();
            message.push_str(&format!(" Found after {}.", layers.join(" → ")));
        }
        if let Some(commit) = &f.commit {
            message.push_str(&format!(" Introduced in {} by {}.", commit.id, commit.author_name));
        }
        if let Some(v) = &f.verification {
            message.push_str(&format!(" Verified {}: {}.", v.status.as_str(), v.detail));
            if let Some(public) = super::replacement_public_key(f) {
                message.push_str(&format!(" Replace it with your public key {public}."));
            }
        }
        writeln!(out, "::{command} {location},title={title}::{}", data(&message))?;
    }
    for e in &report.errors {
        writeln!(
            out,
            "::warning title=pkscan could not read a file::{}",
            data(&format!("{}: {}", e.path, e.message))
        )?;
    }
    writeln!(out, "{}", super::text::summary_line(report))
}

fn is_live(finding: &Finding) -> bool {
    finding.verification.as_ref().is_some_and(|v| v.status == VerificationStatus::Live)
}

/// Escapes a workflow command's message: GitHub's own escapes for `%`, CR and LF, and
/// every other control character as text, so no scanned byte reaches a log raw.
fn data(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            c if c.is_control() => out.push_str(&super::escape_control(&c.to_string())),
            c => out.push(c),
        }
    }
    out
}

/// Escapes a workflow command's property value.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(data("50%\nx\x1b"), "50%25%0Ax\\x1b");
        assert_eq!(property("a:b,c"), "a%3Ab%2Cc");
    }
}
