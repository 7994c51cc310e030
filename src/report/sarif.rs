//! SARIF 2.1.0 for GitHub code scanning: one run, every rule with help and a
//! `security-severity`, results with root-relative URIs under `%SRCROOT%`, full regions,
//! and `primaryLocationLineHash` set from pkscan's own fingerprint so alerts survive moved
//! lines and history or archive findings do not duplicate on every upload.

use serde_json::{json, Value};

use crate::finding::{Finding, Report, Severity, VerificationStatus};
use crate::report::PrintOptions;
use crate::rules::Rule;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const ROOT_ID: &str = "%SRCROOT%";
/// `security-severity` of a result whose key `--verify` found live: the top of GitHub's
/// critical band.
const LIVE_SECURITY_SEVERITY: &str = "10.0";

/// The whole SARIF log as a JSON value.
pub(crate) fn document(report: &Report, rules: &[Rule], opts: &PrintOptions) -> Value {
    let results: Vec<Value> = report.findings.iter().map(|f| result(f, rules, opts)).collect();
    let mut base =
        json!({ "description": { "text": "The root of the scanned repository or directory." } });
    if let Some(root) = &opts.root_uri {
        base["uri"] = json!(root);
    }
    let notifications: Vec<Value> = report
        .errors
        .iter()
        .map(|e| {
            json!({
                "level": "warning",
                "message": { "text": format!("{}: {}", super::escape_control(&e.path), super::escape_control(&e.message)) },
            })
        })
        .collect();
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "pkscan",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/pkscan/pkscan",
                "rules": rules.iter().map(rule).collect::<Vec<_>>(),
            }},
            "invocations": [{
                "executionSuccessful": true,
                "toolExecutionNotifications": notifications,
            }],
            "originalUriBaseIds": { ROOT_ID: base },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

fn rule(rule: &Rule) -> Value {
    json!({
        "id": rule.id,
        "name": camel_case(&rule.id),
        "shortDescription": { "text": rule.title },
        "fullDescription": { "text": rule.message },
        "help": { "text": rule.help, "markdown": rule.help },
        "defaultConfiguration": { "level": level(rule.severity) },
        "properties": {
            "security-severity": security_severity(rule.severity),
            "precision": if rule.severity == Severity::Low { "medium" } else { "high" },
            "problem.severity": problem_severity(rule.severity),
            "tags": if rule.builtin {
                json!(["security", "secrets", "klaviyo", "external/cwe/cwe-798"])
            } else {
                json!(["security", "secrets", "external/cwe/cwe-798"])
            },
        },
    })
}

fn result(finding: &Finding, rules: &[Rule], opts: &PrintOptions) -> Value {
    let (uri, base) = artifact_uri(finding);
    let mut artifact = json!({ "uri": uri });
    if base {
        artifact["uriBaseId"] = json!(ROOT_ID);
    }
    let mut properties = json!({
        "severity": finding.severity.as_str(),
        "secret": opts.secret_text(finding),
        "secret_sha256": finding.secret.sha256_hex(),
        "decoded": finding.decoded,
        "path": finding.path,
    });
    if let Some(commit) = &finding.commit {
        properties["commit"] = json!(commit);
    }
    if let Some(repository) = &finding.repository {
        properties["repository"] = json!(repository);
    }
    let mut level = level(finding.severity);
    let mut message = format!("{} ({})", finding.message, opts.secret_text(finding));
    if let Some(verification) = &finding.verification {
        properties["verification"] = json!(verification);
        if verification.status == VerificationStatus::Live {
            // A key Klaviyo accepts today outranks every other alert of its rule.
            level = "error";
            properties["security-severity"] = json!(LIVE_SECURITY_SEVERITY);
            message = format!("LIVE KEY (Klaviyo accepted it): {message}");
            if let Some(public) = super::replacement_public_key(finding) {
                message.push_str(&format!(" Replace it with your public key {public}."));
            }
        }
    }
    let mut value = json!({
        "ruleId": finding.rule_id,
        "level": level,
        "message": { "text": message },
        "locations": [{ "physicalLocation": {
            "artifactLocation": artifact,
            "region": {
                "startLine": finding.line,
                "startColumn": finding.column,
                "endLine": finding.end_line,
                "endColumn": finding.end_column,
                "snippet": { "text": opts.snippet(finding, 60) },
            },
        }}],
        "partialFingerprints": { "primaryLocationLineHash": finding.fingerprint() },
        "properties": properties,
    });
    if let Some(index) = rules.iter().position(|r| r.id == finding.rule_id) {
        value["ruleIndex"] = json!(index);
    }
    if let Some(original) = &finding.original {
        let (uri, base) = source_uri(finding, &original.source);
        let mut artifact = json!({ "uri": uri });
        if base {
            artifact["uriBaseId"] = json!(ROOT_ID);
        }
        let place = format!("{}:{}:{}", original.source, original.line, original.column);
        value["relatedLocations"] = json!([{
            "id": 1,
            "message": { "text": format!("written at {place} (source map)") },
            "physicalLocation": {
                "artifactLocation": artifact,
                "region": { "startLine": original.line, "startColumn": original.column },
            },
        }]);
    }
    value
}

/// A URL stays absolute; anything else is the root-relative path, percent-encoded.
fn artifact_uri(finding: &Finding) -> (String, bool) {
    if finding.path.starts_with("http://") || finding.path.starts_with("https://") {
        return (finding.path.clone(), false);
    }
    (percent_encode_path(&finding.root_relative_path), true)
}

/// Percent-encodes everything but unreserved characters, `/` and `!`.
pub(crate) fn percent_encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A source map's source as a file path code scanning can show: a relative source
/// (`../../src/main.js`) resolved against the folder of the file that holds the finding;
/// a bundler's namespaced name (`webpack://app/./pages/_app.tsx`) as the path after its
/// namespace (`pages/_app.tsx`), relative to the root. In `url` reports the base is the
/// finding's URL, as for the finding itself.
fn source_uri(finding: &Finding, source: &str) -> (String, bool) {
    if let Some((_, rest)) = source.split_once("://") {
        let path = rest.split_once('/').map_or(rest, |(_, path)| path);
        return (percent_encode_path(&normalize(path)), true);
    }
    if artifact_uri(finding).1 {
        let below = &finding.root_relative_path;
        let folder = below.rsplit_once('/').map_or("", |(folder, _)| folder);
        return (percent_encode_path(&normalize(&format!("{folder}/{source}"))), true);
    }
    match url::Url::parse(&finding.path).and_then(|base| base.join(source)) {
        Ok(joined) => (joined.to_string(), false),
        Err(_) => (percent_encode_path(&normalize(source)), true),
    }
}

/// `a/./b/../c` as `a/c`; leading `..` that would climb above the root are dropped.
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

fn problem_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "recommendation",
    }
}

/// GitHub's bands: above 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low.
pub(crate) fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "2.0",
    }
}

fn camel_case(id: &str) -> String {
    id.split(['-', '_'])
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_percent_encoded() {
        assert_eq!(percent_encode_path("a b/c#d.js"), "a%20b/c%23d.js");
        assert_eq!(percent_encode_path("app.zip!dist/é.js"), "app.zip!dist/%C3%A9.js");
        assert_eq!(percent_encode_path("new\nline"), "new%0Aline");
    }

    #[test]
    fn names_are_camel_case() {
        assert_eq!(camel_case("klaviyo-private-key-as-token"), "KlaviyoPrivateKeyAsToken");
    }
}
