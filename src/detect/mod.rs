//! Finds Klaviyo private keys in a buffer and decides which rule each one falls under.
//!
//! The hot path is one `memmem` search for `pk_` over the whole buffer; the exact shape,
//! the boundaries and the classification run only around those hits. Nothing here reads
//! files or knows about line numbers: callers hand in bytes and get byte offsets back.

pub(crate) mod asset;
pub(crate) mod classify;
pub(crate) mod custom;
pub(crate) mod placeholder;
pub(crate) mod shape;

use std::sync::LazyLock;

use memchr::memmem;

use crate::finding::Layer;
use crate::rules::KeyRule;

static PK_FINDER: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(b"pk_"));

/// A key found in a buffer, already classified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Byte offsets of the key in the buffer that was searched.
    pub start: usize,
    pub end: usize,
    pub rule: KeyRule,
    /// Layers through which the key or its deciding context was seen, outermost first.
    pub layers: Vec<Layer>,
    /// Set for a `[[rule]]` match: the index of its rule in `CustomRules` (and `rule` is
    /// then meaningless).
    pub custom: Option<usize>,
    /// The key's text when `start..end` holds an encoding of it (base64, UTF-16); `None`
    /// when the stored bytes are the key.
    pub key: Option<String>,
}

/// `text` with every key-shaped token replaced by its redacted form (`pk_3f9a…4b`), for
/// outputs that quote scanned text; borrowed when it holds none.
pub(crate) fn redact_keys(text: &str) -> std::borrow::Cow<'_, str> {
    let mut spans = Vec::new();
    if text.contains("pk_") {
        for_each_key(text.as_bytes(), 0, text.len(), |s, e| spans.push((s, e)));
    }
    if spans.is_empty() {
        return text.into();
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end) in spans {
        // A key is ASCII, so its ends are character boundaries.
        out.push_str(&text[at..start]);
        out.push_str(&crate::finding::Secret::new(&text[start..end]).redacted());
        at = end;
    }
    out.push_str(&text[at..]);
    out.into()
}

/// Calls `found(start, end)` for every key-shaped token starting in `buf[from..until]`.
/// Tokens may extend past `until` (the caller keeps enough bytes after it).
pub(crate) fn for_each_key(
    buf: &[u8],
    from: usize,
    until: usize,
    mut found: impl FnMut(usize, usize),
) {
    let until = until.min(buf.len());
    if from >= until {
        return;
    }
    // Search up to two bytes past `until` so a `pk_` starting just before it is seen.
    let search_end = (until + 2).min(buf.len());
    for offset in PK_FINDER.find_iter(&buf[from..search_end]) {
        let start = from + offset;
        if start >= until {
            break;
        }
        if let Some(end) = shape::key_end_at(buf, start) {
            found(start, end);
        }
    }
}

/// Decides the rule of the key at `buf[start..end]`, most specific first: placeholder,
/// then the public-key slots, then public asset (`is_served` is asked only then), else
/// the generic rule.
pub(crate) fn classify(
    buf: &[u8],
    start: usize,
    end: usize,
    is_served: impl FnOnce() -> bool,
) -> (KeyRule, Vec<Layer>) {
    let key = std::str::from_utf8(&buf[start..end]).unwrap_or_default();
    if placeholder::is_placeholder(key) {
        return (KeyRule::Placeholder, Vec::new());
    }
    if let Some(slot) = classify::slot(buf, start, end) {
        return slot;
    }
    if is_served() {
        return (KeyRule::PublicAsset, Vec::new());
    }
    (KeyRule::Generic, Vec::new())
}

/// `pk_` and the mentions of Klaviyo ([`classify::MENTIONS`]), found in one pass when
/// nothing is decoded: no needle can overlap another, so leftmost-first loses no match.
static KEY_OR_MENTION: LazyLock<aho_corasick::AhoCorasick> = LazyLock::new(|| {
    let needles = std::iter::once("pk_").chain(classify::MENTIONS);
    aho_corasick::AhoCorasick::builder()
        .match_kind(aho_corasick::MatchKind::LeftmostFirst)
        .build(needles)
        .expect("built-in patterns compile")
});

/// [`find_candidates`] and the mentions of Klaviyo that
/// [`classify::for_each_public_key`] needs, in one pass over the bytes, for a scan that
/// decodes nothing (with decoding on, the decoders' prefilter pass does both).
pub(crate) fn find_candidates_and_mentions(
    buf: &[u8],
    from: usize,
    until: usize,
    mut is_served: impl FnMut(&[u8], usize, usize) -> bool,
    out: &mut Vec<Candidate>,
    mentions: &mut Vec<usize>,
) {
    let until = until.min(buf.len());
    if from >= until {
        return;
    }
    // Mentions a few bytes either side of the range count; keys start inside it and may
    // end past it.
    let (lo, hi) = (from.saturating_sub(4), (until + 4).min(buf.len()));
    for hit in KEY_OR_MENTION.find_iter(&buf[lo..hi]) {
        let at = lo + hit.start();
        if hit.pattern().as_usize() != 0 {
            mentions.push(at);
        } else if (from..until).contains(&at) {
            if let Some(end) = shape::key_end_at(buf, at) {
                let (rule, layers) = classify(buf, at, end, || is_served(buf, at, end));
                out.push(Candidate { start: at, end, rule, layers, custom: None, key: None });
            }
        }
    }
}

/// Finds and classifies every key starting in `buf[from..until]`, appending to `out`.
pub fn find_candidates(
    buf: &[u8],
    from: usize,
    until: usize,
    mut is_served: impl FnMut(&[u8], usize, usize) -> bool,
    out: &mut Vec<Candidate>,
) {
    for_each_key(buf, from, until, |start, end| {
        let (rule, layers) = classify(buf, start, end, || is_served(buf, start, end));
        out.push(Candidate { start, end, rule, layers, custom: None, key: None });
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::EXAMPLES;

    const KEY: &str = "pk_8e1f47c2b90d3a65f0e2c7d914b8a36e52"; // pkscan:allow

    fn candidates(path: &str, text: &str) -> Vec<Candidate> {
        let traits = asset::PathTraits::of(path);
        let mut out = Vec::new();
        find_candidates(
            text.as_bytes(),
            0,
            text.len(),
            |buf, s, e| traits.is_served_at(buf, s, e),
            &mut out,
        );
        out
    }

    #[test]
    fn the_rule_table_examples_hold() {
        for example in EXAMPLES {
            let text = example.text.replace("$KEY", KEY);
            let found = candidates(example.path, &text);
            match example.expect {
                Some(rule) => {
                    assert_eq!(found.len(), 1, "{}: {text}", example.path);
                    assert_eq!(found[0].rule, rule, "{}: {text}", example.path);
                }
                None => assert!(found.is_empty(), "{}: {text} gave {found:?}", example.path),
            }
        }
    }

    #[test]
    fn finds_keys_at_buffer_edges_and_in_a_row() {
        let text = format!("{KEY} {KEY},{KEY}");
        let found = candidates("a.txt", &text);
        assert_eq!(found.iter().map(|c| c.start).collect::<Vec<_>>(), vec![0, 38, 76]);
    }

    #[test]
    fn respects_the_from_until_range() {
        let text = format!("xx {KEY} yy {KEY}");
        let mut starts = Vec::new();
        for_each_key(text.as_bytes(), 0, 4, |s, _| starts.push(s));
        assert_eq!(starts, vec![3], "a key starting before `until` is whole");
        starts.clear();
        for_each_key(text.as_bytes(), 4, text.len(), |s, _| starts.push(s));
        assert_eq!(starts, vec![44]);
    }

    #[test]
    fn one_pass_finds_the_keys_and_mentions_of_two() {
        let text = format!("rnq{KEY}klaviyo pk_ x {KEY}VIYO\n__klKey={KEY}");
        let bytes = text.as_bytes();
        for (from, until) in [(0, bytes.len()), (3, 40), (41, bytes.len()), (2, 3)] {
            let mut alone = Vec::new();
            find_candidates(bytes, from, until, |_, _, _| false, &mut alone);
            let (mut keys, mut mentions) = (Vec::new(), Vec::new());
            find_candidates_and_mentions(
                bytes,
                from,
                until,
                |_, _, _| false,
                &mut keys,
                &mut mentions,
            );
            assert_eq!(keys, alone, "{from}..{until}");
            let (lo, hi) = (from.saturating_sub(4), (until + 4).min(bytes.len()));
            let expected: Vec<usize> = (lo..hi)
                .filter(|&at| {
                    classify::MENTIONS
                        .iter()
                        .any(|m| at + m.len() <= hi && bytes[at..].starts_with(m.as_bytes()))
                })
                .collect();
            assert_eq!(mentions, expected, "{from}..{until}");
        }
    }

    #[test]
    fn react_native_files_are_served() {
        let text = format!("import {{ View }} from 'react-native';\nconst k = '{KEY}';");
        assert_eq!(candidates("src/Home.js", &text)[0].rule, KeyRule::PublicAsset);
        let text = format!("const k = '{KEY}';");
        assert_eq!(candidates("src/Home.js", &text)[0].rule, KeyRule::Generic);
    }
}
