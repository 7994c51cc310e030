//! The exact token shapes of a Klaviyo private key and their boundary rules.
//!
//! Classic: `pk_` + exactly 34 ASCII alphanumerics. Newer: `pk_` + 6 alphanumerics + `_` +
//! 34 lowercase hex. Neither may be followed by an alphanumeric, nor preceded by one unless
//! that character ends an escape (`%3D`, `\u0022`, `\x27`, `\n`), because escaped text
//! glues the key to the escape's last character.

/// Length of the classic shape: `pk_` + 34.
pub(crate) const CLASSIC_LEN: usize = 37;
/// Length of the newer shape: `pk_` + 6 + `_` + 34.
pub(crate) const NEWER_LEN: usize = 44;

/// If a key starts at `start` (where `pk_` was found), the offset one past its end.
pub(crate) fn key_end_at(buf: &[u8], start: usize) -> Option<usize> {
    if !buf[start..].starts_with(b"pk_") || !is_left_boundary(buf, start) {
        return None;
    }
    let body = &buf[start + 3..];
    let alnum_run = body.iter().take(35).take_while(|b| b.is_ascii_alphanumeric()).count();
    if alnum_run == 34 {
        return is_right_boundary(buf, start + CLASSIC_LEN).then_some(start + CLASSIC_LEN);
    }
    if alnum_run == 6 && body.get(6) == Some(&b'_') {
        let hex = &body[7..];
        let hex_run = hex.iter().take(35).take_while(|b| is_lower_hex(**b)).count();
        let end = start + NEWER_LEN;
        if hex_run == 34 && is_right_boundary(buf, end) {
            return Some(end);
        }
    }
    None
}

fn is_lower_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}

fn is_right_boundary(buf: &[u8], end: usize) -> bool {
    buf.get(end).is_none_or(|b| !b.is_ascii_alphanumeric())
}

/// True when the byte before `start` does not glue the token to a longer word.
pub(crate) fn is_left_boundary(buf: &[u8], start: usize) -> bool {
    let Some(&prev) = start.checked_sub(1).and_then(|i| buf.get(i)) else {
        return true;
    };
    !prev.is_ascii_alphanumeric() || ends_escape(&buf[..start])
}

/// Does `text` end with an escape sequence whose last character is alphanumeric?
fn ends_escape(text: &[u8]) -> bool {
    let n = text.len();
    let at = |back: usize| n.checked_sub(back).map(|i| text[i]);
    let hex_tail = |count: usize| (1..=count).all(|k| at(k).is_some_and(|b| b.is_ascii_hexdigit()));
    // %3D, %22
    if at(3) == Some(b'%') && hex_tail(2) {
        return true;
    }
    // \x27
    if at(4) == Some(b'\\') && matches!(at(3), Some(b'x' | b'X')) && hex_tail(2) {
        return true;
    }
    // \u0022
    if at(6) == Some(b'\\') && matches!(at(5), Some(b'u' | b'U')) && hex_tail(4) {
        return true;
    }
    // \n, \t, \r and the other one-letter escapes
    at(2) == Some(b'\\') && matches!(at(1), Some(b'n' | b't' | b'r' | b'b' | b'f' | b'v' | b'0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "3f9a0c1d2e4b5a6978c0d1e2f3a4b5c6d7"; // pkscan:allow

    fn find(text: &str) -> Option<&str> {
        let start = text.find("pk_")?;
        key_end_at(text.as_bytes(), start).map(|end| &text[start..end])
    }

    #[test]
    fn classic_shape_with_boundaries() {
        let key = format!("pk_{BODY}");
        assert_eq!(find(&key), Some(key.as_str()));
        assert_eq!(find(&format!("\"{key}\"")), Some(key.as_str()));
        assert_eq!(find(&format!("x{key}")), None, "preceded by a letter");
        assert_eq!(find(&format!("9{key}")), None, "preceded by a digit");
        assert_eq!(find(&format!("{key}a")), None, "35 characters");
        assert_eq!(find(&format!("pk_{}", &BODY[1..])), None, "33 characters");
        assert_eq!(find(&format!("{key}_x")), Some(key.as_str()), "underscore ends it");
        assert_eq!(find(&format!("PK_{BODY}")), None, "upper-case prefix");
    }

    #[test]
    fn mixed_case_alphanumerics_match_the_documented_shape() {
        let key = "pk_AbCdEfGhIjKlMnOpQrStUvWxYz01234567"; // pkscan:allow
        assert_eq!(find(key), Some(key));
    }

    #[test]
    fn newer_shape() {
        let key = format!("pk_a1B2c3_{BODY}");
        assert_eq!(find(&key), Some(key.as_str()));
        assert_eq!(find(&format!("pk_a1B2c3_{}", BODY.to_uppercase())), None, "hex is lowercase");
        assert_eq!(find(&format!("{key}0")), None);
    }

    #[test]
    fn escapes_may_precede_the_key() {
        let key = format!("pk_{BODY}");
        for prefix in ["%3D", "%22", "\\u0022", "\\x27", "\\n", "\\t", "company_id%3d"] {
            assert_eq!(find(&format!("{prefix}{key}")), Some(key.as_str()), "{prefix}");
        }
        for prefix in ["%G2", "x27", "u0022", "\\q"] {
            assert_eq!(find(&format!("{prefix}{key}")), None, "{prefix}");
        }
    }

    #[test]
    fn stripe_clerk_and_mapbox_never_match() {
        assert_eq!(find("pk_live_51HqLyjWDarjtT1zdp7dcXGOWzsDB6qWIrCnGfwsUgf9"), None);
        assert_eq!(find("pk_test_TYooMQauvdEDq54NiTphI7jx00000000000000000000"), None);
        assert_eq!(find("pk.eyJ1IjoiZXhhbXBsZSIsImEiOiJjazEyMyJ9"), None);
        assert_eq!(find("pk_orders_customer_id"), None);
    }

    #[test]
    fn truncated_buffers_do_not_panic() {
        for len in 0..40 {
            let text = format!("pk_{BODY}");
            let cut = &text.as_bytes()[..len.min(text.len())];
            if cut.starts_with(b"pk_") {
                let _ = key_end_at(cut, 0);
            }
        }
    }
}
