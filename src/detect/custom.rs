//! Custom rules from `[[rule]]` in `.pkscan.toml`: a regex per rule, optionally behind a
//! literal keyword prefilter, run over the same windows as the built-in detector.
//!
//! With keywords, one literal search per rule finds its keywords in the window and the
//! rule's regex runs only within [`CONTEXT`] bytes of each hit; without keywords the regex
//! runs over the window. The keyword search uses the regex crate's literal engine (SIMD,
//! case variants included): on 303 MB of source, one ASCII-case-insensitive keyword took
//! 23 ms there against 250 ms through `aho-corasick`'s case-insensitive automaton.
//!
//! Either way a hit belongs to the window where its secret starts, in `[from, until)`, so a
//! match straddling two windows is reported once. This module does not know about files,
//! lines or reports: it hands back byte offsets as [`Candidate`]s.

use std::borrow::Cow;

use regex::bytes::{Regex, RegexBuilder};

use crate::detect::Candidate;
use crate::finding::Severity;
use crate::rules::{KeyRule, Rule};

/// How far from a keyword hit a match may start or end, and how far before `from` an
/// unkeyed search starts so that it sees whole tokens. The scanner keeps at least this
/// much context on both sides of a window's scanned range.
pub(crate) const CONTEXT: usize = 1 << 10;

/// Why a custom rule could not be built; the config layer adds file and line.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum CustomRuleError {
    #[error("invalid regex: {0}")]
    Regex(String),
    #[error("the regex matches the empty string, so it would match everywhere")]
    MatchesEmpty,
    #[error("a keyword is empty; remove it or give the literal text the secret starts with")]
    EmptyKeyword,
    #[error("a keyword is longer than 256 bytes; keywords are short literal prefixes")]
    LongKeyword,
}

/// One rule from the config, compiled.
#[derive(Clone, Debug)]
pub struct CustomRule {
    pub id: String,
    pub severity: Severity,
    pub title: String,
    pub help: String,
    regex: Regex,
    /// Index of the named group `secret`, when the regex has one.
    secret_group: Option<usize>,
    keywords: Vec<String>,
    /// Any keyword, ASCII-case-insensitively; `None` without keywords.
    prefilter: Option<Regex>,
}

impl CustomRule {
    /// Compiles `regex`; `keywords` are literal, ASCII-case-insensitive prefilters.
    pub(crate) fn new(
        id: String,
        regex: &str,
        keywords: Vec<String>,
        severity: Severity,
        title: String,
        help: String,
    ) -> Result<CustomRule, CustomRuleError> {
        let compiled = RegexBuilder::new(regex)
            .size_limit(1 << 20)
            .build()
            .map_err(|e| CustomRuleError::Regex(describe_regex_error(&e)))?;
        if compiled.is_match(b"") {
            return Err(CustomRuleError::MatchesEmpty);
        }
        if keywords.iter().any(String::is_empty) {
            return Err(CustomRuleError::EmptyKeyword);
        }
        // Longer keywords could reach past the CONTEXT a hit's region keeps around it.
        if keywords.iter().any(|k| k.len() > 256) {
            return Err(CustomRuleError::LongKeyword);
        }
        let prefilter = (!keywords.is_empty())
            .then(|| {
                let alternation: Vec<String> = keywords.iter().map(|k| regex::escape(k)).collect();
                RegexBuilder::new(&format!("(?i-u:{})", alternation.join("|")))
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| CustomRuleError::Regex(describe_regex_error(&e)))
            })
            .transpose()?;
        let secret_group = compiled.capture_names().position(|name| name == Some("secret"));
        Ok(CustomRule {
            id,
            severity,
            title,
            help,
            regex: compiled,
            secret_group,
            keywords,
            prefilter,
        })
    }

    pub fn regex(&self) -> &str {
        self.regex.as_str()
    }

    pub fn keywords(&self) -> &[String] {
        &self.keywords
    }

    /// The rule as `pkscan rules`, SARIF and the text report show it.
    pub(crate) fn rule(&self) -> Rule {
        let fix = self.help.lines().find(|l| !l.trim().is_empty()).unwrap_or_default();
        Rule {
            id: Cow::Owned(self.id.clone()),
            severity: self.severity,
            title: Cow::Owned(self.title.clone()),
            message: Cow::Owned(format!("{} (custom rule {}).", self.title, self.id)),
            fix: Cow::Owned(fix.trim().to_string()),
            help: Cow::Owned(self.help.clone()),
            builtin: false,
        }
    }

    /// The sorted, disjoint byte ranges of `buf` the regex must search for secrets
    /// starting in `[from, until)`: around each keyword hit, or all of it without keywords.
    fn regions(&self, buf: &[u8], from: usize, until: usize, out: &mut Vec<(usize, usize)>) {
        out.clear();
        let lo = from.saturating_sub(CONTEXT);
        let Some(prefilter) = &self.prefilter else {
            out.push((lo, buf.len()));
            return;
        };
        let hi = (until + CONTEXT).min(buf.len());
        // Leftmost-first hits do not overlap; a keyword overlapping a hit lies inside
        // the hit's region anyway, since keywords are shorter than CONTEXT.
        for hit in prefilter.find_iter(&buf[lo..hi]) {
            let start = (lo + hit.start()).saturating_sub(CONTEXT);
            let end = (lo + hit.end() + CONTEXT).min(buf.len());
            out.push((start, end));
        }
        merge(out);
    }

    /// The span of the secret in the match found at or after `at`: the group `secret`
    /// when it took part, else the whole match.
    fn next_match(&self, haystack: &[u8], at: usize) -> Option<(usize, usize, usize)> {
        let caps = self.regex.captures_at(haystack, at)?;
        let whole = caps.get(0).expect("group 0 always takes part in a match");
        let secret = self.secret_group.and_then(|g| caps.get(g)).unwrap_or(whole);
        Some((secret.start(), secret.end(), whole.end()))
    }
}

/// The regex crate's message on one line: a syntax error's last line says what is wrong
/// (the lines above it draw the pattern and a caret).
pub(crate) fn describe_regex_error(err: &regex::Error) -> String {
    let text = err.to_string();
    let last = text.lines().rev().map(str::trim).find(|l| !l.is_empty()).unwrap_or_default();
    last.trim_start_matches("error: ").to_string()
}

/// Every custom rule of a run.
#[derive(Clone, Debug, Default)]
pub struct CustomRules {
    rules: Vec<CustomRule>,
}

impl CustomRules {
    pub(crate) fn new(rules: Vec<CustomRule>) -> CustomRules {
        CustomRules { rules }
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub(crate) fn rules(&self) -> &[CustomRule] {
        &self.rules
    }

    /// The rule of a candidate this set produced.
    pub(crate) fn get(&self, index: usize) -> Option<&CustomRule> {
        self.rules.get(index)
    }

    /// Appends a candidate for every match whose secret starts in `buf[from..until]`.
    pub(crate) fn find_candidates(
        &self,
        buf: &[u8],
        from: usize,
        until: usize,
        out: &mut Vec<Candidate>,
    ) {
        let until = until.min(buf.len());
        if self.rules.is_empty() || from >= until {
            return;
        }
        let mut regions = Vec::new();
        for (index, rule) in self.rules.iter().enumerate() {
            rule.regions(buf, from, until, &mut regions);
            for &(start, end) in &regions {
                search(rule, &buf[..end], start, from, until, |s, e| {
                    out.push(Candidate {
                        start: s,
                        end: e,
                        rule: KeyRule::Generic,
                        layers: Vec::new(),
                        custom: Some(index),
                        key: None,
                    });
                });
            }
        }
    }
}

/// Merges sorted ranges that overlap or touch, so no byte is searched twice.
fn merge(ranges: &mut Vec<(usize, usize)>) {
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
    for &(start, end) in ranges.iter() {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    *ranges = merged;
}

/// Runs `rule` over `haystack[at..]` and reports secrets starting in `[from, until)`.
fn search(
    rule: &CustomRule,
    haystack: &[u8],
    mut at: usize,
    from: usize,
    until: usize,
    mut found: impl FnMut(usize, usize),
) {
    while at <= haystack.len() {
        let Some((start, end, match_end)) = rule.next_match(haystack, at) else {
            return;
        };
        if start >= until {
            return;
        }
        if start >= from && end > start {
            found(start, end);
        }
        // A regex that cannot match "" may still match empty elsewhere (`\b`); the search
        // must move forward all the same.
        at = if match_end > at { match_end } else { at + 1 };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(regex: &str, keywords: &[&str]) -> CustomRule {
        CustomRule::new(
            "acme".into(),
            regex,
            keywords.iter().map(|k| k.to_string()).collect(),
            Severity::High,
            "Acme token".into(),
            "Rotate it.".into(),
        )
        .unwrap()
    }

    fn spans(rules: &CustomRules, text: &str, from: usize, until: usize) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        rules.find_candidates(text.as_bytes(), from, until, &mut out);
        out.sort_by_key(|c| c.start);
        out.iter().map(|c| (c.start, c.end)).collect()
    }

    #[test]
    fn the_secret_group_is_the_secret_else_the_whole_match() {
        let text = "x = acme_live_0123456789abcdef; y";
        let grouped = CustomRules::new(vec![rule(r"acme_live_(?P<secret>[0-9a-f]{16})", &[])]);
        assert_eq!(spans(&grouped, text, 0, text.len()), vec![(14, 30)]);
        let whole = CustomRules::new(vec![rule(r"acme_live_[0-9a-f]{16}", &[])]);
        assert_eq!(spans(&whole, text, 0, text.len()), vec![(4, 30)]);
    }

    #[test]
    fn keywords_gate_the_regex_case_insensitively() {
        let rules = CustomRules::new(vec![rule(r"[0-9a-f]{16}", &["ACME_KEY"])]);
        let far = format!("token 0123456789abcdef{}", "\n".repeat(CONTEXT));
        let text = format!("{far}acme_key=fedcba9876543210\n");
        let at = far.len() + 9;
        assert_eq!(spans(&rules, &text, 0, text.len()), vec![(at, at + 16)]);
        let near = "token 0123456789abcdef\nacme_key=fedcba9876543210\n";
        assert_eq!(spans(&rules, near, 0, near.len()), vec![(6, 22), (32, 48)], "within CONTEXT");
    }

    #[test]
    fn a_match_belongs_to_the_window_where_its_secret_starts() {
        let rules = CustomRules::new(vec![rule(r"acme_[a-z]{8}", &["acme_"])]);
        let text = "..acme_abcdefgh..acme_ijklmnop";
        assert_eq!(spans(&rules, text, 0, 10), vec![(2, 15)]);
        assert_eq!(spans(&rules, text, 10, text.len()), vec![(17, 30)]);
        let unkeyed = CustomRules::new(vec![rule(r"acme_[a-z]{8}", &[])]);
        assert_eq!(spans(&unkeyed, text, 3, text.len()), vec![(17, 30)]);
    }

    #[test]
    fn keywords_are_literal_and_may_be_non_ascii() {
        let rules = CustomRules::new(vec![rule(r"[0-9]{4}", &["a.b(", "clé="])]);
        let pad = " ".repeat(CONTEXT + 1);
        let text = format!("axb(1111{pad}a.b(2222{pad}CLé=3333");
        let found = spans(&rules, &text, 0, text.len());
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(&text[found[0].0..found[0].1], "2222");
        assert_eq!(&text[found[1].0..found[1].1], "3333");
    }

    #[test]
    fn overlapping_keyword_hits_give_one_finding() {
        let rules = CustomRules::new(vec![rule(r"acme_[a-z]{8}", &["acme", "acme_", "cme"])]);
        let text = "acme_abcdefgh acme_abcdefgh";
        assert_eq!(spans(&rules, text, 0, text.len()), vec![(0, 13), (14, 27)]);
    }

    #[test]
    fn bad_rules_are_refused() {
        let err = |regex: &str, kw: &[&str]| {
            CustomRule::new(
                "x".into(),
                regex,
                kw.iter().map(|k| k.to_string()).collect(),
                Severity::Low,
                String::new(),
                String::new(),
            )
            .unwrap_err()
        };
        assert!(matches!(err("acme_[", &[]), CustomRuleError::Regex(_)));
        assert_eq!(err("a*", &[]), CustomRuleError::MatchesEmpty);
        assert_eq!(err("ab", &[""]), CustomRuleError::EmptyKeyword);
        assert_eq!(err("ab", &[&"k".repeat(257)]), CustomRuleError::LongKeyword);
    }

    #[test]
    fn non_utf8_and_binary_input_is_searched_without_panic() {
        let rules = CustomRules::new(vec![rule(r"(?-u)acme_[\x00-\xff]{4}", &["acme_"])]);
        let text = b"\xff\xfeacme_\x00\x01\x02\x03\xff";
        let mut out = Vec::new();
        rules.find_candidates(text, 0, text.len(), &mut out);
        assert_eq!(out.iter().map(|c| (c.start, c.end)).collect::<Vec<_>>(), vec![(2, 11)]);
    }
}
