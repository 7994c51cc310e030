//! Keys inside base64 text: the `data=` parameter of Klaviyo's legacy `/api/track` and
//! `/api/identify` calls, and any other run that decodes to text holding a key; a gzip
//! stream in base64 (`H4sI…`) is decompressed and searched too.
//!
//! The hot path never looks at every byte for base64: an Aho-Corasick prefilter searches
//! for the encodings of `pk_` at its three alignments in a 3-byte group (`cGtf`, `BrX`,
//! `wa1`, the same in both alphabets) and for `H4sI`. Only around a hit is the run
//! expanded (standard and URL-safe alphabets, padding optional, `%2B`/`%2F` escapes),
//! decoded at the alignment the needle fixes, and searched like plain text, so the
//! rules and escapes of `detect` apply to the payload. A key is reported only where the
//! decoded text around it is mostly printable, so random base64 (images, hashes) and
//! hex never yield one. Locations are in the stored text: from the first to one past
//! the last base64 character carrying part of the key.

use std::io::Read;
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, MatchKind};
use flate2::read::MultiGzDecoder;

use super::limits::{size, Bounded, Budget, Input, Limits, Stop};
use super::utf16;
use crate::detect::{self, Candidate};
use crate::finding::Layer;
use crate::rules::KeyRule;

/// A prefilter needle and what it says about the text around it.
#[derive(Clone, Copy, Debug)]
struct Needle {
    text: &'static str,
    /// Characters between the start of the 4-character group and the needle.
    phase: usize,
    kind: Kind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Base64 of `pk_`.
    Key,
    /// Base64 of a gzip header.
    Gzip,
    /// `pk_` in UTF-16, either byte order: searched in the same pass, handed to `utf16`.
    Utf16,
    /// `pk_` as stored: with decoding on, the plain key search shares this pass, so the
    /// buffer is read once rather than twice.
    Raw,
    /// A mention of Klaviyo (see `detect::classify::MENTIONS`): where public keys may be,
    /// found in the same pass.
    Mention,
}

const NEEDLES: [Needle; 10] = [
    Needle { text: "pk_", phase: 0, kind: Kind::Raw },
    Needle { text: "cGtf", phase: 0, kind: Kind::Key }, // "pk_" at the start of a group
    Needle { text: "BrX", phase: 2, kind: Kind::Key },  // "?pk" "_??"
    Needle { text: "wa1", phase: 3, kind: Kind::Key },  // "??p" "k_?"
    Needle { text: "H4sI", phase: 0, kind: Kind::Gzip }, // 1f 8b 08: a gzip stream
    Needle { text: "p\0k\0_", phase: 0, kind: Kind::Utf16 },
    Needle { text: "viyo", phase: 0, kind: Kind::Mention },
    Needle { text: "VIYO", phase: 0, kind: Kind::Mention },
    Needle { text: "klKey", phase: 0, kind: Kind::Mention },
    Needle { text: "rnq", phase: 0, kind: Kind::Mention },
];

/// Leftmost-first: only then can Aho-Corasick use its SIMD (Teddy) searcher, which keeps
/// this pass a small share of a scan; the standard automaton alone costs several times
/// the whole `pk_` search.
static PREFILTER: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostFirst)
        .build(NEEDLES.iter().map(|n| n.text))
        .expect("fixed needles build")
});

/// Base64 characters decoded before and after a hit: the key and the context that
/// decides its rule (`{"token": "…", "event": …}`).
const CONTEXT_CHARS: usize = 1024;
/// Stored bytes before a run kept as context (`/api/track?data=`).
const STORED_CONTEXT: usize = 256;
/// Layers of base64 (and gzip) looked through inside each other.
const MAX_NESTING: u32 = 3;
/// Base64 characters of one gzip stream decoded: it is held in memory.
const MAX_GZIP_CHARS: usize = 4 << 20;
/// Decompressed bytes of one gzip stream found inside base64 text: it is held in memory.
const MAX_GZIP_BYTES: u64 = 16 << 20;
/// Share of the decoded text around a key that must be printable.
const PRINTABLE_PERCENT: usize = 90;

/// A key found through base64, in the coordinates of the text that was searched.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Hit {
    start: usize,
    end: usize,
    key: String,
    rule: KeyRule,
    layers: Vec<Layer>,
}

/// Keys whose stored location starts in `buf[from..until]`, as stored or seen through
/// base64 or UTF-16: one prefilter pass for all three. Candidates come back in stored
/// offsets (with the key's text when it is encoded); a limit hit on the way (a gzip stream
/// in base64 too big to hold) goes to `stops`; where the pass met `klaviyo` (any case),
/// to `mentions` (for the public-key search, which then needs no pass of its own).
#[allow(clippy::too_many_arguments)] // one pass, several harvests; a struct would only rename them
pub(crate) fn find(
    buf: &[u8],
    from: usize,
    until: usize,
    limits: &Limits,
    is_served: &dyn Fn(&[u8], usize, usize) -> bool,
    out: &mut Vec<Candidate>,
    stops: &mut Vec<String>,
    mentions: &mut Vec<usize>,
) {
    let until = until.min(buf.len());
    if from >= until {
        return;
    }
    let mut hits = Vec::new();
    let lo = from.saturating_sub(4);
    let hi = (until + 5).min(buf.len());
    let mut searched_until = 0;
    for found in PREFILTER.find_iter(&buf[lo..hi]) {
        let at = lo + found.start();
        let needle = NEEDLES[found.pattern().as_usize()];
        if needle.kind == Kind::Raw {
            if (from..until).contains(&at) {
                raw_candidate(buf, at, is_served, out);
            }
            continue;
        }
        if needle.kind == Kind::Utf16 {
            utf16::candidate_at_hit(buf, at, from, until, is_served, out);
            continue;
        }
        if needle.kind == Kind::Mention {
            mentions.push(at);
            continue;
        }
        if at < searched_until {
            continue;
        }
        let mut served = None;
        let mut served_at =
            |start: usize, end: usize| *served.get_or_insert_with(|| is_served(buf, start, end));
        let mut stopped = Vec::new();
        searched_until =
            keys_at(buf, at, needle, limits, 0, &mut served_at, &mut hits, &mut stopped);
        if (from..until).contains(&at) {
            stops.append(&mut stopped); // once, from the window the run starts in
        }
    }
    // Overlapping decodes of one run may see a key twice.
    hits.sort_by(|a, b| (a.start, a.end, &a.key).cmp(&(b.start, b.end, &b.key)));
    hits.dedup_by(|a, b| (a.start, a.end, &a.key) == (b.start, b.end, &b.key));
    for hit in hits.drain(..) {
        if (from..until).contains(&hit.start) {
            out.push(Candidate {
                start: hit.start,
                end: hit.end,
                rule: hit.rule,
                layers: hit.layers,
                custom: None,
                key: Some(hit.key),
            });
        }
    }
}

/// The plain key at `buf[at..]`, if `pk_` there starts one, classified as
/// `detect::find_candidates` would.
fn raw_candidate(
    buf: &[u8],
    at: usize,
    is_served: &dyn Fn(&[u8], usize, usize) -> bool,
    out: &mut Vec<Candidate>,
) {
    if let Some(end) = detect::shape::key_end_at(buf, at) {
        let (rule, layers) = detect::classify(buf, at, end, || is_served(buf, at, end));
        out.push(Candidate { start: at, end, rule, layers, custom: None, key: None });
    }
}

/// Plain keys in `text[from..]` and, below the nesting limit, keys in base64 inside it.
fn search_text(
    text: &[u8],
    from: usize,
    limits: &Limits,
    depth: u32,
    served: &mut dyn FnMut(usize, usize) -> bool,
    out: &mut Vec<Hit>,
    stops: &mut Vec<String>,
) {
    let mut found = Vec::new();
    detect::find_candidates(text, from, text.len(), |_, _, _| served(0, 0), &mut found);
    out.extend(found.into_iter().map(|c| Hit {
        key: String::from_utf8_lossy(&text[c.start..c.end]).into_owned(),
        start: c.start,
        end: c.end,
        rule: c.rule,
        layers: c.layers,
    }));
    if depth >= MAX_NESTING {
        return;
    }
    let mut searched_until = 0;
    for m in PREFILTER.find_iter(&text[from..]) {
        let at = from + m.start();
        let needle = NEEDLES[m.pattern().as_usize()];
        if at >= searched_until && !matches!(needle.kind, Kind::Utf16 | Kind::Raw | Kind::Mention) {
            searched_until = keys_at(text, at, needle, limits, depth, served, out, stops);
        }
    }
}

/// Decodes the run around a needle at `text[at..]` and adds the keys it holds, located
/// in `text`, and the limits hit to `stops`. Returns the offset up to which the run has
/// been looked at.
#[allow(clippy::too_many_arguments)] // the recursion's state; a struct would only rename it
fn keys_at(
    text: &[u8],
    at: usize,
    needle: Needle,
    limits: &Limits,
    depth: u32,
    served: &mut dyn FnMut(usize, usize) -> bool,
    out: &mut Vec<Hit>,
    stops: &mut Vec<String>,
) -> usize {
    let forward = if needle.kind == Kind::Gzip { MAX_GZIP_CHARS } else { CONTEXT_CHARS + 8 };
    let run = Run::around(text, at, forward);
    let Some(hit_char) = run.index_of(at) else {
        return at + 1;
    };
    if hit_char < needle.phase {
        return at + 1; // the group would start before the run: not an encoding of `pk_`
    }
    let group = hit_char - needle.phase;
    let (first, last) = if needle.kind == Kind::Gzip {
        (group, run.len())
    } else {
        let back = (group.min(CONTEXT_CHARS) / 4) * 4;
        (group - back, run.len().min(group + CONTEXT_CHARS))
    };
    let decoded = run.decode(first, last);
    let mut inner = Vec::new();
    let mut inner_served = |_: usize, _: usize| served(run.stored_start(), run.stored_end());
    if needle.kind == Kind::Gzip {
        let (plain, stop) = gunzip(&decoded, limits);
        stops.extend(stop);
        let Some(plain) = plain else {
            return at + 1;
        };
        search_text(&plain, 0, limits, depth + 1, &mut inner_served, &mut inner, stops);
        for hit in inner {
            if !is_mostly_printable(&plain, hit.start, hit.end) {
                continue;
            }
            let mut layers = vec![Layer::Base64, Layer::Gzip];
            layers.extend(hit.layers);
            // The stream cannot be split into characters per key: the run is the place.
            let (start, end) = (run.stored_start_of(group), run.stored_end());
            out.push(Hit { start, end, layers, ..hit });
        }
    } else {
        let (with_context, offset) = match first {
            0 => {
                let start = run.stored_start();
                let mut joined = text[start.saturating_sub(STORED_CONTEXT)..start].to_vec();
                let offset = joined.len();
                joined.extend_from_slice(&decoded);
                (joined, offset)
            }
            _ => (decoded, 0),
        };
        search_text(&with_context, offset, limits, depth + 1, &mut inner_served, &mut inner, stops);
        for hit in inner {
            let (ds, de) = (hit.start - offset, hit.end - offset);
            if !is_mostly_printable(&with_context[offset..], ds, de) {
                continue;
            }
            let first_char = first + 4 * (ds / 3) + ds % 3;
            let last_char = first + 4 * ((de - 1) / 3) + (de - 1) % 3 + 1;
            let mut layers = Vec::with_capacity(hit.layers.len() + 2);
            if run.has_escape(first_char, last_char) {
                layers.push(Layer::Percent);
            }
            layers.push(Layer::Base64);
            layers.extend(hit.layers);
            let (start, end) = (run.stored_start_of(first_char), run.stored_end_of(last_char));
            out.push(Hit { start, end, layers, ..hit });
        }
    }
    // Needles near the end of a cut-off segment are looked at again with their own.
    let rescan_from = if last == run.len() { last } else { last.saturating_sub(64) };
    run.stored_start_of(rescan_from).max(at + 1)
}

/// Decompresses a gzip stream held in memory, within the limits: what it gave (`None` if
/// nothing: not gzip after all), and the limit that cut it short, if one did. A corrupt
/// stream is not reported: `H4sI` also occurs by chance in base64 that is not gzip.
fn gunzip(compressed: &[u8], limits: &Limits) -> (Option<Vec<u8>>, Option<String>) {
    let cap = limits.max_member_bytes.min(MAX_GZIP_BYTES);
    let budget = Budget::new(cap);
    let input = Input::Known(compressed.len() as u64);
    let mut stream = Bounded::new(MultiGzDecoder::new(compressed), "gzip", input, limits, &budget);
    let mut plain = Vec::new();
    let read = stream.read_to_end(&mut plain);
    let stop = match stream.into_stop() {
        Some(Stop::MemberBytes(_) | Stop::FileBytes(_)) => Some(format!(
            "a gzip stream inside base64: limit hit: more than {} decompressed (it is held in \
             memory: at most 16 MiB, never more than --max-member-size); the rest of it was \
             not scanned",
            size(cap)
        )),
        Some(stop @ Stop::Ratio(_)) => Some(format!("a gzip stream inside base64: {stop}")),
        _ => None,
    };
    (read.ok().filter(|_| !plain.is_empty()).map(|_| plain), stop)
}

/// Is the text around `text[start..end]` (64 bytes each side) mostly printable?
fn is_mostly_printable(text: &[u8], start: usize, end: usize) -> bool {
    let near = &text[start.saturating_sub(64)..(end + 64).min(text.len())];
    let (mut good, mut total) = (0usize, 0usize);
    for chunk in near.utf8_chunks() {
        for c in chunk.valid().chars() {
            total += 1;
            good += usize::from(!c.is_control() || c.is_whitespace());
        }
        total += chunk.invalid().len();
    }
    good * 100 >= total * PRINTABLE_PERCENT
}

/// The value of a base64 character in either alphabet.
fn value(b: u8) -> Option<u8> {
    match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    }
}

/// A percent-escaped base64 character (`%2B`, `%2F`) at `text[at..]`.
fn escaped(text: &[u8], at: usize) -> Option<u8> {
    match text.get(at..at + 3)? {
        [b'%', b'2', b'b' | b'B'] => Some(62),
        [b'%', b'2', b'f' | b'F'] => Some(63),
        _ => None,
    }
}

/// A run of base64 characters in stored text, with where each one is stored.
struct Run {
    values: Vec<u8>,
    /// Stored offset of each character.
    starts: Vec<usize>,
    /// One past the last character's stored bytes.
    end: usize,
}

impl Run {
    /// The run holding `text[at]`: at most `CONTEXT_CHARS` characters (and the needle's
    /// group) before it, at most `forward` from it.
    fn around(text: &[u8], at: usize, forward: usize) -> Run {
        let mut start = at;
        let mut seen = 0;
        while seen < CONTEXT_CHARS + 8 {
            if start > 0 && value(text[start - 1]).is_some() {
                start -= 1;
            } else if start >= 3 && escaped(text, start - 3).is_some() {
                start -= 3;
            } else {
                break;
            }
            seen += 1;
        }
        let (mut values, mut starts) = (Vec::new(), Vec::new());
        let mut i = start;
        while i < at || values.len() < (at - start) + forward {
            if let Some(v) = text.get(i).copied().and_then(value) {
                values.push(v);
                starts.push(i);
                i += 1;
            } else if let Some(v) = escaped(text, i) {
                values.push(v);
                starts.push(i);
                i += 3;
            } else {
                break;
            }
        }
        Run { values, starts, end: i }
    }

    fn len(&self) -> usize {
        self.values.len()
    }

    fn index_of(&self, stored: usize) -> Option<usize> {
        self.starts.binary_search(&stored).ok()
    }

    fn stored_start(&self) -> usize {
        self.starts.first().copied().unwrap_or(self.end)
    }

    fn stored_end(&self) -> usize {
        self.end
    }

    fn stored_start_of(&self, index: usize) -> usize {
        self.starts.get(index).copied().unwrap_or(self.end)
    }

    /// One past the stored bytes of character `index`.
    fn stored_end_of(&self, index: usize) -> usize {
        self.starts.get(index + 1).copied().unwrap_or(self.end)
    }

    /// Does any character in `first..last` stand for a percent escape?
    fn has_escape(&self, first: usize, last: usize) -> bool {
        (first..last.min(self.len())).any(|i| self.stored_end_of(i) - self.starts[i] > 1)
    }

    /// Decodes characters `first..last` (`first` at a group boundary); a trailing partial
    /// group yields the bytes it holds whole.
    fn decode(&self, first: usize, last: usize) -> Vec<u8> {
        let chars = &self.values[first..last];
        let mut out = Vec::with_capacity(chars.len() / 4 * 3 + 3);
        for group in chars.chunks(4) {
            let mut bits = 0u32;
            for (i, &v) in group.iter().enumerate() {
                bits |= u32::from(v) << (18 - 6 * i);
            }
            let bytes = [(bits >> 16) as u8, (bits >> 8) as u8, bits as u8];
            out.extend_from_slice(&bytes[..group.len().saturating_sub(1)]);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "pk_3f9a0c1d2e4b5a6978c0d1e2f3a4b5c6d7"; // pkscan:allow

    fn encode(data: &[u8], url_safe: bool, pad: bool) -> String {
        let alphabet: &[u8] = if url_safe {
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        } else {
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        };
        let mut out = String::new();
        for chunk in data.chunks(3) {
            let mut bits = 0u32;
            for (i, &b) in chunk.iter().enumerate() {
                bits |= u32::from(b) << (16 - 8 * i);
            }
            for i in 0..=chunk.len() {
                out.push(alphabet[(bits >> (18 - 6 * i) & 63) as usize] as char);
            }
            if pad {
                out.push_str(&"=".repeat(3 - chunk.len()));
            }
        }
        out
    }

    #[test]
    fn the_pass_reports_every_mention_of_klaviyo() {
        for mention in crate::detect::classify::MENTIONS {
            let text = format!("x {mention} y");
            let (_, _, found) = pass(&text, 0, text.len(), &Limits::default());
            assert_eq!(found, vec![2], "{mention}");
        }
    }

    /// One pass over `text[from..until]` where nothing is served: its candidates, limit
    /// stops and mentions of Klaviyo.
    fn pass(
        text: &str,
        from: usize,
        until: usize,
        limits: &Limits,
    ) -> (Vec<Candidate>, Vec<String>, Vec<usize>) {
        let (mut out, mut stops, mut mentions) = (Vec::new(), Vec::new(), Vec::new());
        let bytes = text.as_bytes();
        find(bytes, from, until, limits, &|_, _, _| false, &mut out, &mut stops, &mut mentions);
        (out, stops, mentions)
    }

    fn find_in(text: &str) -> Vec<Candidate> {
        pass(text, 0, text.len(), &Limits::default()).0
    }

    #[test]
    fn needles_are_the_encodings_of_pk_at_each_alignment() {
        for (prefix, needle) in [("", "cGtf"), ("a", "BrX"), ("ab", "wa1")] {
            for next in ["abc", "xyz", "012"] {
                let text = encode(format!("{prefix}pk_{next}").as_bytes(), false, false);
                let at = text.find(needle).expect(needle);
                let phase = NEEDLES.iter().find(|n| n.text == needle).unwrap().phase;
                assert_eq!(at % 4, phase, "{needle}");
            }
        }
        assert!(encode(&[0x1f, 0x8b, 0x08], false, false).starts_with("H4sI"));
        assert_eq!(NEEDLES.iter().filter(|n| n.kind == Kind::Key).count(), 3);
    }

    #[test]
    fn a_track_payload_in_data_is_a_token_in_both_alphabets_at_every_alignment() {
        for pad_len in 0..3 {
            let payload = format!(
                r#"{{"token": "{KEY}", "event": "Viewed{}", "properties": {{"x": "??>"}}}}"#,
                " ".repeat(pad_len)
            );
            for url_safe in [false, true] {
                for pad in [false, true] {
                    let data = encode(payload.as_bytes(), url_safe, pad);
                    let text = format!("<img src=\"https://a.klaviyo.com/api/track?data={data}\">");
                    let found = find_in(&text);
                    assert_eq!(found.len(), 1, "{text}");
                    assert_eq!(found[0].key.as_deref(), Some(KEY));
                    assert_eq!(found[0].rule, KeyRule::Token);
                    assert_eq!(found[0].layers, vec![Layer::Base64]);
                    // `{"token": "` is 11 bytes: the key's bytes 11..48 are carried by
                    // characters 14 (the third of group 3) to 63 (the fourth of group 15).
                    let run = text.find(&data).unwrap();
                    assert_eq!((found[0].start, found[0].end), (run + 14, run + 64));
                }
            }
        }
    }

    #[test]
    fn percent_escapes_inside_the_run_are_read_and_named_when_they_carry_the_key() {
        let payload = format!(r#"{{"token":"{KEY}","event":"x"}}"#);
        let data = encode(payload.as_bytes(), false, true).replace('=', "%3D");
        let found = find_in(&format!("/api/identify?data={data}&x=1"));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].layers, vec![Layer::Base64]);
        let data = data.replace('+', "%2B").replace('/', "%2F");
        assert_eq!(find_in(&format!("data={data}"))[0].key.as_deref(), Some(KEY));
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, data).unwrap();
        gz.finish().unwrap()
    }

    #[test]
    fn gzip_in_base64_is_located_at_the_run() {
        let blob = encode(&gzip(format!("company_id={KEY}").as_bytes()), false, true);
        let text = format!("var b = \"{blob}\";");
        let found = find_in(&text);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].layers, vec![Layer::Base64, Layer::Gzip]);
        assert_eq!(found[0].rule, KeyRule::CompanyId);
        assert_eq!((found[0].start, found[0].end), (9, 9 + blob.trim_end_matches('=').len()));
    }

    #[test]
    fn a_gzip_in_base64_cut_by_a_limit_is_scanned_as_far_as_read_and_reported() {
        let mut payload = format!("company_id={KEY}\n").into_bytes();
        payload.resize(17 << 20, b'a');
        let blob = encode(&gzip(&payload), false, true);
        let text = format!("var b = \"{blob}\";");
        let dense = Limits { max_ratio: 1_000_000, ..Limits::default() };
        for (limits, expect) in [
            (dense, "limit hit: more than 16 MiB decompressed"),
            (Limits::default(), "compression ratio over 100:1"),
        ] {
            let (out, stops, _) = pass(&text, 0, text.len(), &limits);
            assert_eq!(out.len(), 1, "the key before the cut is found");
            assert_eq!(stops.len(), 1, "{stops:?}");
            assert!(stops[0].contains(expect), "{stops:?}");
            let (_, stops, _) = pass(&text, 10, text.len(), &limits);
            assert!(stops.is_empty(), "reported by the window the run starts in only");
        }
    }

    #[test]
    fn base64_inside_gzip_inside_base64() {
        let inner = encode(format!("key={KEY}\n").as_bytes(), false, true);
        let outer = encode(&gzip(format!("config: {inner}\n").as_bytes()), true, false);
        let found = find_in(&format!("x = '{outer}';"));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].layers, vec![Layer::Base64, Layer::Gzip, Layer::Base64]);
        assert_eq!(found[0].rule, KeyRule::Generic);
        assert_eq!(found[0].key.as_deref(), Some(KEY));
    }

    #[test]
    fn two_keys_far_apart_in_one_run_are_both_found() {
        let payload = format!("a={KEY}\n{}\nb={KEY}\n", "filler text ".repeat(70));
        let found = find_in(&encode(payload.as_bytes(), false, true));
        assert_eq!(found.len(), 2);
    }

    #[test]
    fn binary_payloads_hashes_and_hex_give_nothing() {
        let mut binary: Vec<u8> = (0..200u32).map(|i| (i * 97 % 251) as u8).collect();
        binary.splice(80..80, KEY.bytes());
        assert!(find_in(&encode(&binary, false, true)).is_empty());
        let noise: String = (0..20_000u64)
            .map(|i| {
                let x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58;
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[x as usize]
                    as char
            })
            .collect();
        assert!(find_in(&format!("{noise}cGtfBrXwa1H4sI{noise}")).is_empty());
        assert!(find_in(&"0123456789abcdef".repeat(1000)).is_empty());
    }

    #[test]
    fn hits_are_reported_by_the_window_that_owns_their_start() {
        let data = encode(format!("token={KEY}&event=x").as_bytes(), false, false);
        let text = format!("data={data}");
        let start = find_in(&text)[0].start;
        let limits = Limits::default();
        assert!(pass(&text, 0, start, &limits).0.is_empty());
        assert!(pass(&text, start + 1, text.len(), &limits).0.is_empty());
        assert_eq!(pass(&text, start, start + 1, &limits).0.len(), 1);
    }
}
