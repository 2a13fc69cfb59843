//! How a message becomes keystrokes. The body is sanitised so it can never act as a terminal
//! command: it goes through a real escape-sequence parser (`vte`, the one vt100 uses), and
//! whole sequences are removed (CSI, OSC, DCS, SOS/PM/APC strings, other ESC sequences, C1
//! controls), as are the C0 controls but newline and tab, and DEL; nothing of a sequence is
//! left behind to be typed. Line endings are normalised and trailing newlines dropped (they end
//! the body; the submit key is the one Enter). The text is framed as one bracketed paste when
//! the agent enabled bracketed paste (so a multi-line body stays one message), or typed as
//! plain text otherwise. The submit key is sent separately, by the core, after the echo
//! appeared.

use std::collections::BTreeMap;

/// Start and end markers of a bracketed paste.
const PASTE_START: &[u8] = b"\x1b[200~";
const PASTE_END: &[u8] = b"\x1b[201~";

/// A body made safe to type, and what was taken out of it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SanitizedBody {
    pub text: String,
    /// Removed escape sequences and controls, by kind (`"CSI"`, `"OSC"`, `"control"`, ...).
    pub removed: BTreeMap<&'static str, usize>,
}

impl SanitizedBody {
    /// Whether anything was removed.
    pub fn changed(&self) -> bool {
        !self.removed.is_empty()
    }

    /// What was removed, for the client: e.g. `2 CSI sequences, 1 OSC sequence`.
    pub fn removed_summary(&self) -> Option<String> {
        if self.removed.is_empty() {
            return None;
        }
        let parts: Vec<String> = self
            .removed
            .iter()
            .map(|(kind, count)| match (*kind, *count) {
                ("control", 1) => "1 control character".to_owned(),
                ("control", n) => format!("{n} control characters"),
                (kind, 1) => format!("1 {kind} sequence"),
                (kind, n) => format!("{n} {kind} sequences"),
            })
            .collect();
        Some(parts.join(", "))
    }
}

/// Collects what `vte` prints; counts what it parses as sequences or controls.
#[derive(Default)]
struct Collector {
    text: String,
    removed: BTreeMap<&'static str, usize>,
    /// ESC bytes the dispatched sequences account for (a string terminator `ESC \` too).
    escapes_dispatched: usize,
    /// A single shift (SS2, SS3) was parsed: the character after it belongs to it.
    single_shift: bool,
}

impl Collector {
    fn count(&mut self, kind: &'static str) {
        *self.removed.entry(kind).or_default() += 1;
    }

    fn sequence(&mut self, kind: &'static str) {
        self.escapes_dispatched += 1;
        self.count(kind);
    }
}

impl vte::Perform for Collector {
    fn print(&mut self, c: char) {
        if std::mem::take(&mut self.single_shift) {
            return;
        }
        if c.is_control() {
            self.single_shift = matches!(c, '\u{8e}' | '\u{8f}');
            self.count("control");
        } else {
            self.text.push(c);
        }
    }

    fn execute(&mut self, byte: u8) {
        match byte {
            b'\n' | b'\t' => self.text.push(byte as char),
            _ => self.count("control"),
        }
    }

    fn hook(&mut self, _: &vte::Params, _: &[u8], _: bool, _: char) {
        self.sequence("DCS");
    }

    fn osc_dispatch(&mut self, _: &[&[u8]], _: bool) {
        self.sequence("OSC");
    }

    fn csi_dispatch(&mut self, _: &vte::Params, _: &[u8], _: bool, _: char) {
        self.sequence("CSI");
    }

    fn esc_dispatch(&mut self, _: &[u8], _: bool, byte: u8) {
        if byte == b'\\' {
            // The string terminator of an OSC, DCS, SOS, PM or APC string, not a sequence.
            self.escapes_dispatched += 1;
        } else {
            self.single_shift = matches!(byte, b'N' | b'O');
            self.sequence("ESC");
        }
    }
}

/// Removes everything that a terminal could interpret as a command (see the module docs).
/// `\r\n` and lone `\r` become `\n`; trailing newlines are dropped.
pub fn sanitize_body(body: &str) -> SanitizedBody {
    let normalized = body.replace("\r\n", "\n").replace('\r', "\n");
    let mut collector = Collector::default();
    vte::Parser::new().advance(&mut collector, normalized.as_bytes());
    // SOS, PM and APC strings are swallowed without a callback of their own, and so is a
    // sequence the body cuts off: they are the escapes no dispatch accounts for.
    let escapes = normalized.bytes().filter(|&b| b == 0x1b).count();
    let unaccounted = escapes.saturating_sub(collector.escapes_dispatched);
    if unaccounted > 0 {
        *collector
            .removed
            .entry("SOS/PM/APC or unfinished")
            .or_default() += unaccounted;
    }
    let mut text = collector.text;
    text.truncate(text.trim_end_matches('\n').len());
    SanitizedBody {
        text,
        removed: collector.removed,
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

    fn clean(body: &str) -> (String, Option<String>) {
        let sanitized = sanitize_body(body);
        let summary = sanitized.removed_summary();
        (sanitized.text, summary)
    }

    #[test]
    fn whole_escape_sequences_are_removed() {
        assert_eq!(
            clean("echo before\x1b[2Jafter"),
            ("echo beforeafter".into(), Some("1 CSI sequence".into()))
        );
        // The OSC's text is not typed as a command of its own.
        assert_eq!(
            clean("echo T1 \x1b]0;x\x07 end"),
            ("echo T1  end".into(), Some("1 OSC sequence".into()))
        );
        assert_eq!(
            clean("a\x1bP1$qm\x1b\\b\x1bOAc\x1b7d"),
            (
                "abcd".into(),
                Some("1 DCS sequence, 2 ESC sequences".into())
            )
        );
        assert_eq!(
            clean("red \x1b[31mtext\x1b[0m\x07 end\x7f"),
            (
                "red text end".into(),
                Some("2 CSI sequences, 2 control characters".into())
            )
        );
    }

    #[test]
    fn strings_c1_controls_and_cut_off_sequences_leave_nothing() {
        assert_eq!(clean("a\x1b_hidden\x1b\\b").0, "ab");
        assert_eq!(clean("a\x1b^pm\x1b\\b").0, "ab");
        assert_eq!(clean("x\u{9b}2Jy").0, "x2Jy");
        assert!(clean("x\u{9b}2Jy").1.is_some());
        let cut = sanitize_body("ls\x1b]0;never ends");
        assert_eq!(cut.text, "ls");
        assert!(cut.changed());
    }

    #[test]
    fn keeps_newlines_tabs_and_unicode_and_drops_trailing_newlines() {
        assert_eq!(
            clean("a\r\nb\rc\td ✓ 日本"),
            ("a\nb\nc\td ✓ 日本".into(), None)
        );
        assert_eq!(clean("seq 1 3\n"), ("seq 1 3".into(), None));
        assert_eq!(clean("echo x\r\n\n\n"), ("echo x".into(), None));
        assert_eq!(clean("two\nlines\n"), ("two\nlines".into(), None));
        assert_eq!(clean("\n"), (String::new(), None));
    }

    #[test]
    fn a_body_cannot_end_the_paste() {
        let clean = sanitize_body("x\x1b[201~; rm -rf /\n");
        let bytes = typing_bytes(&clean.text, true);
        assert_eq!(bytes, b"\x1b[200~x; rm -rf /\x1b[201~");
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
