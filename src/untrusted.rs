//! Client strings in logs. Whatever a client sends (a message's `from` and id, a shim id in an
//! error, a profile name, a key) can hold newlines, ANSI escapes or other control characters
//! that, written raw into the text log, would forge log lines or repaint the terminal of whoever
//! reads it. [`Untrusted`] shows such a string quoted, with every control or non-printable
//! character escaped and its length bounded, so one field stays one field on one line.

use std::fmt::{self, Write};

/// How many characters of an untrusted string a log shows; the rest is only counted.
pub const MAX_LOGGED_CHARS: usize = 128;

/// A client string to be logged: `%Untrusted(&text)` in a `tracing` field, or `{}` in a message.
///
/// Displayed in double quotes; `"` and `\` are backslash-escaped, `\n`, `\r`, `\t` and `\0` as
/// such, every other control, format or otherwise non-printable character as `\u{XXXX}`
/// (ESC is `\u{1b}`). After [`MAX_LOGGED_CHARS`] characters it stops with
/// `…(N more bytes)` after the closing quote.
#[derive(Clone, Copy)]
pub struct Untrusted<'a>(pub &'a str);

impl fmt::Display for Untrusted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        for (shown, (at, c)) in self.0.char_indices().enumerate() {
            if shown == MAX_LOGGED_CHARS {
                return write!(f, "\"…({} more bytes)", self.0.len() - at);
            }
            match c {
                // Unambiguous inside double quotes; `escape_debug` would write `\'`.
                '\'' => f.write_char(c)?,
                // Escapes quotes, backslashes, controls, and what Rust deems non-printable
                // (format characters such as bidi overrides, line separators, unassigned).
                _ => write!(f, "{}", c.escape_debug())?,
            }
        }
        f.write_char('"')
    }
}

impl fmt::Debug for Untrusted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(text: &str) -> String {
        Untrusted(text).to_string()
    }

    #[test]
    fn a_forged_log_line_stays_on_one_line_without_escapes() {
        let forged = "x\n2026-12-03T00:00:00Z  INFO forged line\x1b[31m";
        assert_eq!(
            shown(forged),
            r#""x\n2026-12-03T00:00:00Z  INFO forged line\u{1b}[31m""#
        );
        for hostile in [
            "a\rb",
            "a\u{7f}b",
            "a\u{9b}31mb",
            "a\u{2028}b",
            "a\u{202e}b",
            "\0",
        ] {
            let text = shown(hostile);
            assert!(
                text.chars()
                    .all(|c| !c.is_control() && c != '\u{2028}' && c != '\u{202e}'),
                "{hostile:?} shown as {text:?}"
            );
        }
    }

    #[test]
    fn quotes_and_backslashes_cannot_close_the_field() {
        assert_eq!(shown(r#"a" level=ERROR b="#), r#""a\" level=ERROR b=""#);
        assert_eq!(shown(r"\n"), r#""\\n""#);
        assert_eq!(shown("it's ok: ünïcödé 日本"), r#""it's ok: ünïcödé 日本""#);
    }

    #[test]
    fn long_strings_are_cut_and_counted() {
        let long = "é".repeat(MAX_LOGGED_CHARS + 10);
        let text = shown(&long);
        let expected = format!("\"{}\"…(20 more bytes)", "é".repeat(MAX_LOGGED_CHARS));
        assert_eq!(text, expected);
        let exact = "a".repeat(MAX_LOGGED_CHARS);
        assert_eq!(shown(&exact), format!("\"{exact}\""));
    }
}
