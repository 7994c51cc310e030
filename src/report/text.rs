//! The report people read: findings grouped by file as ripgrep groups matches, each with
//! its severity, rule, redacted key, the line around it and a one-line fix; then errors
//! and a summary line. Colour is decided by the caller (`colored`'s override).

use std::collections::HashMap;
use std::io::{self, Write};

use colored::{ColoredString, Colorize};

use crate::finding::{Finding, Key, Report, Secret, Severity, Verification, VerificationStatus};
use crate::report::{escape_control, keys, PrintOptions};
use crate::rules::Rule;

pub(crate) fn print(
    report: &Report,
    rules: &[Rule],
    opts: &PrintOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut printed = false;
    if report.summary.verification.is_some() {
        // Live keys first and loudest: they are the ones to rotate within the hour.
        for group in VerifyGroup::ALL {
            let findings: Vec<&Finding> =
                report.findings.iter().filter(|f| VerifyGroup::of(f) == group).collect();
            if findings.is_empty() {
                continue;
            }
            if printed {
                writeln!(out)?;
            }
            writeln!(out, "{}", group.heading(&findings))?;
            writeln!(out)?;
            print_files(report, &findings, rules, opts, out)?;
            printed = true;
        }
    } else {
        let findings: Vec<&Finding> = report.findings.iter().collect();
        print_files(report, &findings, rules, opts, out)?;
        printed = !findings.is_empty();
    }
    if !report.errors.is_empty() {
        if printed {
            writeln!(out)?;
        }
        writeln!(out, "{}", "Could not be read (not scanned):".yellow().bold())?;
        for e in &report.errors {
            writeln!(out, "  {}: {}", escape_control(&e.path), escape_control(&e.message))?;
        }
    }
    if !report.keys.is_empty() {
        if printed || !report.errors.is_empty() {
            writeln!(out)?;
        }
        print_keys(report, opts, out)?;
    }
    if printed || !report.errors.is_empty() || !report.keys.is_empty() {
        writeln!(out)?;
    }
    writeln!(out, "{}", summary_line(report))
}

/// One line per key, most severe first: what to act on, at the bottom where it is seen.
fn print_keys(report: &Report, opts: &PrintOptions, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{}", "Keys (one line each, most severe first):".bold())?;
    // Grouped once: a report can hold thousands of findings and keys.
    let mut by_key: HashMap<&Secret, Vec<&Finding>> = HashMap::new();
    for finding in report.findings.iter().filter(|f| keys::is_key_finding(f)) {
        by_key.entry(&finding.secret).or_default().push(finding);
    }
    for key in &report.keys {
        let findings = by_key.get(&key.secret).map_or(&[][..], Vec::as_slice);
        writeln!(out, "{}", key_line(key, findings, opts))?;
    }
    Ok(())
}

/// `pk_3f9a…4b  CRITICAL  live · 2 places: a.html:3, b.js:1 · introduced 2024-01-02 in
/// 3f9a0c1d2e4b, removed 2024-03-01 in 0c1d2e4b5a69 · still on refs/tags/v1.2.0`.
fn key_line(key: &Key, findings: &[&Finding], opts: &PrintOptions) -> String {
    let status = match (&key.verification, key.rules.as_slice()) {
        (Some(v), _) => v.status.as_str(),
        (None, [only]) if only == crate::rules::KeyRule::Placeholder.id() => "placeholder",
        (None, _) => "not verified",
    };
    let places = keys::distinct_places(findings);
    let mut line = format!(
        "  {}  {}  {status} · {} {}: {}",
        opts.key_text(&key.secret).cyan(),
        severity_label(key.severity),
        places,
        if places == 1 { "place" } else { "places" },
        keys::places(findings)
    );
    if let Some(history) = &key.history {
        let commit = |c: &crate::finding::CommitInfo| {
            format!("{} in {}", c.date.get(..10).unwrap_or(&c.date), &c.id[..c.id.len().min(12)])
        };
        if let Some(introduced) = &history.introduced {
            line.push_str(&format!(" · introduced {}", commit(introduced)));
        }
        match (&history.removed, history.in_head) {
            (_, true) => line.push_str(" · still in HEAD"),
            (Some(removed), false) => line.push_str(&format!(", removed {}", commit(removed))),
            (None, false) => line.push_str(" · not in HEAD"),
        }
        if !history.refs.is_empty() {
            let refs: Vec<String> = history.refs.iter().map(|r| escape_control(r)).collect();
            line.push_str(&format!(" · still on {}", refs.join(", ")));
        }
    }
    line
}

/// Findings grouped by file, in the order given, as ripgrep groups matches.
fn print_files(
    report: &Report,
    findings: &[&Finding],
    rules: &[Rule],
    opts: &PrintOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut current: Option<(Option<&str>, &str)> = None;
    for f in findings {
        let place = (f.repository.as_deref(), f.path.as_str());
        if current != Some(place) {
            if current.is_some() {
                writeln!(out)?;
            }
            // `pkscan repos`: the repository first, as paths repeat across repositories.
            let shown = match &f.repository {
                Some(repository) => format!("{repository}: {}", f.path),
                None => f.path.clone(),
            };
            writeln!(out, "{}", escape_control(&shown).purple().bold())?;
            current = Some(place);
        }
        print_finding(report, f, rules, opts, out)?;
    }
    Ok(())
}

/// The sections of a `--verify` report, in the order they are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum VerifyGroup {
    Live,
    Unknown,
    Unchecked,
    Invalid,
}

impl VerifyGroup {
    const ALL: [VerifyGroup; 4] =
        [VerifyGroup::Live, VerifyGroup::Unknown, VerifyGroup::Unchecked, VerifyGroup::Invalid];

    fn of(finding: &Finding) -> VerifyGroup {
        match finding.verification.as_ref().map(|v| v.status) {
            Some(VerificationStatus::Live) => VerifyGroup::Live,
            Some(VerificationStatus::Unknown) => VerifyGroup::Unknown,
            Some(VerificationStatus::Invalid) => VerifyGroup::Invalid,
            None => VerifyGroup::Unchecked,
        }
    }

    fn heading(self, findings: &[&Finding]) -> ColoredString {
        let mut keys: Vec<&str> = findings.iter().map(|f| f.secret.expose()).collect();
        keys.sort_unstable();
        keys.dedup();
        let counts = format!(
            "{} {}, {} {}",
            keys.len(),
            if keys.len() == 1 { "key" } else { "keys" },
            findings.len(),
            if findings.len() == 1 { "finding" } else { "findings" }
        );
        match self {
            VerifyGroup::Live => {
                format!("LIVE KEYS: Klaviyo accepts these today, rotate them first ({counts})")
                    .red()
                    .bold()
                    .reversed()
            }
            VerifyGroup::Unknown => {
                format!("COULD NOT BE CHECKED: treat these keys as live ({counts})").red().bold()
            }
            VerifyGroup::Unchecked => {
                format!("NOT CHECKED: placeholders and custom rules ({counts})").yellow().bold()
            }
            VerifyGroup::Invalid => format!(
                "REJECTED BY KLAVIYO: these keys no longer work; still remove them ({counts})"
            )
            .bold(),
        }
    }
}

fn print_finding(
    report: &Report,
    f: &Finding,
    rules: &[Rule],
    opts: &PrintOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let position = format!("{}:{}", f.line, f.column);
    writeln!(
        out,
        "  {}  {}  {}  {}",
        position.green(),
        severity_label(f.severity),
        f.rule_id.bold(),
        opts.secret_text(f).cyan()
    )?;
    let indent = "      ";
    writeln!(out, "{indent}{}", opts.snippet(f, 50).dimmed())?;
    writeln!(out, "{indent}{}", f.message)?;
    if !f.decoded.is_empty() {
        let layers: Vec<&str> = f.decoded.iter().map(|l| l.as_str()).collect();
        writeln!(out, "{indent}found after {}", layers.join(" → "))?;
    }
    if let Some(original) = &f.original {
        let place = format!("{}:{}:{}", original.source, original.line, original.column);
        writeln!(out, "{indent}written at {} (source map)", escape_control(&place))?;
    }
    if let Some(commit) = &f.commit {
        writeln!(
            out,
            "{indent}introduced in {} by {} <{}> on {}: {}",
            &commit.id[..commit.id.len().min(12)],
            escape_control(&commit.author_name),
            escape_control(&commit.author_email),
            commit.date,
            escape_control(&commit.summary)
        )?;
    }
    if let Some(verification) = &f.verification {
        print_verification(f, verification, out)?;
    }
    if let Some(fix) = keys::public_key_fix(report, f) {
        writeln!(out, "{indent}{} {}", "fix:".bold(), escape_control(&fix))?;
    } else if let Some(rule) =
        rules.iter().find(|r| r.id == f.rule_id).filter(|r| !r.fix.is_empty())
    {
        writeln!(out, "{indent}{} {}", "fix:".bold(), escape_control(&rule.fix))?;
    }
    Ok(())
}

/// What Klaviyo said, and for a key in a public-key slot the public key that belongs there.
fn print_verification(f: &Finding, v: &Verification, out: &mut dyn Write) -> io::Result<()> {
    let indent = "      ";
    let label = match v.status {
        VerificationStatus::Live => "LIVE".red().bold().reversed(),
        VerificationStatus::Unknown => "UNKNOWN".red().bold(),
        VerificationStatus::Invalid => "invalid".normal(),
    };
    let mut line = format!("{indent}{} {label}: {}", "verified:".bold(), escape_control(&v.detail));
    match (&v.account_name, &v.account_id) {
        (Some(name), Some(id)) => {
            line.push_str(&format!("; account {} ({id})", escape_control(name)))
        }
        (Some(name), None) => line.push_str(&format!("; account {}", escape_control(name))),
        (None, Some(id)) => line.push_str(&format!("; account {id}")),
        (None, None) => {}
    }
    if v.status == VerificationStatus::Unknown {
        line.push_str("; treat it as live");
    }
    writeln!(out, "{line} [{}]", v.checked_at)?;
    if let Some(public) = super::replacement_public_key(f) {
        writeln!(
            out,
            "{indent}{}",
            format!("replace with your public key {public}").green().bold()
        )?;
    }
    Ok(())
}

fn severity_label(severity: Severity) -> ColoredString {
    let label = severity.as_str().to_uppercase();
    match severity {
        Severity::Critical => label.red().bold(),
        Severity::High => label.red(),
        Severity::Medium => label.yellow(),
        Severity::Low => label.blue(),
    }
}

/// `3 findings (2 critical, 1 high) · 12 files, 1.2 MiB scanned in 0.03 s · 1 error`.
pub(crate) fn summary_line(report: &Report) -> String {
    let s = &report.summary;
    let counts: Vec<String> = Severity::ALL
        .iter()
        .filter_map(|&sev| {
            let n = report.findings.iter().filter(|f| f.severity == sev).count();
            (n > 0).then(|| format!("{n} {sev}"))
        })
        .collect();
    let mut line = match report.findings.len() {
        0 => "no leaked keys found".to_string(),
        1 => format!("1 finding ({})", counts.join(", ")),
        n => format!("{n} findings ({})", counts.join(", ")),
    };
    line.push_str(&format!(
        " · {} {}, {} scanned in {:.2} s",
        s.files_scanned,
        if s.files_scanned == 1 { "file" } else { "files" },
        human_bytes(s.bytes_scanned),
        s.elapsed_ms as f64 / 1000.0
    ));
    if let (Some(fetched), Some(skipped)) = (s.urls_fetched, s.urls_skipped) {
        let urls = if fetched == 1 { "URL" } else { "URLs" };
        line.push_str(&format!(" · {fetched} {urls} requested, {skipped} skipped"));
    }
    for (n, what) in [(s.allowed, "allowed"), (s.baselined, "baselined"), (s.skipped, "skipped")] {
        if n > 0 {
            line.push_str(&format!(" · {n} {what}"));
        }
    }
    if s.errors > 0 {
        line.push_str(&format!(
            " · {} {}",
            s.errors,
            if s.errors == 1 { "error" } else { "errors" }
        ));
    }
    if let Some(v) = &s.verification {
        line.push_str(&format!(
            " · {} {} verified: {} live, {} unknown, {} invalid",
            v.keys_checked,
            if v.keys_checked == 1 { "key" } else { "keys" },
            v.live,
            v.unknown,
            v.invalid
        ));
        if v.hidden > 0 {
            line.push_str(&format!(" · {} hidden as not live", v.hidden));
        }
    }
    if s.history_partial == Some(true) {
        line.push_str(" · history is partial (shallow clone)");
    }
    line
}

pub(crate) fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
    }
}
