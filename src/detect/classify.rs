//! Which public-key slot, if any, a key sits in: `company_id` (and its loader, path and
//! mobile SDK forms), a track/identify `token`, or the `_learnq` `account`.
//!
//! Only the bytes just before a hit (and a small window around it) are looked at, first as
//! stored and then through JSON, percent and HTML unescaping, so that a
//! `\"company_id\": \"pk_…` inside a source map's `sourcesContent` is still a company id.
//! The layers that were needed to see the slot are reported with the finding.

use std::sync::LazyLock;

use regex::bytes::Regex;

use crate::finding::Layer;
use crate::rules::KeyRule;

/// How far before a key its slot name is looked for.
const PREFIX_BYTES: usize = 256;
/// How far around a key a payload or snippet marker (`event`, `_learnq`) is looked for.
const WINDOW_BYTES: usize = 512;

/// Decoding plans tried in order, outermost layer first.
const PLANS: &[&[Layer]] = &[
    &[],
    &[Layer::Json],
    &[Layer::Percent],
    &[Layer::Html],
    &[Layer::Percent, Layer::Json],
    &[Layer::Json, Layer::Percent],
    &[Layer::Html, Layer::Json],
    &[Layer::Json, Layer::Html],
    &[Layer::Html, Layer::Percent],
];

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("built-in patterns compile")
}

const SEP: &str = r#"\s*["'`]?\s*(?:=>|:=|[:=(])\s*["'`]?\s*$"#;

static COMPANY_ID: LazyLock<Regex> =
    LazyLock::new(|| regex(&format!(r#"(?i)(?:^|[^a-z0-9])(?:company[_-]?id|__klkey){SEP}"#)));
static ONSITE_PATH: LazyLock<Regex> = LazyLock::new(|| regex(r"(?i)/onsite/js/$"));
static SDK_INITIALIZE: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r#"(?i)klaviyo\w*\s*(?:\(\s*\))?\s*(?:\.\s*(?:shared|instance|sharedinstance|default)\s*(?:\(\s*\))?\s*)?\.\s*initialize\s*\(\s*(?:(?:with|apikey|api_key|publicapikey|public_api_key|companyid|company_id)\s*[:=]\s*)?["'`]\s*$"#,
    )
});
static TOKEN: LazyLock<Regex> =
    LazyLock::new(|| regex(&format!(r#"(?i)(?:^|[^a-z0-9_$.])["'`]?token{SEP}"#)));
static PAYLOAD_MARKER: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"(?i)\bevent\b|properties|/api/track|/api/identify|\.track\s*\(|\.identify\s*\(")
});
static LEARNQ_ACCOUNT: LazyLock<Regex> =
    LazyLock::new(|| regex(r#"(?i)\[\s*["'`]account["'`]\s*,\s*["'`]\s*$"#));
static ACCOUNT: LazyLock<Regex> =
    LazyLock::new(|| regex(&format!(r#"(?i)(?:^|[^a-z0-9_$.])["'`]?account{SEP}"#)));
static SNIPPET_MARKER: LazyLock<Regex> = LazyLock::new(|| regex(r"(?i)_learnq|klaviyo"));
/// A string join just before the key's string: `"…" + "` or `"…".concat("`, which is
/// what minifiers make of a template literal around a constant.
static JOIN: LazyLock<Regex> =
    LazyLock::new(|| regex(r#"["'`]\s*(?:\+|\.\s*concat\s*\()\s*["'`]$"#));

/// The slot a key at `buf[start..end]` sits in, with the layers needed to see it.
pub(crate) fn slot(buf: &[u8], start: usize, end: usize) -> Option<(KeyRule, Vec<Layer>)> {
    let prefix = &buf[start.saturating_sub(PREFIX_BYTES)..start];
    let window = &buf[start.saturating_sub(WINDOW_BYTES)..(end + WINDOW_BYTES).min(buf.len())];
    let mut decoded_prefix = Vec::with_capacity(prefix.len());
    let mut decoded_window = Vec::new();
    for plan in PLANS {
        let prefix = apply(plan, prefix, &mut decoded_prefix);
        if plan.is_empty() || *prefix != buf[start.saturating_sub(PREFIX_BYTES)..start] {
            let window =
                if plan.is_empty() { window } else { apply(plan, window, &mut decoded_window) };
            if let Some(rule) = slot_of(prefix, window).or_else(|| slot_across_join(prefix, window))
            {
                return Some((rule, plan.to_vec()));
            }
        }
    }
    None
}

fn slot_of(prefix: &[u8], window: &[u8]) -> Option<KeyRule> {
    if COMPANY_ID.is_match(prefix)
        || ONSITE_PATH.is_match(prefix)
        || SDK_INITIALIZE.is_match(prefix)
    {
        return Some(KeyRule::CompanyId);
    }
    if TOKEN.is_match(prefix) && PAYLOAD_MARKER.is_match(window) {
        return Some(KeyRule::Token);
    }
    if LEARNQ_ACCOUNT.is_match(prefix)
        || (ACCOUNT.is_match(prefix) && SNIPPET_MARKER.is_match(window))
    {
        return Some(KeyRule::Account);
    }
    None
}

/// Names that end right before a public key's value, in lowercase; the slot regexes then
/// decide. Searched in an ASCII-lowercased copy of the text rather than with
/// `ascii_case_insensitive`: that option leaves Aho-Corasick without a prefilter, and its
/// automaton then steps through every byte near a mention of Klaviyo, which in an SDK's
/// own sources is nearly every byte (half the CPU of a history scan of one).
const PUBLIC_SLOT_NAMES: [&[u8]; 7] = [
    b"company_id",
    b"company-id",
    b"companyid",
    b"__klkey",
    b"/onsite/js/",
    b"initialize",
    b"account",
];

/// The end of each of [`PUBLIC_SLOT_NAMES`], in the same order, from a byte rare in code:
/// the SIMD searcher keys on a pattern's first bytes, and `com`, `ini` and `acc` start a
/// word on nearly every line of an SDK (`com.klaviyo`, `init`, `access`). A hit counts
/// when the whole name ends there. Leftmost-first lets Aho-Corasick use its SIMD searcher;
/// no suffix can end inside a whole name and overlap the suffix of another, so taking the
/// hits without overlaps finds every name (a property test holds it to the whole names).
static PUBLIC_SLOT_ENDS: LazyLock<aho_corasick::AhoCorasick> = LazyLock::new(|| {
    aho_corasick::AhoCorasick::builder()
        .match_kind(aho_corasick::MatchKind::LeftmostFirst)
        .build(["y_id", "y-id", "yid", "lkey", "e/js/", "lize", "ccount"])
        .expect("built-in patterns compile")
});
/// How far after a slot name its value is looked for.
const PUBLIC_VALUE_REACH: usize = 48;
/// A public key (site ID) is exactly this many ASCII alphanumerics.
const PUBLIC_KEY_LEN: usize = 6;

/// How far from a mention of Klaviyo a public-key slot is looked for.
const NEAR_MENTION: usize = 512;

/// Calls `found(start, end)` for every public key (site ID) whose value starts in
/// `buf[from..until]`, sits in a public-key slot (the `company_id` forms, the onsite path,
/// the SDKs' `initialize`, `_learnq`'s `account`; not a track `token`) and lies within
/// [`NEAR_MENTION`] bytes of a mention of Klaviyo ([`MENTIONS`]: `klaviyo` in any case,
/// or a name only its snippets use, `__klKey`, `_learnq`). The
/// value is 6 alphanumerics with a letter and a digit or capital (so `params`, `String`
/// typed after `:` and `123456` are not taken for one), quoted, or after `=` or `/`.
///
/// A `company_id` far from any mention of Klaviyo is someone else's; and keeping the
/// slot-name search near the mentions keeps its cost off the text that cannot hold a site
/// ID. A mention in the next or previous window (4 MiB apart) is not seen from this one.
///
/// `mentions`: where `buf` holds one of [`MENTIONS`], as the decoders' prefilter pass or
/// [`crate::detect::find_candidates_and_mentions`] found them; in any order (they are
/// sorted here). `lower`: a buffer to reuse.
pub(crate) fn for_each_public_key(
    buf: &[u8],
    from: usize,
    until: usize,
    mentions: &mut [usize],
    lower: &mut Vec<u8>,
    mut found: impl FnMut(usize, usize),
) {
    let until = until.min(buf.len());
    if from >= until || mentions.is_empty() {
        return;
    }
    mentions.sort_unstable();
    // A name up to a reach before `from` can still lead to a value inside the range.
    let floor = from.saturating_sub(PUBLIC_VALUE_REACH + SLOT_NAME_MAX);
    let mut last_end = 0usize;
    let mut search = |(start, end): (usize, usize)| {
        lower.clear();
        lower.extend(buf[start..end].iter().map(u8::to_ascii_lowercase));
        search_slots(buf, lower, start, from..until, &mut last_end, &mut found);
    };
    // The regions near each mention, joined where they meet: one search per stretch of
    // text, however many mentions it has (an SDK names Klaviyo on every line, and a search
    // per line cost more in setting up than in searching).
    let mut region: Option<(usize, usize)> = None;
    for &mut mention in mentions {
        let start = mention.saturating_sub(NEAR_MENTION).max(floor);
        let end = (mention + NEAR_MENTION).min(until);
        if start >= end {
            continue;
        }
        match &mut region {
            Some((_, region_end)) if start <= *region_end => *region_end = end.max(*region_end),
            _ => region.replace((start, end)).into_iter().for_each(&mut search),
        }
    }
    region.into_iter().for_each(search);
}

/// What counts as a mention of Klaviyo: the end of `klaviyo` in any case, and of the names
/// only Klaviyo's snippets use (`__klKey`, `_learnq`). The decoders' prefilter carries the
/// same needles. Their first three bytes are rare in code and prose (a SIMD prefilter
/// keys on them): `onsite/js/` or `_learnq` whole made the pass 1.3 times slower.
pub(crate) const MENTIONS: [&str; 4] = ["viyo", "VIYO", "klKey", "rnq"];

/// The longest slot name of [`PUBLIC_SLOT_NAMES`], rounded up.
const SLOT_NAME_MAX: usize = 16;

/// Finds slot names in `lower` (`buf[start..]`, ASCII-lowercased) and the public keys
/// after them that start in `range`, each once (`last_end`: where the last one found
/// ended).
fn search_slots(
    buf: &[u8],
    lower: &[u8],
    start: usize,
    range: std::ops::Range<usize>,
    last_end: &mut usize,
    found: &mut impl FnMut(usize, usize),
) {
    for hit in PUBLIC_SLOT_ENDS.find_iter(lower) {
        let name = PUBLIC_SLOT_NAMES[hit.pattern().as_usize()];
        if !lower[..hit.end()].ends_with(name) {
            continue;
        }
        let after = start + hit.end();
        let reach = (after + PUBLIC_VALUE_REACH).min(buf.len());
        let mut at = after;
        while at < reach {
            if !buf[at].is_ascii_alphanumeric() {
                at += 1;
                continue;
            }
            let value_end = buf[at..]
                .iter()
                .position(|b| !b.is_ascii_alphanumeric())
                .map_or(buf.len(), |n| at + n);
            if range.contains(&at)
                && at >= *last_end
                && is_public_key_value(buf, at, value_end)
                && matches!(
                    slot(buf, at, value_end),
                    Some((KeyRule::CompanyId | KeyRule::Account, _))
                )
            {
                found(at, value_end);
                *last_end = value_end;
                break;
            }
            at = value_end;
        }
    }
}

/// The shape and surroundings a site ID needs beyond its slot (see [`for_each_public_key`]).
fn is_public_key_value(buf: &[u8], start: usize, end: usize) -> bool {
    let value = &buf[start..end];
    let quoted_or_assigned =
        start > 0 && matches!(buf[start - 1], b'"' | b'\'' | b'`' | b'=' | b'/');
    let next = buf.get(end).copied();
    let continues = match next {
        Some(b'_' | b'(' | b'[' | b'-') => true,
        Some(b'.') => buf.get(end + 1).is_some_and(|b| b.is_ascii_alphanumeric()),
        _ => false,
    };
    value.len() == PUBLIC_KEY_LEN
        && quoted_or_assigned
        && !continues
        && value.iter().any(u8::is_ascii_alphabetic)
        && value.iter().any(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        && value.iter().any(|b| *b != value[0])
}

/// The slot the string before a join names: `"…?company_id=" + "KEY"` is `company_id`.
fn slot_across_join(prefix: &[u8], window: &[u8]) -> Option<KeyRule> {
    let join = JOIN.find(prefix)?;
    slot_of(&prefix[..join.start()], window)
}

/// Applies the layers of `plan` to `input`, outermost first; returns the decoded bytes.
fn apply<'a>(plan: &[Layer], input: &'a [u8], scratch: &'a mut Vec<u8>) -> &'a [u8] {
    if plan.is_empty() {
        return input;
    }
    let mut current = input.to_vec();
    for layer in plan {
        scratch.clear();
        match layer {
            Layer::Json => unescape_json(&current, scratch),
            Layer::Percent => unescape_percent(&current, scratch),
            Layer::Html => unescape_html(&current, scratch),
            _ => scratch.extend_from_slice(&current),
        }
        std::mem::swap(&mut current, scratch);
    }
    *scratch = current;
    scratch
}

fn hex_value(digits: &[u8]) -> Option<u32> {
    std::str::from_utf8(digits).ok().and_then(|s| u32::from_str_radix(s, 16).ok())
}

fn push_char(out: &mut Vec<u8>, code: u32) {
    let c = char::from_u32(code).unwrap_or('\u{fffd}');
    let mut utf8 = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
}

/// JSON and JavaScript string escapes: `\"`, `\/`, `\n`, `\u0022`, `\x22`.
pub(crate) fn unescape_json(input: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b != b'\\' || i + 1 >= input.len() {
            out.push(b);
            i += 1;
            continue;
        }
        let next = input[i + 1];
        let (decoded, used) = match next {
            b'n' | b'r' | b't' | b'f' | b'b' | b'v' => (Some(b' ' as u32), 2),
            b'u' => (input.get(i + 2..i + 6).and_then(hex_value), 6),
            b'x' => (input.get(i + 2..i + 4).and_then(hex_value), 4),
            other => (Some(other as u32), 2),
        };
        match decoded {
            Some(code) => {
                push_char(out, code);
                i += used;
            }
            None => {
                out.push(b);
                i += 1;
            }
        }
    }
}

/// Percent-encoding (`%3D`), with `+` as a space as in form bodies and query strings.
pub(crate) fn unescape_percent(input: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'%' => match input.get(i + 1..i + 3).and_then(hex_value) {
                Some(v) => {
                    out.push(v as u8);
                    i += 3;
                }
                None => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
}

/// The named character references unescaped: `name;` and the byte it stands for.
#[rustfmt::skip] // a lookup table: a row per line would only repeat one shape twelve times
const NAMED_ENTITIES: &[(&[u8], u8)] = &[
    (b"quot;", b'"'), (b"apos;", b'\''), (b"amp;", b'&'), (b"lt;", b'<'), (b"gt;", b'>'),
    (b"colon;", b':'), (b"equals;", b'='), (b"sol;", b'/'), (b"lsqb;", b'['),
    (b"rsqb;", b']'), (b"comma;", b','), (b"nbsp;", b' '),
];

/// HTML character references: `&quot;`, `&#34;`, `&#x22;`.
pub(crate) fn unescape_html(input: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < input.len() {
        if input[i] != b'&' {
            out.push(input[i]);
            i += 1;
            continue;
        }
        let rest = &input[i + 1..];
        if let Some((name, value)) = NAMED_ENTITIES.iter().find(|(name, _)| rest.starts_with(name))
        {
            out.push(*value);
            i += 1 + name.len();
            continue;
        }
        if let Some((code, used)) = numeric_reference(rest) {
            push_char(out, code);
            i += 1 + used;
            continue;
        }
        out.push(b'&');
        i += 1;
    }
}

/// `#34;` or `#x22;` at the start of `rest`: the code point and the bytes used.
fn numeric_reference(rest: &[u8]) -> Option<(u32, usize)> {
    let body = rest.strip_prefix(b"#")?;
    let (digits_start, radix) = match body.first() {
        Some(b'x' | b'X') => (1, 16),
        _ => (0, 10),
    };
    let digits = &body[digits_start..];
    let len = digits.iter().take(8).take_while(|b| b.is_ascii_hexdigit()).count();
    if len == 0 || digits.get(len) != Some(&b';') {
        return None;
    }
    let text = std::str::from_utf8(&digits[..len]).ok()?;
    let code = u32::from_str_radix(text, radix).ok()?;
    Some((code, 1 + digits_start + len + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "pk_3f9a0c1d2e4b5a6978c0d1e2f3a4b5c6d7"; // pkscan:allow

    fn slot_for(template: &str) -> Option<(KeyRule, Vec<Layer>)> {
        let text = template.replace("KEY", KEY);
        let start = text.find(KEY).expect("template holds KEY");
        slot(text.as_bytes(), start, start + KEY.len())
    }

    #[test]
    fn company_id_slots() {
        for t in [
            "klaviyo.js?company_id=KEY",
            "company_id: KEY",
            r#""company_id": "KEY""#,
            "companyId: 'KEY'",
            "window.__klKey = \"KEY\"",
            "KLAVIYO_COMPANY_ID=KEY",
            "data-company-id=\"KEY\"",
            "//static.klaviyo.com/onsite/js/KEY/klaviyo.js",
            "KlaviyoSDK().initialize(with: \"KEY\")",
            "Klaviyo.initialize(\"KEY\", applicationContext)",
            "Klaviyo.initialize(apiKey = \"KEY\", applicationContext)",
            "Klaviyo.initialize('KEY')",
        ] {
            assert_eq!(slot_for(t), Some((KeyRule::CompanyId, vec![])), "{t}");
        }
    }

    #[test]
    fn slots_seen_through_escapes_name_their_layers() {
        assert_eq!(
            slot_for(r#"\"company_id\": \"KEY\""#),
            Some((KeyRule::CompanyId, vec![Layer::Json]))
        );
        assert_eq!(slot_for("company_id%3DKEY"), Some((KeyRule::CompanyId, vec![Layer::Percent])));
        assert_eq!(
            slot_for("%22token%22%3A%22KEY%22%2C%22event%22"),
            Some((KeyRule::Token, vec![Layer::Percent]))
        );
        assert_eq!(
            slot_for("{&quot;company_id&quot;:&quot;KEY&quot;}"),
            Some((KeyRule::CompanyId, vec![Layer::Html]))
        );
        assert_eq!(
            slot_for(r"\u0022companyId\u0022:\u0022KEY"),
            Some((KeyRule::CompanyId, vec![Layer::Json]))
        );
    }

    #[test]
    fn slots_survive_string_joins() {
        for (t, rule) in [
            (
                r#""//static.klaviyo.com/onsite/js/klaviyo.js?company_id=" + "KEY""#,
                KeyRule::CompanyId,
            ),
            (
                r#""https://static.klaviyo.com/onsite/js/klaviyo.js?company_id=".concat("KEY")"#,
                KeyRule::CompanyId,
            ),
            ("'/client/profiles/?company_id='+'KEY'", KeyRule::CompanyId),
            ("`https://static.klaviyo.com/onsite/js/` . concat( `KEY`)", KeyRule::CompanyId),
            (r#"{token:"" + "KEY",event:"Viewed"}"#, KeyRule::Token),
            (r#"_learnq.push(["account", "" + "KEY"])"#, KeyRule::Account),
            (r#"\"klaviyo.js?company_id=\".concat(\"KEY\")"#, KeyRule::CompanyId),
        ] {
            assert_eq!(slot_for(t).map(|s| s.0), Some(rule), "{t}");
        }
        assert_eq!(slot_for(r#""?company_id=" + x + "KEY""#), None, "another term between");
        assert_eq!(slot_for(r#""Klaviyo-API-Key ".concat("KEY")"#), None, "no slot name");
    }

    #[test]
    fn token_needs_a_payload() {
        assert_eq!(
            slot_for(r#"{"token": "KEY", "event": "Viewed Product"}"#),
            Some((KeyRule::Token, vec![]))
        );
        assert_eq!(slot_for("token=KEY&event=Placed+Order"), Some((KeyRule::Token, vec![])));
        assert_eq!(slot_for(r#"{"token": "KEY"}"#), None, "no payload marker");
        assert_eq!(slot_for(r#"access_token = "KEY" # event"#), None, "other name");
    }

    #[test]
    fn account_slots() {
        assert_eq!(slot_for("_learnq.push(['account', 'KEY']);"), Some((KeyRule::Account, vec![])));
        assert_eq!(
            slot_for(r#"klaviyoConfig = {"account": "KEY"}"#),
            Some((KeyRule::Account, vec![]))
        );
        assert_eq!(slot_for(r#"{"account": "KEY"}"#), None, "not a Klaviyo snippet");
    }

    #[test]
    fn server_side_uses_are_no_slot() {
        for t in [
            "Authorization: Klaviyo-API-Key KEY",
            "KlaviyoAPI(\"KEY\", max_delay=60)",
            "new ApiKeySession(\"KEY\")",
            "https://a.klaviyo.com/api/v2/lists?api_key=KEY",
            "KLAVIYO_PUBLIC_KEY=KEY",
        ] {
            assert_eq!(slot_for(t), None, "{t}");
        }
    }

    /// Where `bytes` mentions Klaviyo, as a scan without decoding finds it.
    fn mentions_in(bytes: &[u8]) -> Vec<usize> {
        let (mut keys, mut mentions) = (Vec::new(), Vec::new());
        let no_asset = |_: &[u8], _, _| false;
        crate::detect::find_candidates_and_mentions(
            bytes,
            0,
            bytes.len(),
            no_asset,
            &mut keys,
            &mut mentions,
        );
        mentions
    }

    fn public_keys_in(text: &str) -> Vec<&str> {
        let mut mentions = mentions_in(text.as_bytes());
        let mut ids = Vec::new();
        let mut lower = Vec::new();
        for_each_public_key(text.as_bytes(), 0, text.len(), &mut mentions, &mut lower, |s, e| {
            ids.push(&text[s..e])
        });
        ids
    }

    #[test]
    fn public_keys_in_their_slots() {
        for t in [
            "<script src=\"//static.klaviyo.com/onsite/js/klaviyo.js?company_id=AbC123\"></script>",
            "//static.klaviyo.com/onsite/js/AbC123/klaviyo.js",
            "https://a.klaviyo.com/client/events/?company_id=AbC123&x=1",
            "window.__klKey = 'AbC123';",
            r#"{"companyId": "AbC123"}"#,
            "KLAVIYO_COMPANY_ID=AbC123",
            "KlaviyoSDK().initialize(with: \"AbC123\")",
            "Klaviyo.initialize('AbC123', applicationContext)",
            "_learnq.push(['account', 'AbC123']);",
        ] {
            let t = format!("{t}\n<!-- klaviyo -->");
            assert_eq!(public_keys_in(&t), vec!["AbC123"], "{t}");
        }
    }

    #[test]
    fn slot_names_match_in_any_case_across_overlapping_regions() {
        for t in ["COMPANY-ID=\"AbC123\"", "CompanyID: 'AbC123'", "Klaviyo.Initialize('AbC123')"] {
            // Mentions every 100 bytes: the regions around them overlap.
            let t = format!("{}{t} {}", "// klaviyo ".repeat(60), "// klaviyo ".repeat(60));
            assert_eq!(public_keys_in(&t), vec!["AbC123"], "{t}");
        }
    }

    fn public_keys_between(text: &str, from: usize, until: usize) -> Vec<usize> {
        let bytes = text.as_bytes();
        let mut mentions = mentions_in(bytes);
        let mut starts = Vec::new();
        let mut lower = Vec::new();
        for_each_public_key(bytes, from, until, &mut mentions, &mut lower, |s, _| starts.push(s));
        starts
    }

    #[test]
    fn a_value_within_reach_of_a_name_is_found_past_the_mention_region() {
        // The region around the mention (`viyo` at 6) ends at 518.
        let head = "// klaviyo\n";
        for (name_end, spaces, found) in [
            (518, 0, true),   // the name ends where the region does
            (519, 0, false),  // the name runs past the region
            (518, 44, true),  // the value starts 47 bytes after the name
            (518, 45, false), // 48 bytes after: out of reach
        ] {
            let pad = " ".repeat(name_end - "company_id".len() - head.len());
            let t = format!("{head}{pad}company_id{}= 'AbC123'", " ".repeat(spaces));
            let value = t.find("AbC123").expect("value");
            let want = if found { vec![value] } else { vec![] };
            assert_eq!(public_keys_between(&t, 0, t.len()), want, "{name_end} {spaces}");
        }
    }

    #[test]
    fn a_value_counts_only_when_it_starts_in_the_range() {
        let t = "// klaviyo\ncompany_id = 'AbC123'";
        let value = t.find("AbC123").expect("value");
        assert_eq!(public_keys_between(t, 0, value + 1), vec![value]);
        assert_eq!(public_keys_between(t, 0, value), Vec::<usize>::new());
        assert_eq!(public_keys_between(t, value, t.len()), vec![value]);
        assert_eq!(public_keys_between(t, value + 1, t.len()), Vec::<usize>::new());
    }

    #[test]
    fn klaviyo_only_names_are_mentions_of_their_own() {
        for t in ["window.__klKey = 'AbC123';", "_learnq.push(['account', 'AbC123']);"] {
            assert_eq!(public_keys_in(t), vec!["AbC123"], "{t}");
        }
    }

    #[test]
    fn no_public_key_outside_slots_or_of_another_shape() {
        for t in [
            "site_id = 'AbC123' // klaviyo",
            "companyId: String // klaviyo",
            "company_id = params[:id] // klaviyo",
            "company_id = 'AbC123' // no mention of whose",
            "company_id=123456 // klaviyo",
            "company_id=abcdef // klaviyo",
            "company_id='AbC1234' // klaviyo",
            "company_id=pk_AbC123_0f // klaviyo",
            "{\"token\": \"AbC123\", \"event\": \"x\"} // klaviyo",
            "{\"account\": \"AbC123\"}",
            "company_id = Ab1.id // klaviyo",
        ] {
            assert_eq!(public_keys_in(t), Vec::<&str>::new(), "{t}");
        }
    }

    #[test]
    fn unescapers() {
        let mut out = Vec::new();
        unescape_json(br#"\"a\/b\u0041\x42\n\q\"#, &mut out);
        assert_eq!(out, b"\"a/bAB q\\");
        out.clear();
        unescape_percent(b"a%3Db+c%zz%4", &mut out);
        assert_eq!(out, b"a=b c%zz%4");
        out.clear();
        unescape_html(b"&quot;x&#34;&#x27;&amp;&bogus;&#;", &mut out);
        assert_eq!(out, b"\"x\"'&&bogus;&#;");
    }

    /// Where each whole slot name ends in `lower`, found one name at a time.
    fn slot_name_ends_naively(lower: &[u8]) -> Vec<usize> {
        let mut ends: Vec<usize> = (1..=lower.len())
            .filter(|&end| PUBLIC_SLOT_NAMES.iter().any(|name| lower[..end].ends_with(name)))
            .collect();
        ends.dedup();
        ends
    }

    fn slot_name_ends(lower: &[u8]) -> Vec<usize> {
        PUBLIC_SLOT_ENDS
            .find_iter(lower)
            .filter(|hit| lower[..hit.end()].ends_with(PUBLIC_SLOT_NAMES[hit.pattern().as_usize()]))
            .map(|hit| hit.end())
            .collect()
    }

    proptest::proptest! {
        /// Texts made of the slot names, their suffixes and the bytes around them, run
        /// together in any order: the suffix search finds exactly the whole names.
        #[test]
        fn the_suffix_search_finds_every_whole_slot_name(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "company_id", "company-id", "companyid", "__klkey", "/onsite/js/",
                    "initialize", "account", "y_id", "y-id", "yid", "lkey", "e/js/", "lize",
                    "ccount", "compan", "normalize", "kl", "_", "/", "e", "y", "id", "a", " ",
                ]),
                0..24,
            )
        ) {
            let lower = parts.concat().into_bytes();
            proptest::prop_assert_eq!(slot_name_ends(&lower), slot_name_ends_naively(&lower));
        }
    }
}
