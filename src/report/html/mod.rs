//! The HTML report (`--format html`): one self-contained page for a person to read. A
//! header with what was scanned and the totals, the exposure timeline, one card per key
//! (in `keys` order), then findings of custom rules, then errors.
//!
//! The page makes no request of its own: no script, no external style, font, image or
//! frame, and a Content-Security-Policy of `default-src 'none'` so that nothing could load
//! even if some text slipped through unescaped. Every text from the scanned data goes
//! through [`escape::Text`]. It holds no time but the report's own dates, so the same
//! report gives the same bytes at any `--threads`. Not a template engine: the page is
//! small and fixed, written with `write!`.

mod card;
mod escape;
mod timeline;

use std::collections::HashMap;
use std::io::{self, Write};

use crate::finding::{Finding, Report, Secret, Severity, VerificationStatus};
use crate::report::{keys, text::human_bytes, PrintOptions};
use crate::rules::Rule;

use escape::Text;
use timeline::Axis;

const STYLE: &str = include_str!("page.css");

pub(crate) fn print(
    report: &Report,
    rules: &[Rule],
    opts: &PrintOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let page = Page { report, rules, opts, axis: Axis::of(report) };
    page.head(out)?;
    writeln!(out, "<body>")?;
    page.header(out)?;
    writeln!(out, "<main>")?;
    page.timeline(out)?;
    page.keys(out)?;
    page.custom_findings(out)?;
    page.errors(out)?;
    writeln!(out, "</main>")?;
    page.footer(out)?;
    writeln!(out, "</body>\n</html>")
}

/// What every part of the page reads.
struct Page<'a> {
    report: &'a Report,
    rules: &'a [Rule],
    opts: &'a PrintOptions,
    /// The shared time axis; `None` outside history scans.
    axis: Option<Axis>,
}

impl Page<'_> {
    /// Scanned text for the page: keys redacted unless `--show-secrets`, then escaped.
    fn text(&self, text: &str) -> Text {
        Text::new(text, self.opts.show_secrets)
    }

    /// A path or ref name, or text made of them (the fix steps), escaped but printed as it
    /// is, as in every format: names are not scanned, and a path must lead back to its
    /// file (docs/bad-input.md, "Keys in names").
    fn name(&self, text: &str) -> Text {
        Text::new(text, true)
    }

    fn subject(&self) -> Text {
        self.text(self.opts.subject.as_deref().unwrap_or("(not named)"))
    }

    fn head(&self, out: &mut dyn Write) -> io::Result<()> {
        let n = self.report.keys.len();
        writeln!(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">")?;
        writeln!(
            out,
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
             style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'\">"
        )?;
        writeln!(out, "<meta name=\"referrer\" content=\"no-referrer\">")?;
        writeln!(out, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")?;
        writeln!(
            out,
            "<title>pkscan: {n} leaked {} in {}</title>",
            if n == 1 { "key" } else { "keys" },
            self.subject()
        )?;
        writeln!(out, "<style>\n{STYLE}</style>\n</head>")
    }

    fn header(&self, out: &mut dyn Write) -> io::Result<()> {
        let s = &self.report.summary;
        writeln!(out, "<header class=\"page\">")?;
        writeln!(out, "<h1>pkscan report</h1>")?;
        writeln!(out, "<p class=\"subject\">{}</p>", self.subject())?;
        writeln!(out, "<p class=\"when\">{}</p>", self.text(&self.when()))?;
        writeln!(out, "<p class=\"counts\">{}</p>", self.text(&self.counts()))?;
        if s.errors > 0 {
            writeln!(
                out,
                "<p class=\"banner\">Partial scan: {} {} could not be read (listed under \
                 <a href=\"#errors\">Errors</a>). A clean result here is not a clean tree.</p>",
                s.errors,
                if s.errors == 1 { "input" } else { "inputs" }
            )?;
        }
        if s.history_partial == Some(true) {
            writeln!(
                out,
                "<p class=\"banner\">Shallow clone: history was scanned only as far as it goes \
                 (<code>git fetch --unshallow</code> for all of it).</p>"
            )?;
        }
        self.totals(out)?;
        writeln!(out, "</header>")
    }

    /// What was read, as the text summary counts it, without the timing (which differs
    /// from run to run).
    fn counts(&self) -> String {
        let s = &self.report.summary;
        let plural =
            |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let mut parts = vec![format!(
            "{} ({}) scanned",
            plural(s.files_scanned, "file", "files"),
            human_bytes(s.bytes_scanned)
        )];
        if let (Some(fetched), Some(skipped)) = (s.urls_fetched, s.urls_skipped) {
            parts.push(format!("{} requested, {skipped} skipped", plural(fetched, "URL", "URLs")));
        }
        parts.push(plural(s.findings, "finding", "findings"));
        for (n, what) in
            [(s.allowed, "allowed"), (s.baselined, "baselined"), (s.skipped, "skipped")]
        {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        }
        parts.push(plural(s.errors, "error", "errors"));
        parts.join(" · ")
    }

    /// When, from the report's own dates only (never the clock, so the bytes stay the same).
    fn when(&self) -> String {
        let checked = self
            .report
            .keys
            .iter()
            .filter_map(|k| k.verification.as_ref())
            .map(|v| v.checked_at.as_str())
            .max();
        let mut parts = Vec::new();
        if let Some(axis) = &self.axis {
            parts.push(format!(
                "History from {} to {} (author dates of the commits in this report).",
                axis.first_date(),
                axis.last_date()
            ));
        }
        if let Some(checked) = checked {
            parts.push(format!("Keys checked with Klaviyo at {checked}."));
        }
        if parts.is_empty() {
            parts.push("The files as they were when scanned; this report records no time.".into());
        }
        parts.join(" ")
    }

    fn totals(&self, out: &mut dyn Write) -> io::Result<()> {
        let keys = &self.report.keys;
        writeln!(out, "<div class=\"totals\">")?;
        writeln!(out, "<div class=\"group\"><h2>Keys by severity</h2><ul>")?;
        for severity in Severity::ALL {
            let n = keys.iter().filter(|k| k.severity == severity).count();
            writeln!(
                out,
                "<li class=\"tile sev-{severity}{}\"><b>{n}</b> {severity}</li>",
                if n == 0 { " zero" } else { "" }
            )?;
        }
        writeln!(out, "</ul></div>")?;
        writeln!(out, "<div class=\"group\"><h2>Keys by status</h2><ul>")?;
        for status in [
            Some(VerificationStatus::Live),
            Some(VerificationStatus::Unknown),
            Some(VerificationStatus::Invalid),
            None,
        ] {
            let n = keys.iter().filter(|k| k.verification.as_ref().map(|v| v.status) == status);
            let n = n.count();
            writeln!(
                out,
                "<li class=\"tile status-{}{}\"><b>{n}</b> {}</li>",
                card::status_class(status),
                if n == 0 { " zero" } else { "" },
                card::status_label(status)
            )?;
        }
        writeln!(out, "</ul></div>\n</div>")
    }

    /// Every key's span on the shared axis, one row each, linking to its card.
    fn timeline(&self, out: &mut dyn Write) -> io::Result<()> {
        let Some(axis) = &self.axis else { return Ok(()) };
        let with_history = self
            .report
            .keys
            .iter()
            .enumerate()
            .filter_map(|(i, k)| k.history.as_ref().map(|h| (i, k, h)));
        writeln!(out, "<section id=\"timeline\">\n<h2>Exposure</h2>")?;
        writeln!(
            out,
            "<p class=\"note\">Solid: in HEAD's history, from the commit that introduced it to \
             the one that removed it (an arrow: still in HEAD). Dashed: removed from HEAD but \
             still on a branch, tag or remote ref.</p>"
        )?;
        writeln!(out, "<div class=\"chart\">")?;
        for (i, key, history) in with_history {
            write!(
                out,
                "<a class=\"row sev-{}\" href=\"#key-{}\"><code>{}</code>",
                key.severity,
                i + 1,
                self.text(&self.opts.key_text(&key.secret))
            )?;
            timeline::write_track(&axis.span(history), out)?;
            writeln!(out, "</a>")?;
        }
        write!(out, "<div class=\"row axis\"><span></span>")?;
        timeline::write_ticks(axis, out)?;
        writeln!(out, "</div>\n</div>\n</section>")
    }

    fn keys(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "<section id=\"keys\">\n<h2>Keys ({})</h2>", self.report.keys.len())?;
        if self.report.keys.is_empty() {
            writeln!(out, "<p class=\"empty\">No leaked keys found.</p>")?;
        }
        // Grouped once: asking each key for its findings would be keys × findings.
        let mut by_key: HashMap<&Secret, Vec<&Finding>> = HashMap::new();
        for f in self.report.findings.iter().filter(|f| keys::is_key_finding(f)) {
            by_key.entry(&f.secret).or_default().push(f);
        }
        for (i, key) in self.report.keys.iter().enumerate() {
            let findings = by_key.get(&key.secret).map_or(&[][..], Vec::as_slice);
            card::write(self, i + 1, key, findings, out)?;
        }
        writeln!(out, "</section>")
    }

    /// Findings of the config's `[[rule]]`s: no Klaviyo keys, so no cards.
    fn custom_findings(&self, out: &mut dyn Write) -> io::Result<()> {
        let custom: Vec<&Finding> =
            self.report.findings.iter().filter(|f| !keys::is_key_finding(f)).collect();
        if custom.is_empty() {
            return Ok(());
        }
        writeln!(out, "<section id=\"custom\">\n<h2>Custom rules ({})</h2>", custom.len())?;
        card::places_table(self, &custom, true, out)?;
        let mut ids: Vec<&str> = custom.iter().map(|f| f.rule_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        for rule in ids.iter().filter_map(|id| self.rules.iter().find(|r| r.id == *id)) {
            writeln!(
                out,
                "<p class=\"note\"><b>{}</b> ({}): {}</p>",
                self.text(&rule.title),
                self.text(&rule.id),
                self.text(&rule.help)
            )?;
        }
        writeln!(out, "</section>")
    }

    fn errors(&self, out: &mut dyn Write) -> io::Result<()> {
        let errors = &self.report.errors;
        if errors.is_empty() {
            return Ok(());
        }
        writeln!(out, "<section id=\"errors\">\n<h2>Errors ({})</h2>", errors.len())?;
        writeln!(
            out,
            "<p class=\"note\">Could not be read, so not scanned; <code>--strict</code> makes \
             the exit code 2 when any is listed.</p>"
        )?;
        writeln!(out, "<table>\n<thead><tr><th>Path</th><th>Why</th></tr></thead>\n<tbody>")?;
        for e in errors {
            writeln!(
                out,
                "<tr><td class=\"path\">{}</td><td>{}</td></tr>",
                self.name(&e.path),
                self.text(&e.message)
            )?;
        }
        writeln!(out, "</tbody>\n</table>\n</section>")
    }

    fn footer(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "<footer>pkscan {} · one file: no requests, no scripts · secrets {}</footer>",
            env!("CARGO_PKG_VERSION"),
            if self.opts.show_secrets { "shown in full (--show-secrets)" } else { "redacted" }
        )
    }
}
