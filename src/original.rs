//! Back to the source: where a key found in a bundle or in a source map was written.
//!
//! A key inside a map's `sourcesContent` is placed in that source's text; a key in a
//! bundle is placed through the mapping segment that covers its first character, in the
//! map its `sourceMappingURL` names. Maps are parsed with the `sourcemap` crate, once per
//! file, and only when a finding needs them. This module neither reads files nor fetches:
//! callers hand it bytes, already bounded, and say where they came from.

use std::sync::LazyLock;

use memchr::memchr_iter;
use regex::bytes::Regex;

use crate::finding::{Finding, Original};

/// `//# sourceMappingURL=...` and `/*# sourceMappingURL=... */` (and the older `//@`).
static SOURCE_MAP_COMMENT: LazyLock<Regex> = LazyLock::new(|| {
    // A byte class, unbounded: a bounded repetition of a Unicode class compiles to an
    // automaton that takes a tenth of a second to build, in every run with a finding.
    Regex::new(r#"(?:^|[\s;])(?://|/\*)[#@][ \t]*sourceMappingURL=((?-u:[^\s'"*])+)"#)
        .expect("the sourceMappingURL pattern is valid")
});

/// The longest source map URL followed, `data:` URLs aside.
const MAX_URL_BYTES: usize = 4000;

/// The URL of the last `sourceMappingURL` comment of a script or style (the one that
/// counts, as in browsers' devtools).
pub(crate) fn source_mapping_url(body: &[u8]) -> Option<&str> {
    let last = SOURCE_MAP_COMMENT.captures_iter(body).filter_map(|c| c.get(1)).last()?;
    let url = std::str::from_utf8(last.as_bytes()).ok()?;
    (url.len() <= MAX_URL_BYTES || is_data_url(url)).then_some(url)
}

/// True when a source map URL is inline (`data:`), hence part of the body itself.
pub(crate) fn is_data_url(url: &str) -> bool {
    url.trim_start().get(..5).is_some_and(|s| s.eq_ignore_ascii_case("data:"))
}

/// A parsed source map, ready for look-ups.
pub(crate) struct Map(sourcemap::SourceMap);

impl Map {
    /// Parses a map (an index map is flattened); the error says why it is no map.
    pub(crate) fn parse(bytes: &[u8]) -> Result<Map, String> {
        Map::from_decoded(sourcemap::decode_slice(bytes))
    }

    /// Parses an inline `data:` map.
    pub(crate) fn from_data_url(url: &str) -> Result<Map, String> {
        Map::from_decoded(sourcemap::decode_data_url(url.trim()))
    }

    fn from_decoded(decoded: sourcemap::Result<sourcemap::DecodedMap>) -> Result<Map, String> {
        let why = |e: sourcemap::Error| format!("not a readable source map: {e}");
        match decoded.map_err(why)? {
            sourcemap::DecodedMap::Regular(map) => Ok(Map(map)),
            sourcemap::DecodedMap::Index(index) => index.flatten().map(Map).map_err(why),
            sourcemap::DecodedMap::Hermes(hermes) => Ok(Map(sourcemap::SourceMap::clone(&hermes))),
        }
    }

    /// The original position of the generated character at 1-based `line` and `column`
    /// (code points) of `bundle`: the segment that covers it, on that line, with a source.
    pub(crate) fn original_of(&self, bundle: &[u8], line: u64, column: u64) -> Option<Original> {
        self.original_at(generated_position(bundle, line, column)?)
    }

    /// The original position of a generated one, as maps count it (0-based line, UTF-16
    /// column; see [`generated_position`]).
    pub(crate) fn original_at(&self, (line0, col16): (u32, u32)) -> Option<Original> {
        let token = self.0.lookup_token(line0, col16)?;
        if token.get_dst_line() != line0 {
            return None;
        }
        let source = token.get_source()?.to_string();
        let src_line = token.get_src_line();
        let src_col = token.get_src_col() as usize;
        // Columns of maps count UTF-16 units; the contract counts code points, which the
        // source's text tells when the map carries it.
        let column = match self.0.get_source_contents(token.get_src_id()) {
            Some(text) => text
                .split('\n')
                .nth(src_line as usize)
                .map_or(src_col, |l| code_points_in_utf16_prefix(l, src_col)),
            None => src_col,
        };
        Some(Original { source, line: u64::from(src_line) + 1, column: column as u64 + 1 })
    }
}

/// The generated position of the character at 1-based `line` and `column` (code points)
/// of `bundle` as maps count it: 0-based line, 0-based column in UTF-16 units.
pub(crate) fn generated_position(bundle: &[u8], line: u64, column: u64) -> Option<(u32, u32)> {
    let line0 = u32::try_from(line.checked_sub(1)?).ok()?;
    let text = nth_line(bundle, line0 as usize)?;
    let col16 = utf16_units(prefix_chars(text, column.checked_sub(1)?));
    Some((line0, u32::try_from(col16).ok()?))
}

/// The byte offset of 1-based `line` and `column` (code points) in `text`.
pub(crate) fn offset_of(text: &[u8], line: u64, column: u64) -> Option<usize> {
    let line0 = usize::try_from(line.checked_sub(1)?).ok()?;
    let start = if line0 == 0 { 0 } else { memchr_iter(b'\n', text).nth(line0 - 1)? + 1 };
    let line_text = nth_line(text, line0)?;
    Some(start + prefix_chars(line_text, column.checked_sub(1)?).len())
}

/// The original position of the character at byte `offset` of a source map's own text,
/// when it lies inside one of its `sourcesContent` strings: that source's name (from
/// `sources`) and the 1-based line and column (code points) in the source's text.
pub(crate) fn in_sources_content(map: &Map, json: &[u8], offset: usize) -> Option<Original> {
    let (index, start) = sources_content_strings(json)
        .find(|&(_, s, e)| s <= offset && offset < e)
        .map(|(i, s, _)| (i, s))?;
    let source = map.0.get_source(u32::try_from(index).ok()?)?.to_string();
    let (line, column) = position_in_json_string(&json[start..offset]);
    Some(Original { source, line, column })
}

/// Gives each finding of a source map's own text its place in the map's `sourcesContent`;
/// the error says why `map` is no readable map.
pub(crate) fn place_in_map(map: &[u8], findings: &mut [Finding]) -> Result<(), String> {
    let parsed = Map::parse(map)?;
    for f in findings {
        let at = offset_of(map, f.line, f.column);
        f.original = at.and_then(|at| in_sources_content(&parsed, map, at));
    }
    Ok(())
}

/// The spans (index, start, end) of the JSON string contents of the `sourcesContent`
/// array, quotes excluded; `null` entries take an index and no span.
fn sources_content_strings(json: &[u8]) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
    let start = memchr::memmem::find_iter(json, b"\"sourcesContent\"").find_map(|at| {
        let mut i = skip_space(json, at + 16);
        if json.get(i) != Some(&b':') {
            return None;
        }
        i = skip_space(json, i + 1);
        (json.get(i) == Some(&b'[')).then_some(i + 1)
    });
    let mut at = start.unwrap_or(json.len());
    let mut index = 0;
    std::iter::from_fn(move || loop {
        at = skip_space(json, at);
        match json.get(at)? {
            b'"' => {
                let end = string_end(json, at + 1)?;
                let span = (index, at + 1, end);
                index += 1;
                at = end + 1;
                return Some(span);
            }
            b',' => at += 1,
            b'n' if json[at..].starts_with(b"null") => {
                index += 1;
                at += 4;
            }
            _ => return None,
        }
    })
}

fn skip_space(json: &[u8], mut at: usize) -> usize {
    while json.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    at
}

/// The offset of the quote that closes a JSON string whose contents start at `at`.
fn string_end(json: &[u8], mut at: usize) -> Option<usize> {
    loop {
        match json.get(at)? {
            b'"' => return Some(at),
            b'\\' => at += 2,
            _ => at += 1,
        }
    }
}

/// The 1-based (line, column in code points) just after `escaped`, the start of a JSON
/// string's contents as stored: `\n` breaks a line, every other escape is one character
/// (a `\uD83D\uDE00` pair is one).
fn position_in_json_string(escaped: &[u8]) -> (u64, u64) {
    let (mut line, mut column) = (1u64, 1u64);
    let mut i = 0;
    while i < escaped.len() {
        let b = escaped[i];
        if b != b'\\' {
            // Every byte but a UTF-8 continuation byte starts a code point.
            column += u64::from((b as i8) >= -0x40);
            i += 1;
            continue;
        }
        match escaped.get(i + 1) {
            Some(b'n') => {
                line += 1;
                column = 1;
                i += 2;
            }
            Some(b'u') => {
                let low = escaped.get(i + 2..i + 6).is_some_and(|h| {
                    h.first().is_some_and(|c| c.eq_ignore_ascii_case(&b'd'))
                        && h.get(1).is_some_and(|c| matches!(c.to_ascii_lowercase(), b'c'..=b'f'))
                });
                column += u64::from(!low);
                i += 6;
            }
            _ => {
                column += 1;
                i += 2;
            }
        }
    }
    (line, column)
}

/// The `n`th line (0-based) of `text`, without its `\n`.
fn nth_line(text: &[u8], n: usize) -> Option<&[u8]> {
    let start = if n == 0 { 0 } else { memchr_iter(b'\n', text).nth(n - 1)? + 1 };
    let end = memchr::memchr(b'\n', &text[start..]).map_or(text.len(), |i| start + i);
    Some(&text[start..end])
}

/// The first `chars` code points of `line` (each byte of invalid UTF-8 counting as one).
fn prefix_chars(line: &[u8], chars: u64) -> &[u8] {
    let mut seen = 0u64;
    for (i, &b) in line.iter().enumerate() {
        if (b as i8) >= -0x40 {
            if seen == chars {
                return &line[..i];
            }
            seen += 1;
        }
    }
    line
}

/// UTF-16 units of `bytes` (invalid UTF-8 bytes count one each).
fn utf16_units(bytes: &[u8]) -> usize {
    String::from_utf8_lossy(bytes).chars().map(char::len_utf16).sum()
}

/// Code points in the first `units` UTF-16 units of `line`.
fn code_points_in_utf16_prefix(line: &str, units: usize) -> usize {
    let mut used = 0;
    line.chars()
        .take_while(|c| {
            used += c.len_utf16();
            used <= units
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAP: &str = r#"{"version":3,"file":"app.js","sources":["webpack://app/./a.ts","webpack://app/./b.ts"],"sourcesContent":["const a = 1;\n","// é\nconst k = \"KEY\";\n"],"names":[],"mappings":"AAAA;ACCA,UAAU"}"#;

    #[test]
    fn a_key_in_sources_content_is_placed_in_its_source() {
        let map = Map::parse(MAP.as_bytes()).unwrap();
        let at = MAP.find("KEY").unwrap();
        let original = in_sources_content(&map, MAP.as_bytes(), at).unwrap();
        assert_eq!(
            original,
            Original { source: "webpack://app/./b.ts".into(), line: 2, column: 12 }
        );
        let at = MAP.find("const a").unwrap();
        assert_eq!(in_sources_content(&map, MAP.as_bytes(), at).unwrap().line, 1);
        assert_eq!(in_sources_content(&map, MAP.as_bytes(), MAP.find("version").unwrap()), None);
    }

    #[test]
    fn a_key_in_a_bundle_is_placed_through_its_segment() {
        let map = Map::parse(MAP.as_bytes()).unwrap();
        // Line 2 of the bundle: segment 0 at column 0 -> b.ts 2:1, segment 1 at column 10
        // -> b.ts 2:11 (code points 2:11, the line being ASCII).
        let bundle = b"x\nvar k = \"KEY\";\n";
        assert_eq!(
            map.original_of(bundle, 2, 11),
            Some(Original { source: "webpack://app/./b.ts".into(), line: 2, column: 11 })
        );
        assert_eq!(map.original_of(bundle, 2, 3).map(|o| o.column), Some(1));
        assert_eq!(map.original_of(bundle, 3, 1), None, "no segment on that line");
        assert_eq!(map.original_of(bundle, 9, 1), None, "no such line");
    }

    #[test]
    fn broken_maps_say_so() {
        assert!(Map::parse(b"{\"version\":3,").is_err());
        assert!(Map::parse(b"not json").is_err());
    }

    #[test]
    fn escapes_count_as_one_character() {
        assert_eq!(position_in_json_string(br#"a\"b\\c"#), (1, 6));
        assert_eq!(position_in_json_string(br#"x\ny\u00e9\ud83d\ude00z"#), (2, 5));
        assert_eq!(position_in_json_string("é".as_bytes()), (1, 2));
    }

    proptest::proptest! {
        #[test]
        fn no_input_panics(
            json in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
            line in 0u64..6,
            column in 0u64..90,
        ) {
            let _ = source_mapping_url(&json);
            let _ = position_in_json_string(&json);
            let _ = offset_of(&json, line, column);
            let _ = generated_position(&json, line, column);
            let mut bytes = MAP.as_bytes().to_vec();
            let cut = json.len().min(bytes.len());
            bytes.splice(..cut, json.iter().copied());
            for input in [&json, &bytes] {
                let _ = sources_content_strings(input).count();
                if let Ok(map) = Map::parse(input) {
                    let _ = map.original_of(input, line, column);
                    let _ = in_sources_content(&map, input, column as usize);
                }
            }
            let map = Map::parse(MAP.as_bytes()).unwrap();
            let _ = map.original_of(&json, line, column);
            let _ = in_sources_content(&map, &json, column as usize);
        }
    }

    #[test]
    fn source_mapping_urls() {
        assert_eq!(source_mapping_url(b"x\n//# sourceMappingURL=a.js.map\n"), Some("a.js.map"));
        assert_eq!(
            source_mapping_url(b"a{}\n/*# sourceMappingURL=s.css.map */"),
            Some("s.css.map")
        );
        assert_eq!(source_mapping_url(b"var u = 'sourceMappingURL=x';"), None);
        assert!(is_data_url("data:application/json;base64,e30="));
    }
}
