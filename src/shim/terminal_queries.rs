//! Answers to the questions a program asks its terminal. TUIs probe the terminal at startup
//! (cursor position, device attributes, colours, size) and some wait for the answer before they
//! draw anything; a headless screen that stays silent makes them stall until a timeout. These
//! callbacks run inside the `vt100` parser, so a cursor report reflects the cursor exactly at
//! the point of the query in the byte stream. Replies are collected and written back to the PTY
//! by the actor. The marks a program prints about itself ([`super::marks`]) are collected here
//! too, with the cursor's place at that point.

use vt100::capture::{BasicFormattedCaptureState, RowContents};
use vt100::{Callbacks, Screen};

use super::history::History;
use super::marks::{Mark, PlacedMark};

/// Identity reported to `XTVERSION` (`CSI > q`).
const TERMINAL_NAME: &str = concat!("agentshim ", env!("CARGO_PKG_VERSION"));

/// Collects replies to terminal queries and marks, and keeps the rows that leave the top of
/// the main screen in the [`History`].
#[derive(Debug)]
pub struct TerminalCallbacks {
    replies: Vec<u8>,
    history: History,
    marks: Vec<PlacedMark>,
    /// Reads each row that scrolls off; its buffer is reused from row to row.
    scrolled: Plain,
}

impl TerminalCallbacks {
    pub fn new(history: History) -> Self {
        Self {
            replies: Vec::new(),
            history,
            marks: Vec::new(),
            scrolled: Plain::default(),
        }
    }

    /// Takes the replies produced since the last call.
    pub fn take_replies(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.replies)
    }

    /// Takes the marks printed since the last call, in order.
    pub fn take_marks(&mut self) -> Vec<PlacedMark> {
        std::mem::take(&mut self.marks)
    }

    /// The rows that left the top of the main screen.
    pub fn history(&self) -> &History {
        &self.history
    }

    fn reply(&mut self, text: &str) {
        self.replies.extend_from_slice(text.as_bytes());
    }
}

/// Reads a row's text and whether it wraps into the next. vt100 only writes a row out
/// formatted (text and SGR sequences), so the row is written once through [`Plain`], which
/// keeps the text; writing it again with the same state starts with a newline unless the row
/// wrapped, and [`FirstChar`] stops that second write at its first character. Returns the
/// wrap flag; the text is left in `plain` (what it held before is cleared first).
fn read_row(contents: &RowContents<'_>, plain: &mut Plain) -> bool {
    plain.text.clear();
    plain.in_sequence = false;
    let mut state = BasicFormattedCaptureState::default();
    let written = contents.write_formatted_basic(plain, &mut state);
    debug_assert!(written.is_ok(), "writing to a String cannot fail");
    let mut probe = FirstChar(None);
    // Stopped at once by design: the error is the probe having what it needs.
    let _ = contents.write_formatted_basic(&mut probe, &mut state);
    probe.0 != Some('\n')
}

/// Keeps the text of a basic formatted capture, dropping its SGR sequences (`ESC … m`) as
/// they are written, as `vt100::capture::basic_formatted_to_plain` does afterwards.
#[derive(Debug, Default)]
struct Plain {
    text: String,
    in_sequence: bool,
}

impl std::fmt::Write for Plain {
    fn write_str(&mut self, written: &str) -> std::fmt::Result {
        // Byte by byte: vt100 writes a cell's text or a piece of an escape sequence at a time,
        // a few bytes, too short for a searcher to pay off. `ESC` and `m` are ASCII, so every
        // cut below is at a character boundary.
        let mut rest = written;
        while !rest.is_empty() {
            if self.in_sequence {
                match rest.bytes().position(|byte| byte == b'm') {
                    Some(end) => {
                        self.in_sequence = false;
                        rest = &rest[end + 1..];
                    }
                    None => return Ok(()),
                }
            } else {
                match rest.bytes().position(|byte| byte == 0x1b) {
                    Some(start) => {
                        self.text.push_str(&rest[..start]);
                        self.in_sequence = true;
                        rest = &rest[start + 1..];
                    }
                    None => {
                        self.text.push_str(rest);
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }

    /// A space between cells or a separator of an escape's parameters: one character, no
    /// search.
    fn write_char(&mut self, written: char) -> std::fmt::Result {
        match (self.in_sequence, written) {
            (true, 'm') => self.in_sequence = false,
            (true, _) => {}
            (false, '\x1b') => self.in_sequence = true,
            (false, _) => self.text.push(written),
        }
        Ok(())
    }
}

/// Takes the first character written and refuses the rest.
struct FirstChar(Option<char>);

impl std::fmt::Write for FirstChar {
    fn write_str(&mut self, written: &str) -> std::fmt::Result {
        match written.chars().next() {
            Some(first) => {
                self.0 = Some(first);
                Err(std::fmt::Error)
            }
            None => Ok(()),
        }
    }
}

fn first_param(params: &[&[u16]]) -> Option<u16> {
    params.first().and_then(|p| p.first()).copied()
}

impl Callbacks for TerminalCallbacks {
    fn unhandled_csi(
        &mut self,
        screen: &mut Screen,
        i1: Option<u8>,
        _i2: Option<u8>,
        params: &[&[u16]],
        c: char,
    ) {
        let (rows, cols) = screen.size();
        match (i1, c, first_param(params)) {
            // DSR: device status, cursor position (1-based).
            (None, 'n', Some(5)) => self.reply("\x1b[0n"),
            (None, 'n', Some(6)) => {
                let (row, col) = screen.cursor_position();
                self.reply(&format!("\x1b[{};{}R", row + 1, col + 1));
            }
            (Some(b'?'), 'n', Some(6)) => {
                let (row, col) = screen.cursor_position();
                self.reply(&format!("\x1b[?{};{}R", row + 1, col + 1));
            }
            // Primary device attributes: a VT220-class terminal with ANSI colour.
            (None, 'c', None | Some(0)) => self.reply("\x1b[?62;22c"),
            // Secondary device attributes.
            (Some(b'>'), 'c', None | Some(0)) => self.reply("\x1b[>1;10;0c"),
            // XTVERSION.
            (Some(b'>'), 'q', None | Some(0)) => {
                self.reply(&format!("\x1bP>|{TERMINAL_NAME}\x1b\\"));
            }
            // Window reports: text area in characters, in pixels, and the cell size.
            (None, 't', Some(18)) => self.reply(&format!("\x1b[8;{rows};{cols}t")),
            (None, 't', Some(14)) => self.reply(&format!(
                "\x1b[4;{};{}t",
                u32::from(rows.get()) * 16,
                u32::from(cols.get()) * 8
            )),
            (None, 't', Some(16)) => self.reply("\x1b[6;16;8t"),
            _ => {}
        }
    }

    fn unhandled_osc(&mut self, screen: &mut Screen, params: &[&[u8]]) {
        if let Some(mark) = Mark::parse(params) {
            let (row, col) = screen.cursor_position();
            let above = self.history.end_row();
            self.marks.push(PlacedMark {
                mark,
                row: above + u64::from(row),
                col,
            });
            return;
        }
        // Colour queries: OSC 10 (foreground) / 11 (background) with "?". Answer a light-on-dark
        // palette, the usual default of terminal emulators.
        match params {
            [b"10", b"?"] => self.reply("\x1b]10;rgb:ffff/ffff/ffff\x1b\\"),
            [b"11", b"?"] => self.reply("\x1b]11;rgb:0000/0000/0000\x1b\\"),
            _ => {}
        }
    }

    fn on_scroll(&mut self, contents: RowContents<'_>, alternate_screen: bool) {
        if !alternate_screen {
            let wrapped = read_row(&contents, &mut self.scrolled);
            self.history.push(&self.scrolled.text, wrapped);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::num::NonZeroU16;

    fn answer(input: &[u8]) -> String {
        let mut parser = vt100::Parser::new_with_callbacks(
            NonZeroU16::new(24).unwrap(),
            NonZeroU16::new(80).unwrap(),
            0,
            TerminalCallbacks::new(History::new(0, 0)),
        );
        parser.process(input);
        String::from_utf8(parser.callbacks_mut().take_replies()).unwrap()
    }

    #[test]
    fn cursor_report_is_taken_at_the_query() {
        assert_eq!(answer(b"ab\x1b[6ncdef"), "\x1b[1;3R");
        assert_eq!(answer(b"\x1b[5;10H\x1b[6n"), "\x1b[5;10R");
    }

    #[test]
    fn device_attributes_and_size() {
        assert_eq!(answer(b"\x1b[c"), "\x1b[?62;22c");
        assert_eq!(answer(b"\x1b[0c"), "\x1b[?62;22c");
        assert_eq!(answer(b"\x1b[>c"), "\x1b[>1;10;0c");
        assert_eq!(answer(b"\x1b[18t"), "\x1b[8;24;80t");
        assert_eq!(answer(b"\x1b[5n"), "\x1b[0n");
    }

    /// The rows that scrolled off after `input` on a 3×10 screen: (text, wrapped).
    fn scrolled(input: &[u8]) -> Vec<(String, bool)> {
        let mut parser = vt100::Parser::new_with_callbacks(
            NonZeroU16::new(3).unwrap(),
            NonZeroU16::new(10).unwrap(),
            0,
            TerminalCallbacks::new(History::new(100, 1 << 20)),
        );
        parser.process(input);
        let history = parser.callbacks().history();
        history
            .rows(history.first_row(), history.end_row())
            .map(|(text, wrapped)| (text.to_owned(), wrapped))
            .collect()
    }

    #[test]
    fn scrolled_rows_keep_their_text_without_colours_and_their_wrap_flag() {
        let rows = scrolled(
            "\x1b[31mred\x1b[0m plain\r\n\x1b[1;4mbold\x1b[m 世界\r\n0123456789abc\r\n\r\nx\r\ny\r\nz"
                .as_bytes(),
        );
        assert_eq!(
            rows,
            [
                ("red plain".to_owned(), false),
                ("bold 世界".to_owned(), false),
                ("0123456789".to_owned(), true),
                ("abc".to_owned(), false),
                (String::new(), false),
            ]
        );
    }

    #[test]
    fn plain_keeps_the_text_of_a_capture_however_it_is_cut_into_writes() {
        use std::fmt::Write as _;
        let mut parser =
            vt100::Parser::new(NonZeroU16::new(3).unwrap(), NonZeroU16::new(40).unwrap(), 0);
        parser.process(
            "\x1b[1;38;5;200mbold\x1b[0m 漢字 \x1b[4;38;2;1;2;3mu\x1b[m e\u{301} \x1b[7mnote\x1b[0m m"
                .as_bytes(),
        );
        let formatted = parser.screen().contents_formatted_basic();
        let expected: String = vt100::capture::basic_formatted_to_plain(&formatted).collect();
        assert_eq!(expected.trim_end(), "bold 漢字 u e\u{301} note m");
        // As vt100 writes it (pieces of escapes, cells, spaces), cut every way: by string
        // pieces of each length and one character at a time.
        for piece in 1..=8 {
            let mut plain = Plain::default();
            let chars: Vec<char> = formatted.chars().collect();
            for cut in chars.chunks(piece) {
                plain.write_str(&cut.iter().collect::<String>()).unwrap();
            }
            assert_eq!(plain.text, expected, "pieces of {piece}");
        }
        let mut plain = Plain::default();
        for written in formatted.chars() {
            plain.write_char(written).unwrap();
        }
        assert_eq!(plain.text, expected);
    }

    #[test]
    fn colour_queries_and_silence_for_the_rest() {
        assert_eq!(answer(b"\x1b]11;?\x07"), "\x1b]11;rgb:0000/0000/0000\x1b\\");
        assert_eq!(answer(b"\x1b]0;title\x07hello\x1b[31m"), "");
    }
}
