//! Text for people: control characters escaped so no scanned byte reaches a terminal raw,
//! and I/O errors worded for a report. The ground floor: every stage may use it, it uses
//! no other module of the crate.

use std::io;

/// Control characters as escapes (`\n`, `\x1b`), so no scanned byte reaches a terminal raw.
pub fn escape_control(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let code = c as u32;
                if code <= 0xff {
                    out.push_str(&format!("\\x{code:02x}"));
                } else {
                    out.push_str(&format!("\\u{{{code:x}}}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// "permission denied" rather than "Permission denied (os error 13)".
pub(crate) fn describe_io_error(err: &io::Error) -> String {
    match err.kind() {
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        io::ErrorKind::NotFound => "vanished before it could be read".to_string(),
        _ => describe(err),
    }
}

/// An I/O error as a short message, without `(os error N)`.
pub(crate) fn describe(err: &io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape_control("a\nb\x1b\u{9b}c"), "a\\nb\\x1b\\x9bc");
    }
}
