//! The report people read: findings grouped by file as ripgrep groups matches, each with
//! its severity, rule, redacted key, the line around it and a one-line fix; then errors
//! and a summary line. Colour is decided by the caller (`colored`'s override).

use std::io::{self, Write};

use colored::{ColoredString, Colorize};

use crate::finding::{Finding, Report, Severity};
use crate::report::{escape_control, PrintOptions};
use crate::rules::Rule;

pub fn print(
    report: &Report,
    rules: &[Rule],
    opts: &PrintOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut current: Option<&str> = None;
    for f in &report.findings {
        if current != Some(f.path.as_str()) {
            if current.is_some() {
                writeln!(out)?;
            }
            writeln!(out, "{}", escape_control(&f.path).purple().bold())?;
            current = Some(&f.path);
        }
        print_finding(f, rules, opts, out)?;
    }
    if !report.errors.is_empty() {
        if current.is_some() {
            writeln!(out)?;
        }
        writeln!(out, "{}", "Could not be read (not scanned):".yellow().bold())?;
        for e in &report.errors {
            writeln!(out, "  {}: {}", escape_control(&e.path), escape_control(&e.message))?;
        }
    }
    if current.is_some() || !report.errors.is_empty() {
        writeln!(out)?;
    }
    writeln!(out, "{}", summary_line(report))
}

fn print_finding(
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
    if let Some(rule) = rules.iter().find(|r| r.id == f.rule_id).filter(|r| !r.fix.is_empty()) {
        writeln!(out, "{indent}{} {}", "fix:".bold(), escape_control(&rule.fix))?;
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
pub fn summary_line(report: &Report) -> String {
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
    if s.history_partial == Some(true) {
        line.push_str(" · history is partial (shallow clone)");
    }
    line
}

fn human_bytes(bytes: u64) -> String {
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
