//! Text from scanned data made safe to put in an HTML page, as element text or as a quoted
//! attribute value: the five HTML specials become entities, control characters become the
//! same visible escapes as in the text report (`\n`, `\x1b`), and bidirectional controls
//! (which can make a file name read backwards) become `\u{202e}`-style escapes. Keys are
//! redacted here too, so a key quoted in a commit message never reaches the page (paths,
//! as in every format, are printed as they are: the caller says which text is a name).
//! Not a sanitizer of HTML: nothing from the scan is ever emitted as markup.

use std::fmt::{self, Write as _};

/// `text`, escaped for an HTML text node or a double- or single-quoted attribute value.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        push_escaped(&mut out, c);
    }
    out
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '"' => out.push_str("&quot;"),
        '\'' => out.push_str("&#39;"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if c.is_control() && (c as u32) <= 0xff => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if c.is_control() || is_bidi_control(c) => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// Characters that reorder the text around them (Unicode's explicit directional
/// formatting characters and marks).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Every key-shaped token in `text` replaced by its redacted form (`pk_3f9a…4b`), unless
/// `show_secrets`.
pub(super) fn redact_keys(text: &str, show_secrets: bool) -> std::borrow::Cow<'_, str> {
    if show_secrets {
        return text.into();
    }
    crate::detect::redact_keys(text)
}

/// Scanned text ready for the page: keys redacted (unless shown), then escaped. Its
/// `Display` writes the escaped form, so `write!(out, "<td>{}</td>", Text::new(..))` is
/// the only way scanned text reaches the page.
pub(super) struct Text(String);

impl Text {
    pub(super) fn new(text: &str, show_secrets: bool) -> Text {
        Text(escape(&redact_keys(text, show_secrets)))
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "pk_8e1f47c2b90d3a65f0e2c7d914b8a36e52"; // pkscan:allow

    #[test]
    fn the_five_specials_become_entities() {
        assert_eq!(
            escape(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
        assert_eq!(
            escape("<img src=x onerror=alert(1)>.js"),
            "&lt;img src=x onerror=alert(1)&gt;.js"
        );
        assert_eq!(escape("</script><script>"), "&lt;/script&gt;&lt;script&gt;");
        assert_eq!(escape("&lt;"), "&amp;lt;", "an entity in the data stays text");
    }

    #[test]
    fn controls_and_bidi_marks_become_visible_escapes() {
        assert_eq!(escape("a\nb\r\tc\x1b[31m\0"), "a\\nb\\r\\tc\\x1b[31m\\x00");
        assert_eq!(escape("\u{9b}x\u{202e}gpj.exe\u{2066}"), "\\x9bx\\u{202e}gpj.exe\\u{2066}");
        assert_eq!(escape("café 日本 ✓"), "café 日本 ✓", "other text is kept as it is");
    }

    #[test]
    fn keys_are_redacted_unless_shown() {
        let message = format!("remove {KEY} from settings");
        assert_eq!(redact_keys(&message, false), "remove pk_8e1f…52 from settings");
        assert_eq!(redact_keys(&message, true), message);
        assert_eq!(
            redact_keys("pk_live_short and pk_orders_id", false),
            "pk_live_short and pk_orders_id"
        );
        let text = Text::new(&format!("<b>{KEY}</b>"), false).to_string();
        assert_eq!(text, "&lt;b&gt;pk_8e1f…52&lt;/b&gt;");
        assert!(!Text::new(&format!("{KEY} {KEY}"), false).to_string().contains(KEY));
    }
}
