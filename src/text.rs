//! Text from outside (a router, an HTTP request, a file, a terminal) made
//! safe to print or log: [`escape`] replaces control characters, so that
//! no such text can move a terminal's cursor, retitle its window, or start
//! a new journal entry with a forged priority (`"\n<0>…"`).

use std::borrow::Cow;
use std::fmt::Write;

/// `text` with every control character (C0, DEL, C1, and the Unicode line
/// and paragraph separators) written as an escape: `\n`, `\r`, `\t`, the
/// others as `\x1b` or `\u{85}`. Meant for people reading a log, not for
/// decoding: a backslash already in the text stays as it is. Text without
/// control characters is returned as it is, without copying.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 && needs_escape(c) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Raw bytes (a router's word, which need not be UTF-8) as escaped text:
/// invalid UTF-8 becomes U+FFFD, then [`escape`].
pub fn escape_bytes(bytes: &[u8]) -> String {
    escape(&String::from_utf8_lossy(bytes)).into_owned()
}

fn needs_escape(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_not_copied() {
        assert!(matches!(escape("ether1 – WAN ✓"), Cow::Borrowed(_)));
    }

    #[test]
    fn terminal_and_journal_controls_are_escaped() {
        assert_eq!(escape("a\x1b]0;pwned\x07b"), "a\\x1b]0;pwned\\x07b");
        assert_eq!(escape("\x1b[2J"), "\\x1b[2J");
        assert_eq!(escape("bye\n<0>EMERG forged"), "bye\\n<0>EMERG forged");
        assert_eq!(escape("x\ry\tz\x7f"), "x\\ry\\tz\\x7f");
        assert_eq!(escape("c1\u{9b}31m"), "c1\\u{9b}31m");
        assert_eq!(escape("ls\u{2028}x"), "ls\\u{2028}x");
    }

    #[test]
    fn bytes_that_are_not_utf8_are_replaced_then_escaped() {
        assert_eq!(escape_bytes(b"d\xe9\x1b"), "d\u{fffd}\\x1b");
    }

    #[test]
    fn escaped_text_has_no_control_character_left() {
        let all: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        assert!(!escape(&all).chars().any(needs_escape));
    }
}
