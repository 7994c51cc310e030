//! One report from many: the per-repository reports of `pkscan repos`, and the JSON
//! reports of its shards read back by `pkscan merge`. Both go through [`combine`], whose
//! every step is order-independent and associative (sums, unions, minimum and maximum,
//! one final sort), so merging the shards of a run gives what the run without shards
//! gives. Nothing here scans or prints.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::finding::{Finding, Key, KeyHistory, LineText, Report, Secret, Summary};
use crate::report::json::{JsonFinding, JsonKey, JsonReport, REPORT_VERSION};

/// The report of the union of `reports`' runs. Findings are sorted by repository, then
/// the contract's order; keys are merged by `secret_sha256`, listing every repository.
pub fn combine(reports: Vec<Report>) -> Report {
    let mut out = Report::default();
    let mut keys: BTreeMap<String, Key> = BTreeMap::new();
    for report in reports {
        out.summary = add_summaries(&out.summary, &report.summary);
        out.findings.extend(report.findings);
        out.errors.extend(report.errors);
        out.public_keys_seen.extend(report.public_keys_seen);
        if let Some(skipped) = report.skipped_urls {
            out.skipped_urls.get_or_insert_with(Vec::new).extend(skipped);
        }
        for key in report.keys {
            match keys.entry(key.secret.sha256_hex()) {
                std::collections::btree_map::Entry::Vacant(slot) => {
                    slot.insert(key);
                }
                std::collections::btree_map::Entry::Occupied(mut slot) => {
                    merge_key(slot.get_mut(), key);
                }
            }
        }
    }
    sort_findings(&mut out.findings);
    out.errors.sort();
    out.errors.dedup();
    out.public_keys_seen.sort();
    if let Some(skipped) = &mut out.skipped_urls {
        skipped.sort();
        skipped.dedup();
    }
    out.public_keys_seen.dedup_by(|later, first| later.id == first.id);
    out.summary.findings = out.findings.len() as u64;
    out.summary.errors = out.errors.len() as u64;
    out.keys = keys.into_values().filter_map(|key| finish_key(key, &out)).collect();
    out.keys.sort_by_cached_key(|k| (std::cmp::Reverse(k.severity), k.secret.sha256_hex()));
    out
}

/// Brings `report.keys` in line with findings that changed after the keys were made
/// (`--verify` over a combined report): each key's verification from its findings, and
/// what depends on it; a key whose findings are all gone (`--verify-only-live`) leaves.
pub(crate) fn refresh_keys(report: &mut Report) {
    let keys = std::mem::take(&mut report.keys);
    report.keys = keys
        .into_iter()
        .filter_map(|mut key| {
            key.verification = report
                .findings
                .iter()
                .filter(|f| f.secret == key.secret)
                .find_map(|f| f.verification.clone());
            finish_key(key, report)
        })
        .collect();
    report.keys.sort_by_cached_key(|k| (std::cmp::Reverse(k.severity), k.secret.sha256_hex()));
}

/// Repository first, then path, line, column and rule id; the key's hash and the commit
/// break ties, as they are known in a report read back too.
fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by_cached_key(|f| {
        (
            f.repository.clone(),
            f.path.clone(),
            f.line,
            f.column,
            f.rule_id.clone(),
            f.secret.sha256_hex(),
            f.commit.as_ref().map(|c| c.id.clone()),
        )
    });
}

fn add_summaries(a: &Summary, b: &Summary) -> Summary {
    let verification = match (&a.verification, &b.verification) {
        (Some(x), Some(y)) => Some(crate::finding::VerificationSummary {
            keys_checked: x.keys_checked + y.keys_checked,
            live: x.live + y.live,
            unknown: x.unknown + y.unknown,
            invalid: x.invalid + y.invalid,
            hidden: x.hidden + y.hidden,
        }),
        (x, y) => x.clone().or_else(|| y.clone()),
    };
    Summary {
        files_scanned: a.files_scanned + b.files_scanned,
        bytes_scanned: a.bytes_scanned + b.bytes_scanned,
        findings: 0,
        baselined: a.baselined + b.baselined,
        allowed: a.allowed + b.allowed,
        skipped: a.skipped + b.skipped,
        errors: 0,
        elapsed_ms: a.elapsed_ms.max(b.elapsed_ms),
        history_partial: match (a.history_partial, b.history_partial) {
            (Some(x), Some(y)) => Some(x || y),
            (x, y) => x.or(y),
        },
        urls_fetched: None,
        urls_skipped: None,
        verification,
    }
}

/// `into` and `other` are the same key: the union of what each knew.
fn merge_key(into: &mut Key, other: Key) {
    into.severity = into.severity.max(other.severity);
    into.rules.extend(other.rules);
    into.rules.sort();
    into.rules.dedup();
    into.repositories.extend(other.repositories);
    into.repositories.sort();
    into.repositories.dedup();
    if into.verification.is_none() {
        into.verification = other.verification;
    }
    into.history = match (into.history.take(), other.history) {
        (Some(a), Some(b)) => Some(merge_history(a, b)),
        (a, b) => a.or(b),
    };
}

/// Across repositories there is no common ancestry: the earliest introduction and the
/// latest removal by author date (then id), in HEAD when in any repository's HEAD, and
/// every ref (already named `repository:ref`).
fn merge_history(a: KeyHistory, b: KeyHistory) -> KeyHistory {
    let when = |c: &crate::finding::CommitInfo| (c.date.clone(), c.id.clone());
    let introduced = [a.introduced, b.introduced].into_iter().flatten().min_by_key(when);
    let in_head = a.in_head || b.in_head;
    let removed = [a.removed, b.removed].into_iter().flatten().max_by_key(when);
    let mut refs = a.refs;
    refs.extend(b.refs);
    refs.sort();
    refs.dedup();
    KeyHistory { introduced, removed: removed.filter(|_| !in_head), in_head, refs }
}

/// A merged key's fields that depend on the whole run: its findings in report order, the
/// public keys seen, the replacement public key and the fix. `None` when none of its
/// findings is left (a baseline took them all).
fn finish_key(mut key: Key, report: &Report) -> Option<Key> {
    let sha = key.secret.sha256_hex();
    let is_key_rule = |id: &str| crate::rules::KeyRule::ALL.iter().any(|r| r.id() == id);
    let findings: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| is_key_rule(&f.rule_id) && f.secret.sha256_hex() == sha)
        .collect();
    key.severity = findings.iter().map(|f| f.severity).max()?;
    key.rules = findings.iter().map(|f| f.rule_id.clone()).collect();
    key.rules.sort();
    key.rules.dedup();
    key.findings = findings.iter().map(|f| f.fingerprint()).collect();
    let mut repositories: Vec<String> =
        findings.iter().filter_map(|f| f.repository.clone()).collect();
    repositories.sort();
    repositories.dedup();
    if !repositories.is_empty() {
        key.repositories = repositories;
    }
    key.public_keys_seen = report.public_keys_seen.clone();
    key.public_api_key =
        crate::report::keys::public_api_key(key.verification.as_ref(), &report.public_keys_seen);
    key.fix = crate::report::keys::fix_steps(&key, &findings);
    Some(key)
}

/// Reads a JSON report written by `pkscan … --format json`; anything else, or a report of
/// another pkscan version, is an error naming the file.
pub fn load(path: &Path) -> Result<Report> {
    let shown = crate::paths::display_path(path);
    let bytes = std::fs::read(path).with_context(|| format!("cannot read report {shown}"))?;
    let wire: JsonReport = serde_json::from_slice(&bytes).map_err(|err| {
        anyhow::anyhow!(
            "{shown} is not a pkscan JSON report (line {}, column {}); write one with \
             `pkscan repos --format json --output FILE`",
            err.line(),
            err.column()
        )
    })?;
    if wire.tool.name != "pkscan" || wire.version != REPORT_VERSION {
        bail!("{shown} is not a pkscan JSON report of version {REPORT_VERSION}");
    }
    let ours = env!("CARGO_PKG_VERSION");
    if wire.tool.version != ours {
        bail!(
            "{shown} was written by pkscan {}, this is pkscan {ours}: merge reports of one \
             version (run every shard with the same pkscan)",
            crate::sanitize::escape_control(&wire.tool.version)
        );
    }
    Ok(from_wire(wire))
}

/// A report read back: secrets stay as written (raw only if the shard showed them).
fn from_wire(wire: JsonReport) -> Report {
    Report {
        findings: wire.findings.into_iter().map(finding_of).collect(),
        errors: wire.errors,
        // A report of an earlier build has them only on its keys.
        public_keys_seen: if wire.public_keys_seen.is_empty() {
            wire.keys.first().map(|k| k.public_keys_seen.clone()).unwrap_or_default()
        } else {
            wire.public_keys_seen
        },
        keys: wire.keys.into_iter().map(key_of).collect(),
        summary: wire.summary,
        skipped_urls: wire.skipped_urls,
    }
}

fn secret_of(shown: String, sha256: String) -> Secret {
    let raw = Secret::new(shown.clone());
    if raw.sha256_hex() == sha256 {
        raw
    } else {
        Secret::sealed(shown, sha256)
    }
}

fn finding_of(wire: JsonFinding) -> Finding {
    Finding {
        rule_id: wire.rule_id,
        severity: wire.severity,
        root_relative_path: wire.path.clone(),
        path: wire.path,
        line: wire.line,
        column: wire.column,
        end_line: wire.end_line,
        end_column: wire.end_column,
        secret: secret_of(wire.secret, wire.secret_sha256),
        decoded: wire.decoded,
        message: wire.message,
        commit: wire.commit,
        verification: wire.verification,
        line_text: LineText::new(String::new()),
        original: wire.original,
        repository: wire.repository,
        recorded_fingerprint: Some(wire.fingerprint),
    }
}

fn key_of(wire: JsonKey) -> Key {
    Key {
        secret: secret_of(wire.secret, wire.secret_sha256),
        severity: wire.severity,
        rules: wire.rules,
        findings: wire.findings,
        history: wire.history,
        public_api_key: wire.public_api_key,
        public_keys_seen: wire.public_keys_seen,
        verification: wire.verification,
        fix: wire.fix,
        repositories: wire.repositories,
    }
}
