//! UTF-16: whole files (a byte-order mark, or ASCII-heavy text with every other byte
//! zero) are transcoded to UTF-8 as they stream, so lines and columns count decoded code
//! points and the mark is not counted; and keys stored as UTF-16 strings inside binaries
//! (`p\0k\0_\0…`, string tables of Windows and .NET programs) are found in place and
//! located at their stored bytes.

use std::io::{self, Read};

use crate::detect::{self, Candidate};
use crate::finding::Layer;

/// Bytes of UTF-16 read per refill.
const INPUT_CHUNK: usize = 16 << 10;
/// Code units of context decoded around a key found inside a binary.
const CONTEXT_UNITS: usize = 300;

/// Does `head` look like BOM-less UTF-16 text? `Some(big_endian)` when nearly every
/// other byte is zero and the rest are printable ASCII.
pub(crate) fn sniff_without_bom(head: &[u8]) -> Option<bool> {
    let pairs = head.len() / 2;
    // Most heads hold no zero byte: then neither parity is nearly all zeros, and one
    // memchr says so faster than counting every other byte twice.
    if pairs < 16 || memchr::memchr(0, head).is_none() {
        return None;
    }
    let zeros = |parity: usize| head.iter().skip(parity).step_by(2).filter(|&&b| b == 0).count();
    let printable = |parity: usize| {
        head.iter()
            .skip(parity)
            .step_by(2)
            .take(pairs)
            .filter(|&&b| b.is_ascii_graphic() || b.is_ascii_whitespace())
            .count()
    };
    let looks = |text: usize, zero: usize| {
        zeros(zero) * 10 >= pairs * 9
            && zeros(text) * 20 <= pairs
            && printable(text) * 10 >= pairs * 9
    };
    if looks(0, 1) {
        Some(false)
    } else if looks(1, 0) {
        Some(true)
    } else {
        None
    }
}

/// Transcodes a UTF-16 stream to UTF-8, dropping a leading byte-order mark. Unpaired
/// surrogates and a trailing odd byte become U+FFFD; errors of the inner reader pass through.
pub(crate) struct Utf8Reader<R> {
    inner: R,
    big_endian: bool,
    skip_bom: bool,
    input: Vec<u8>,
    /// Undecoded bytes at the start of `input` (an odd byte, a high surrogate's pair).
    carried: usize,
    output: Vec<u8>,
    served: usize,
    eof: bool,
}

impl<R: Read> Utf8Reader<R> {
    pub(crate) fn new(inner: R, big_endian: bool, bom: bool) -> Utf8Reader<R> {
        Utf8Reader {
            inner,
            big_endian,
            skip_bom: bom,
            input: vec![0; INPUT_CHUNK],
            carried: 0,
            output: Vec::with_capacity(INPUT_CHUNK * 2),
            served: 0,
            eof: false,
        }
    }

    fn refill(&mut self) -> io::Result<()> {
        self.output.clear();
        self.served = 0;
        while self.output.is_empty() && !self.eof {
            let n = loop {
                match self.inner.read(&mut self.input[self.carried..]) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    other => break other?,
                }
            };
            self.eof = n == 0;
            let len = self.carried + n;
            let used = self.decode(len);
            self.input.copy_within(used..len, 0);
            self.carried = len - used;
        }
        Ok(())
    }

    /// Decodes `input[..len]` into `output`; returns the bytes used.
    fn decode(&mut self, len: usize) -> usize {
        let unit = |bytes: &[u8], at: usize| {
            let pair = [bytes[at], bytes[at + 1]];
            if self.big_endian {
                u16::from_be_bytes(pair)
            } else {
                u16::from_le_bytes(pair)
            }
        };
        let mut at = 0;
        if self.skip_bom && len >= 2 {
            self.skip_bom = false;
            if unit(&self.input, 0) == 0xfeff {
                at = 2;
            }
        }
        while at + 2 <= len {
            let first = unit(&self.input, at);
            let (code, used) = if (0xd800..0xdc00).contains(&first) {
                if at + 4 > len {
                    if !self.eof {
                        break; // its pair is in the next read
                    }
                    (0xfffd, 2)
                } else {
                    let second = unit(&self.input, at + 2);
                    if (0xdc00..0xe000).contains(&second) {
                        (
                            0x10000
                                + ((u32::from(first) - 0xd800) << 10)
                                + (u32::from(second) - 0xdc00),
                            4,
                        )
                    } else {
                        (0xfffd, 2)
                    }
                }
            } else {
                (u32::from(first), 2)
            };
            let c = char::from_u32(code).unwrap_or('\u{fffd}');
            let mut utf8 = [0u8; 4];
            self.output.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            at += used;
        }
        if self.eof && at < len {
            self.output.extend_from_slice("\u{fffd}".as_bytes());
            at = len;
        }
        at
    }
}

impl<R: Read> Read for Utf8Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.served == self.output.len() {
            self.refill()?;
        }
        let n = buf.len().min(self.output.len() - self.served);
        buf[..n].copy_from_slice(&self.output[self.served..self.served + n]);
        self.served += n;
        Ok(n)
    }
}

/// The key stored as UTF-16 around a `p\0k\0_` found at `buf[at..]`, if its first unit
/// starts in `buf[from..until]`.
pub(crate) fn candidate_at_hit(
    buf: &[u8],
    at: usize,
    from: usize,
    until: usize,
    is_served: &dyn Fn(&[u8], usize, usize) -> bool,
    out: &mut Vec<Candidate>,
) {
    // `p\0k\0_\0` is little-endian from `at`; `\0p\0k\0_` is big-endian from `at - 1`.
    // Amid other UTF-16 text both read the same; strings in binaries are aligned.
    let little = buf.get(at + 5) == Some(&0);
    let big = at > 0 && buf[at - 1] == 0;
    let start = match (little, big) {
        (true, true) if at % 2 == 1 => at - 1,
        (true, _) => at,
        (false, true) => at - 1,
        (false, false) => return,
    };
    if (from..until.min(buf.len())).contains(&start) {
        candidate_at(buf, start, at - start, is_served, out);
    }
}

fn candidate_at(
    buf: &[u8],
    start: usize,
    text_parity: usize,
    is_served: &dyn Fn(&[u8], usize, usize) -> bool,
    out: &mut Vec<Candidate>,
) {
    let region_start = start - (start / 2).min(CONTEXT_UNITS) * 2;
    let units_after = ((buf.len() - start) / 2).min(CONTEXT_UNITS);
    let region_end = start + units_after * 2;
    let text: Vec<u8> = buf[region_start..region_end]
        .chunks_exact(2)
        .map(|unit| {
            let (c, zero) = (unit[text_parity], unit[1 - text_parity]);
            if zero == 0 && c.is_ascii() {
                c
            } else {
                b'?'
            }
        })
        .collect();
    let key_at = (start - region_start) / 2;
    let Some(key_end) = detect::shape::key_end_at(&text, key_at) else {
        return;
    };
    let stored_end = start + (key_end - key_at) * 2;
    let (rule, mut layers) =
        detect::classify(&text, key_at, key_end, || is_served(buf, start, stored_end));
    layers.insert(0, Layer::Utf16);
    out.push(Candidate {
        start,
        end: stored_end,
        rule,
        layers,
        custom: None,
        key: Some(String::from_utf8_lossy(&text[key_at..key_end]).into_owned()),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::KeyRule;

    const KEY: &str = "pk_3f9a0c1d2e4b5a6978c0d1e2f3a4b5c6d7"; // pkscan:allow

    fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
        text.encode_utf16()
            .flat_map(|u| if big_endian { u.to_be_bytes() } else { u.to_le_bytes() })
            .collect()
    }

    fn transcode(bytes: &[u8], big_endian: bool, bom: bool) -> String {
        let mut out = String::new();
        Utf8Reader::new(bytes, big_endian, bom).read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn transcodes_both_orders_without_the_mark() {
        let text = "é→😀 x\n";
        let mut le = vec![0xff, 0xfe];
        le.extend(utf16(text, false));
        assert_eq!(transcode(&le, false, true), text);
        let mut be = vec![0xfe, 0xff];
        be.extend(utf16(text, true));
        assert_eq!(transcode(&be, true, true), text);
    }

    #[test]
    fn transcodes_across_refills_and_repairs_bad_units() {
        let text = "😀".repeat(INPUT_CHUNK); // surrogate pairs straddle every refill
        assert_eq!(transcode(&utf16(&text, false), false, false), text);
        assert_eq!(transcode(&[0x00, 0xd8, b'a', 0], false, false), "\u{fffd}a");
        assert_eq!(transcode(&[b'a', 0, b'b'], false, false), "a\u{fffd}");
    }

    #[test]
    fn sniffs_bomless_utf16_text_only() {
        let text = "const company_id = 'x';\n".repeat(4);
        assert_eq!(sniff_without_bom(&utf16(&text, false)), Some(false));
        assert_eq!(sniff_without_bom(&utf16(&text, true)), Some(true));
        assert_eq!(sniff_without_bom(text.as_bytes()), None);
        assert_eq!(sniff_without_bom(&[0u8; 64]), None);
        assert_eq!(sniff_without_bom(&utf16("日本語のテキスト。".repeat(4).as_str(), false)), None);
    }

    #[test]
    fn finds_utf16_keys_inside_binaries() {
        for big_endian in [false, true] {
            let mut bin = vec![0x7f, b'E', b'L', b'F', 0, 1, 2, 3];
            let at = bin.len();
            bin.extend(utf16(&format!("company_id={KEY}"), big_endian));
            bin.extend([0, 0, 0xff, 0x13]);
            let mut out = Vec::new();
            let hit = memchr::memmem::find(&bin, b"p\0k\0_").unwrap();
            candidate_at_hit(&bin, hit, 0, bin.len(), &|_, _, _| false, &mut out);
            assert_eq!(out.len(), 1, "big endian: {big_endian}");
            let found = &out[0];
            assert_eq!(found.key.as_deref(), Some(KEY));
            assert_eq!(found.start, at + 22);
            assert_eq!(found.end, at + 22 + 2 * KEY.len());
            assert_eq!(found.rule, KeyRule::CompanyId);
            assert_eq!(found.layers, vec![Layer::Utf16]);
        }
    }
}
