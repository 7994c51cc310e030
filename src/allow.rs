//! Suppression after a scan: the config's `[allow]` list and a `--baseline` report. Both
//! run on the finished report, so suppressed findings were scanned like any other and are
//! counted (`summary.allowed`, `summary.baselined`), never silently dropped. The inline
//! `pkscan:allow` comment is handled while scanning (it needs the raw line) and counted in
//! the same `allowed`.

use std::collections::HashSet;
use std::path::Path;

use ignore::gitignore::Gitignore;
use regex::Regex;

use crate::baseline::Baseline;
use crate::finding::{Finding, Report};

/// The `[allow]` section, compiled. Empty by default: nothing is allowed.
#[derive(Clone, Debug, Default)]
pub struct Allowlist {
    /// Gitignore-style globs over the finding's path.
    pub paths: Option<Gitignore>,
    /// Lowercase hex SHA-256 of allowed secrets (a report's `secret_sha256`).
    pub secret_sha256: HashSet<String>,
    /// Matched against the text of the finding's line.
    pub regexes: Vec<Regex>,
    /// Rule ids whose findings are all allowed.
    pub rules: HashSet<String>,
}

impl Allowlist {
    pub(crate) fn is_empty(&self) -> bool {
        self.paths.is_none()
            && self.secret_sha256.is_empty()
            && self.regexes.is_empty()
            && self.rules.is_empty()
    }

    /// Whether any entry allows `finding`.
    pub(crate) fn allows(&self, finding: &Finding) -> bool {
        self.rules.contains(&finding.rule_id)
            || self.paths.as_ref().is_some_and(|globs| path_matches(globs, finding))
            || (!self.secret_sha256.is_empty()
                && self.secret_sha256.contains(&finding.secret.sha256_hex()))
            || self.regexes.iter().any(|re| re.is_match(finding.line_text.expose()))
    }
}

/// A glob matches the path as reported or as relative to the repository root, the file
/// itself or any folder above it (so `docs/examples/` allows everything below it).
fn path_matches(globs: &Gitignore, finding: &Finding) -> bool {
    [&finding.path, &finding.root_relative_path].into_iter().any(|path| {
        // A member of a container (`site.zip!js/app.js`) is matched by the container's path
        // and by the whole name.
        let outer = path.split('!').next().unwrap_or(path);
        [path.as_str(), outer].into_iter().any(|p| {
            let relative = Path::new(p.trim_start_matches('/'));
            !relative.as_os_str().is_empty()
                && globs.matched_path_or_any_parents(relative, false).is_ignore()
        })
    })
}

/// Drops the findings the allowlist or the baseline covers, counting each once (the
/// allowlist first), and brings `summary.findings` in line.
pub(crate) fn suppress(allow: &Allowlist, baseline: Option<&Baseline>, report: &mut Report) {
    if allow.is_empty() && baseline.is_none_or(Baseline::is_empty) {
        return;
    }
    let (mut allowed, mut baselined) = (0, 0);
    report.findings.retain(|finding| {
        if allow.allows(finding) {
            allowed += 1;
            false
        } else if baseline.is_some_and(|b| b.contains(&finding.fingerprint())) {
            baselined += 1;
            false
        } else {
            true
        }
    });
    report.summary.allowed += allowed;
    report.summary.baselined += baselined;
    report.summary.findings = report.findings.len() as u64;
}

#[cfg(test)]
mod tests {
    use ignore::gitignore::GitignoreBuilder;

    use super::*;
    use crate::finding::{Secret, Severity};

    const KEY: &str = "pk_8e1f47c2b90d3a65f0e2c7d914b8a36e52"; // pkscan:allow

    fn finding(path: &str, rule: &str, line: &str) -> Finding {
        Finding {
            rule_id: rule.into(),
            severity: Severity::High,
            path: path.into(),
            root_relative_path: path.into(),
            line: 1,
            column: 1,
            end_line: 1,
            end_column: 38,
            secret: Secret::new(KEY),
            decoded: vec![],
            message: String::new(),
            commit: None,
            verification: None,
            line_text: crate::finding::LineText::new(line),
            original: None,
            repository: None,
            recorded_fingerprint: None,
        }
    }

    fn globs(lines: &[&str]) -> Gitignore {
        let mut builder = GitignoreBuilder::new("");
        for line in lines {
            builder.add_line(None, line).unwrap();
        }
        builder.build().unwrap()
    }

    #[test]
    fn paths_follow_gitignore_rules() {
        let allow = Allowlist {
            paths: Some(globs(&["docs/examples/**", "*.md", "fixtures/", "/top.txt"])),
            ..Allowlist::default()
        };
        let allowed = |path: &str| allow.allows(&finding(path, "r", ""));
        assert!(allowed("docs/examples/a/b.js"));
        assert!(allowed("deep/down/README.md"), "no slash: any depth");
        assert!(allowed("a/fixtures/x/y.env"), "a folder pattern covers what is below it");
        assert!(allowed("top.txt"));
        assert!(allowed("fixtures/site.zip!index.html"), "a member is matched by its container");
        assert!(!allowed("sub/top.txt"), "a leading slash anchors at the root");
        assert!(!allowed("docs/example.js"));
        assert!(!allowed("src/app.js"));
    }

    #[test]
    fn hashes_regexes_and_rules() {
        let sha = Secret::new(KEY).sha256_hex();
        let by_hash =
            Allowlist { secret_sha256: HashSet::from([sha.clone()]), ..Allowlist::default() };
        assert!(by_hash.allows(&finding("a", "r", "")));
        let other = Finding { secret: Secret::new(KEY.replace('8', "9")), ..finding("a", "r", "") };
        assert!(!by_hash.allows(&other));

        let by_regex = Allowlist {
            regexes: vec![Regex::new("example_private_key").unwrap()],
            ..Allowlist::default()
        };
        assert!(by_regex.allows(&finding("a", "r", &format!("example_private_key = {KEY}"))));
        assert!(!by_regex.allows(&finding("a", "r", &format!("private_key = {KEY}"))));

        let by_rule = Allowlist {
            rules: HashSet::from(["klaviyo-placeholder-key".to_string()]),
            ..Allowlist::default()
        };
        assert!(by_rule.allows(&finding("a", "klaviyo-placeholder-key", "")));
        assert!(!by_rule.allows(&finding("a", "klaviyo-private-key", "")));
        assert!(!Allowlist::default().allows(&finding("a", "r", "")));
    }

    #[test]
    fn suppress_counts_allowed_before_baselined() {
        let kept = finding("src/a.js", "klaviyo-private-key", "");
        let allowed = finding("docs/a.md", "klaviyo-private-key", "");
        let baselined = finding("src/b.js", "klaviyo-private-key", "");
        let both = finding("docs/b.md", "klaviyo-private-key", "");
        let baseline = Baseline::from_fingerprints([baselined.fingerprint(), both.fingerprint()]);
        let allow = Allowlist { paths: Some(globs(&["docs/"])), ..Allowlist::default() };
        let mut report =
            Report { findings: vec![kept.clone(), allowed, baselined, both], ..Report::default() };
        report.summary.allowed = 2; // from pkscan:allow comments
        suppress(&allow, Some(&baseline), &mut report);
        assert_eq!(
            report.findings.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
            ["src/a.js"]
        );
        assert_eq!(
            (report.summary.allowed, report.summary.baselined, report.summary.findings),
            (4, 1, 1)
        );
    }
}
