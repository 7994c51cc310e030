//! Where a byte is, as people count: lines end at `\n` only, columns are 1-based code
//! points with each byte of an invalid UTF-8 sequence counting as one. The pipeline's
//! line cursor and the detector's minified-line test share this counting; it uses no
//! other module of the crate.

use memchr::{memchr_iter, memrchr};

/// A buffer and the stream offset of its first byte.
pub(crate) struct Window<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) base: u64,
}

/// Code points, each byte of an invalid UTF-8 sequence counting as one.
pub(crate) fn char_count(bytes: &[u8]) -> usize {
    let mut count = 0;
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(text) => return count + text.chars().count(),
            Err(err) => {
                let valid = err.valid_up_to();
                // In valid UTF-8 every byte but a continuation byte starts a code point.
                count += rest[..valid].iter().filter(|&&b| (b as i8) >= -0x40).count();
                let invalid = err.error_len().unwrap_or(rest.len() - valid);
                count += invalid;
                rest = &rest[valid + invalid..];
            }
        }
    }
}

/// Moves `at` back to the start of a UTF-8 character (at most three bytes).
pub(crate) fn char_boundary(bytes: &[u8], mut at: usize) -> usize {
    for _ in 0..3 {
        if at == 0 || at >= bytes.len() || (bytes[at] & 0xC0) != 0x80 {
            break;
        }
        at -= 1;
    }
    at
}

/// Line and column (1-based, code points) at a stream offset, advanced lazily: only to
/// hits, and across dropped windows of a streamed file.
#[derive(Debug)]
pub(crate) struct LineCursor {
    offset: u64,
    pub(crate) line: u64,
    pub(crate) column: u64,
}

impl Default for LineCursor {
    fn default() -> LineCursor {
        LineCursor { offset: 0, line: 1, column: 1 }
    }
}

impl LineCursor {
    pub(crate) fn advance(&mut self, window: &Window<'_>, target: u64) {
        if target <= self.offset {
            return;
        }
        let from = (self.offset - window.base) as usize;
        let to = (target - window.base) as usize;
        let span = &window.bytes[from..to];
        match memrchr(b'\n', span) {
            Some(last) => {
                self.line += memchr_iter(b'\n', span).count() as u64;
                self.column = 1 + char_count(&span[last + 1..]) as u64;
            }
            None => self.column += char_count(span) as u64,
        }
        self.offset = target;
    }
}

/// The (line, exclusive column) just after `span`, which starts at (`line`, `column`).
pub(crate) fn position_after(line: u64, column: u64, span: &[u8]) -> (u64, u64) {
    match memrchr(b'\n', span) {
        Some(last) => (
            line + memchr_iter(b'\n', span).count() as u64,
            1 + char_count(&span[last + 1..]) as u64,
        ),
        None => (line, column + char_count(span) as u64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn char_count_counts_invalid_bytes_one_each() {
        assert_eq!(char_count("héllo".as_bytes()), 5);
        assert_eq!(char_count(b"a\xffb"), 3);
    }
}
