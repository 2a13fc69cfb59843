//! How a message becomes keystrokes. The body is sanitised so it can never act as a terminal
//! command (no ESC, no C0/C1 controls but newline and tab, no DEL), line endings are
//! normalised, and it is framed as one bracketed paste when the agent enabled bracketed paste
//! (so a multi-line body stays one message), or typed as plain text otherwise. The submit key is
//! sent separately, by the actor, after the echo appeared.

/// Start and end markers of a bracketed paste.
const PASTE_START: &[u8] = b"\x1b[200~";
const PASTE_END: &[u8] = b"\x1b[201~";

/// A body made safe to type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SanitizedBody {
    pub text: String,
    /// How many characters were removed.
    pub removed: usize,
}

/// Removes everything that a terminal could interpret as a command: ESC and the other C0
/// controls except `\n` and `\t`, DEL, and the C1 controls (U+0080..U+009F). `\r\n` and lone
/// `\r` become `\n`.
pub fn sanitize_body(body: &str) -> SanitizedBody {
    let normalized = body.replace("\r\n", "\n").replace('\r', "\n");
    let text: String = normalized
        .chars()
        .filter(|c| matches!(c, '\n' | '\t') || !c.is_control())
        .collect();
    SanitizedBody {
        removed: normalized.chars().count() - text.chars().count(),
        text,
    }
}

/// The bytes that type `text` (already sanitised): one bracketed paste, or plain text.
pub fn typing_bytes(text: &str, bracketed_paste: bool) -> Vec<u8> {
    if text.is_empty() {
        return Vec::new();
    }
    if bracketed_paste {
        [PASTE_START, text.as_bytes(), PASTE_END].concat()
    } else {
        text.as_bytes().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_escape_sequences_and_controls() {
        let body = "red \x1b[31mtext\x1b[0m\x07 end\x7f\u{9b}2J";
        let clean = sanitize_body(body);
        assert_eq!(clean.text, "red [31mtext[0m end2J");
        assert_eq!(clean.removed, 5);
    }

    #[test]
    fn keeps_newlines_tabs_and_unicode() {
        let clean = sanitize_body("a\r\nb\rc\td ✓ 日本");
        assert_eq!(clean.text, "a\nb\nc\td ✓ 日本");
        assert_eq!(clean.removed, 0);
    }

    #[test]
    fn a_body_cannot_end_the_paste() {
        let clean = sanitize_body("x\x1b[201~; rm -rf /\n");
        let bytes = typing_bytes(&clean.text, true);
        assert_eq!(bytes, b"\x1b[200~x[201~; rm -rf /\n\x1b[201~");
        let ends = bytes
            .windows(PASTE_END.len())
            .filter(|w| *w == PASTE_END)
            .count();
        assert_eq!(ends, 1);
    }

    #[test]
    fn plain_typing_and_empty_bodies() {
        assert_eq!(typing_bytes("ls", false), b"ls");
        assert!(typing_bytes("", true).is_empty());
    }
}
