//! One key's card: its redacted value, severity, status, exposure line and track on the
//! shared axis, what Klaviyo said, the public key to use, every place it is at, and the
//! steps that un-leak it. Also the places table the custom-rule section reuses.

use std::io::{self, Write};

use crate::finding::PublicKeySource;
use crate::finding::{CommitInfo, Finding, Key, KeyHistory, VerificationStatus};
use crate::rules::KeyRule;

use super::timeline::{self, date};
use super::Page;

/// Characters of the line shown on each side of the key.
const SNIPPET_WIDTH: usize = 40;

pub(super) fn write(
    page: &Page<'_>,
    n: usize,
    key: &Key,
    findings: &[&Finding],
    out: &mut dyn Write,
) -> io::Result<()> {
    let severity = key.severity;
    writeln!(out, "<article class=\"card sev-{severity}\" id=\"key-{n}\">")?;
    write!(
        out,
        "<header><code class=\"key\">{}</code> <span class=\"badge sev-{severity}\">{severity}\
         </span>",
        page.text(&page.opts.key_text(&key.secret))
    )?;
    let status = key.verification.as_ref().map(|v| v.status);
    let label = match (status, key.rules.as_slice()) {
        (None, [only]) if only == KeyRule::Placeholder.id() => "placeholder",
        _ => status_label(status),
    };
    write!(out, " <span class=\"badge status-{}\">{label}</span>", status_class(status))?;
    if let Some(history) = &key.history {
        let (class, label) = exposure_label(history);
        write!(out, " <span class=\"badge {class}\">{label}</span>")?;
    }
    writeln!(out, "</header>")?;
    let rules: Vec<String> = key.rules.iter().map(|r| page.text(r).to_string()).collect();
    writeln!(out, "<p class=\"rules\">{}</p>", rules.join(" · "))?;
    repositories(page, key, out)?;
    exposure(page, key, out)?;
    verification(page, key, out)?;
    public_key(page, key, out)?;
    writeln!(out, "<h3>Where ({} {})</h3>", findings.len(), plural(findings.len(), "place"))?;
    places_table(page, findings, false, out)?;
    writeln!(out, "<h3>What to do</h3>\n<ol class=\"fix\">")?;
    for step in &key.fix {
        writeln!(out, "<li>{}</li>", page.name(step))?;
    }
    writeln!(out, "</ol>\n</article>")
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        word.to_string()
    } else {
        format!("{word}s")
    }
}

/// The CSS class of a verification status (`None`: not verified).
pub(super) fn status_class(status: Option<VerificationStatus>) -> &'static str {
    status.map_or("unverified", VerificationStatus::as_str)
}

pub(super) fn status_label(status: Option<VerificationStatus>) -> &'static str {
    match status {
        Some(VerificationStatus::Live) => "live",
        Some(VerificationStatus::Unknown) => "unknown (treat as live)",
        Some(VerificationStatus::Invalid) => "invalid",
        None => "not verified",
    }
}

fn exposure_label(history: &KeyHistory) -> (&'static str, String) {
    match (history.in_head, history.refs.len()) {
        (true, _) => ("exposed", "in HEAD".to_string()),
        (false, 0) => ("history", "history only".to_string()),
        (false, n) => ("exposed", format!("removed from HEAD, on {n} {}", plural(n, "ref"))),
    }
}

/// The exposure line: introduced → removed, or → now; the refs that still hold the key;
/// and its track on the run's axis. Outside history, why there are no dates.
fn exposure(page: &Page<'_>, key: &Key, out: &mut dyn Write) -> io::Result<()> {
    let Some(history) = &key.history else {
        let why = if page.report.summary.urls_fetched.is_some() {
            "Served by the site as fetched. A live site has no history: rotating the key is what \
             un-leaks it."
        } else {
            "In the files as they are now. <code>pkscan git</code> on the repository tells since \
             when it leaked and which branches and tags still hold it."
        };
        return writeln!(out, "<p class=\"exposure\">{why}</p>");
    };
    writeln!(out, "<div class=\"exposure\">\n<p>")?;
    match &history.introduced {
        Some(c) => write!(out, "<span class=\"when\">Introduced</span> {}", commit_line(page, c))?,
        None => write!(out, "<span class=\"when\">Introduced</span> (commit unknown)")?,
    }
    match (&history.removed, history.in_head) {
        (_, true) => write!(out, "<br>→ <span class=\"when\">now</span>: still in HEAD")?,
        (Some(c), false) => {
            write!(out, "<br>→ <span class=\"when\">Removed</span> {}", commit_line(page, c))?
        }
        (None, false) => {
            write!(out, "<br>→ not in HEAD, and never removed on its first-parent chain")?
        }
    }
    writeln!(out, "</p>")?;
    if !history.refs.is_empty() {
        let refs: Vec<String> =
            history.refs.iter().map(|r| format!("<code>{}</code>", page.name(r))).collect();
        writeln!(out, "<p class=\"refs\">Still handed out by {}</p>", refs.join(" "))?;
    }
    if let Some(axis) = &page.axis {
        timeline::write_track(&axis.span(history), out)?;
        timeline::write_ticks(axis, out)?;
    }
    writeln!(out, "</div>")
}

/// `<time>2024-01-02</time> in <code>3f9a0c1d2e4b</code> by Ada: “Add settings”`.
fn commit_line(page: &Page<'_>, c: &CommitInfo) -> String {
    format!(
        "<time>{}</time> in <code title=\"{}\">{}</code> by {}: <q>{}</q>",
        page.text(date(c)),
        page.text(&c.id),
        page.text(c.id.get(..12).unwrap_or(&c.id)),
        page.text(&c.author_name),
        page.text(&c.summary)
    )
}

/// The repositories that hold the key (`repos` and `merge` reports): one rotation for all.
fn repositories(page: &Page<'_>, key: &Key, out: &mut dyn Write) -> io::Result<()> {
    if key.repositories.is_empty() {
        return Ok(());
    }
    let names: Vec<String> =
        key.repositories.iter().map(|r| format!("<code>{}</code>", page.name(r))).collect();
    let what = if names.len() == 1 { "repository" } else { "repositories" };
    writeln!(out, "<p class=\"repos\">In {} {what}: {}</p>", names.len(), names.join(" "))
}

fn verification(page: &Page<'_>, key: &Key, out: &mut dyn Write) -> io::Result<()> {
    let Some(v) = &key.verification else { return Ok(()) };
    write!(
        out,
        "<p class=\"verify\">Klaviyo said <b>{}</b>: {}",
        v.status.as_str(),
        page.text(&v.detail)
    )?;
    match (&v.account_name, &v.account_id) {
        (Some(name), Some(id)) => write!(out, "; account {} ({})", page.text(name), page.text(id))?,
        (Some(one), None) | (None, Some(one)) => write!(out, "; account {}", page.text(one))?,
        (None, None) => {}
    }
    writeln!(out, " <small>({})</small></p>", page.text(&v.checked_at))
}

/// The public key to put where this key was misplaced, or the ones seen when none is.
fn public_key(page: &Page<'_>, key: &Key, out: &mut dyn Write) -> io::Result<()> {
    let seen_at = |id: &str| {
        key.public_keys_seen
            .iter()
            .find(|s| s.id == id)
            .map(|s| format!("{}:{}", page.name(&s.path), s.line))
    };
    if let Some(public) = &key.public_api_key {
        let from = match (public.source, seen_at(&public.id)) {
            (PublicKeySource::Verify, _) => "as Klaviyo names it for this key's account".into(),
            (PublicKeySource::Seen, Some(at)) => format!("the one public key seen, at {at}"),
            (PublicKeySource::Seen, None) => "the one public key seen".into(),
        };
        return writeln!(
            out,
            "<p class=\"public\">Public key to use: <code>{}</code> ({from})</p>",
            page.text(&public.id)
        );
    }
    if key.public_keys_seen.len() > 1 {
        let seen: Vec<String> = key
            .public_keys_seen
            .iter()
            .map(|s| {
                format!("<code>{}</code> at {}:{}", page.text(&s.id), page.name(&s.path), s.line)
            })
            .collect();
        writeln!(
            out,
            "<p class=\"public\">Public keys seen: {} (more than one, so none is named)</p>",
            seen.join(", ")
        )?;
    }
    Ok(())
}

/// One row per finding: repository (`repos` and `merge` reports), path with the source-map
/// `original` beside it, line, column, rule, commit and the line around the key;
/// `with_secret` adds the (redacted) secret, for custom rules whose findings have no card.
pub(super) fn places_table(
    page: &Page<'_>,
    findings: &[&Finding],
    with_secret: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    let history = findings.iter().any(|f| f.commit.is_some());
    let repos = findings.iter().any(|f| f.repository.is_some());
    write!(out, "<table>\n<thead><tr>")?;
    if repos {
        write!(out, "<th>Repository</th>")?;
    }
    write!(out, "<th>Path</th><th>Line</th><th>Col</th><th>Rule</th>")?;
    if with_secret {
        write!(out, "<th>Secret</th>")?;
    }
    if history {
        write!(out, "<th>Commit</th>")?;
    }
    writeln!(out, "<th>Code</th></tr></thead>\n<tbody>")?;
    for f in findings {
        write!(out, "<tr>")?;
        if repos {
            let repository = f.repository.as_deref().unwrap_or_default();
            write!(out, "<td class=\"repo\">{}</td>", page.name(repository))?;
        }
        write!(out, "<td class=\"path\">{}", page.name(&f.path))?;
        if let Some(original) = &f.original {
            let place = format!("{}:{}:{}", original.source, original.line, original.column);
            write!(
                out,
                "<br><small class=\"original\">{} <i>via source map</i></small>",
                page.text(&place)
            )?;
        }
        write!(
            out,
            "</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"rule\">{}",
            f.line,
            f.column,
            page.text(&f.rule_id)
        )?;
        if !f.decoded.is_empty() {
            let layers: Vec<&str> = f.decoded.iter().map(|l| l.as_str()).collect();
            write!(out, "<br><small>after {}</small>", layers.join(" → "))?;
        }
        write!(out, "</td>")?;
        if with_secret {
            write!(out, "<td><code>{}</code></td>", page.text(&page.opts.secret_text(f)))?;
        }
        if history {
            match &f.commit {
                Some(c) => write!(out, "<td class=\"commit\">{}</td>", commit_line(page, c))?,
                None => write!(out, "<td></td>")?,
            }
        }
        let snippet = page.opts.snippet(f, SNIPPET_WIDTH);
        writeln!(out, "<td><code class=\"snippet\">{}</code></td></tr>", page.text(&snippet))?;
    }
    writeln!(out, "</tbody>\n</table>")
}
