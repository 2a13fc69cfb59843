//! The headless terminal: every byte the agent writes goes through a `vt100` parser, which keeps
//! the visible screen; the rows that scroll off its top go to a compact [`History`] of text.
//! This module turns both into what the rest of the shim needs: snapshots for classifiers,
//! captures for clients, summaries for events, and the lines printed between two points in
//! time (for a turn's answer), addressed by *absolute row*: the count of rows that have
//! scrolled off the top plus the row on screen, which stays stable while output scrolls.

use std::num::NonZeroU16;

use super::history::History;
use super::marks::PlacedMark;
use super::terminal_queries::TerminalCallbacks;

/// How many trailing lines go into event summaries (`StateChanged`, `Completion.last_lines`).
pub const SUMMARY_LINES: usize = 5;

/// The most bytes of history a screen keeps by default (besides its row bound): 5000 rows of
/// 220 full columns take about 1.2 MB.
pub const DEFAULT_HISTORY_BYTES: usize = 16 * 1024 * 1024;

/// Largest text put into one event (a Completion's response, a capture). JSON may double the
/// size of text full of quotes or backslashes, so this keeps every event under the 1 MiB frame.
pub const MAX_EVENT_TEXT: usize = 480 * 1024;

/// `text`, or its tail of at most [`MAX_EVENT_TEXT`] bytes behind a note saying what was cut;
/// and how many bytes were cut.
pub fn clip_to_frame(text: String) -> (String, usize) {
    if text.len() <= MAX_EVENT_TEXT {
        return (text, 0);
    }
    let mut start = text.len() - MAX_EVENT_TEXT;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    (
        format!("[... {start} bytes omitted ...]\n{}", &text[start..]),
        start,
    )
}

/// An immutable copy of the visible screen, as classifiers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreenSnapshot {
    /// One string per visible row, trailing spaces removed.
    pub lines: Vec<String>,
    pub cursor_row: u16,
    pub cursor_col: u16,
    /// True while the program uses the alternate screen (full-screen TUIs).
    pub alternate_screen: bool,
}

impl ScreenSnapshot {
    /// The cursor's row text, split at the cursor: `(before, after)`.
    pub fn cursor_line_split(&self) -> (&str, &str) {
        let line = self
            .lines
            .get(usize::from(self.cursor_row))
            .map_or("", String::as_str);
        let at = line
            .char_indices()
            .nth(usize::from(self.cursor_col))
            .map_or(line.len(), |(i, _)| i);
        line.split_at(at)
    }

    /// The last `count` non-blank lines, joined with newlines.
    pub fn last_lines(&self, count: usize) -> String {
        let non_blank: Vec<&str> = self
            .lines
            .iter()
            .map(String::as_str)
            .filter(|l| !l.trim().is_empty())
            .collect();
        non_blank[non_blank.len().saturating_sub(count)..].join("\n")
    }
}

/// A capture for a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture {
    pub content: String,
    pub cursor_row: u16,
    pub cursor_col: u16,
    pub rows: u16,
    pub cols: u16,
}

/// The parser plus the bookkeeping to address rows absolutely.
pub struct Screen {
    parser: vt100::Parser<TerminalCallbacks>,
    /// How many times the program cleared the whole screen (`CSI 2 J`, `ESC c`).
    clears: u64,
    /// The absolute row at the top of the screen when it was last cleared: everything drawn
    /// since is at or below it.
    clear_top: u64,
    /// The end of the previous output, so a clear split across two reads is still seen.
    tail: Vec<u8>,
}

/// Sequences that clear the whole screen: a program redrawing everything from the top. Besides
/// `CSI 2 J` and a reset, cursor-home followed by an erase: Claude Code's full repaint (after
/// compacting) homes the cursor and erases the viewport row by row (`CSI H`, `CSI 2 K`, …).
const CLEARS: &[&[u8]] = &[
    b"\x1b[2J",
    b"\x1bc",
    b"\x1b[H\x1b[2K",
    b"\x1b[H\x1b[J",
    b"\x1b[H\x1b[0J",
];

impl std::fmt::Debug for Screen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Screen")
            .field("size", &self.size())
            .finish_non_exhaustive()
    }
}

/// `text.starts_with(prefix)`, compared byte by byte in place: the prefixes are a few bytes
/// long and an escape comes every few bytes of coloured output, where a call to `memcmp` for
/// each costs more than the comparison itself.
fn starts_with(text: &[u8], prefix: &[u8]) -> bool {
    text.len() >= prefix.len() && text.iter().zip(prefix).all(|(a, b)| a == b)
}

fn non_zero(value: u16) -> NonZeroU16 {
    NonZeroU16::new(value).unwrap_or(NonZeroU16::MIN)
}

impl Screen {
    /// A screen of `rows`×`cols` that keeps `scrollback` rows of history (and at most
    /// [`DEFAULT_HISTORY_BYTES`] of their text).
    pub fn new(rows: u16, cols: u16, scrollback: usize) -> Self {
        Self::with_history_bytes(rows, cols, scrollback, DEFAULT_HISTORY_BYTES)
    }

    /// Like [`Screen::new`], the history bounded by `history_bytes` too.
    pub fn with_history_bytes(
        rows: u16,
        cols: u16,
        scrollback: usize,
        history_bytes: usize,
    ) -> Self {
        Self {
            parser: vt100::Parser::new_with_callbacks(
                non_zero(rows),
                non_zero(cols),
                0,
                TerminalCallbacks::new(History::new(scrollback, history_bytes)),
            ),
            clears: 0,
            clear_top: 0,
            tail: Vec::new(),
        }
    }

    /// Feeds agent output; returns the replies owed to the agent's terminal queries.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<u8> {
        if self.clears_in(bytes) {
            self.clears += 1;
            self.clear_top = self.rows_above_screen();
        }
        self.parser.process(bytes);
        self.parser.callbacks_mut().take_replies()
    }

    /// The marks the program printed (OSC 133, 7501, 9;4) since the last call, with where
    /// the cursor was at each.
    pub fn take_marks(&mut self) -> Vec<PlacedMark> {
        self.parser.callbacks_mut().take_marks()
    }

    /// Whether `bytes` (after the previous output's tail) hold a clear of the whole screen.
    fn clears_in(&mut self, bytes: &[u8]) -> bool {
        let longest = CLEARS.iter().map(|clear| clear.len()).max().unwrap_or(1);
        let has_clear = |text: &[u8]| {
            memchr::memchr_iter(0x1b, text)
                .any(|at| CLEARS.iter().any(|clear| starts_with(&text[at..], clear)))
        };
        // Where the previous output and this one meet, then this output alone.
        let mut seam = std::mem::take(&mut self.tail);
        seam.extend_from_slice(&bytes[..bytes.len().min(longest - 1)]);
        let found = has_clear(&seam) || has_clear(bytes);
        let tail_from = seam.len().saturating_sub(longest - 1);
        self.tail = if bytes.len() >= longest - 1 {
            bytes[bytes.len() - (longest - 1)..].to_vec()
        } else {
            seam[tail_from..].to_vec()
        };
        found
    }

    pub fn resize(&mut self, rows: u16, cols: u16) {
        self.parser.set_size(non_zero(rows), non_zero(cols));
    }

    /// `(rows, cols)`.
    pub fn size(&self) -> (u16, u16) {
        let (rows, cols) = self.parser.screen().size();
        (rows.get(), cols.get())
    }

    /// The escape sequences that draw this screen from scratch on a terminal of its size:
    /// the alternate screen when the program is on it, every cell with its colours, the
    /// cursor, and the input modes (application keys, bracketed paste, mouse reporting).
    pub fn drawing(&self) -> Vec<u8> {
        let screen = self.parser.screen();
        let mut drawing = Vec::new();
        if screen.alternate_screen() {
            drawing.extend_from_slice(b"\x1b[?1049h");
        }
        drawing.extend_from_slice(screen.state_formatted().as_bytes());
        drawing
    }

    /// True when the program asked for bracketed paste (`CSI ? 2004 h`).
    pub fn bracketed_paste(&self) -> bool {
        self.parser.screen().bracketed_paste()
    }

    /// Whether the application asked for application cursor keys (DECCKM): arrow keys are
    /// then sent as `ESC O A` rather than `ESC [ A`.
    pub fn application_cursor(&self) -> bool {
        self.parser.screen().application_cursor()
    }

    pub fn snapshot(&self) -> ScreenSnapshot {
        let screen = self.parser.screen();
        let (_, cols) = self.size();
        let (cursor_row, cursor_col) = screen.cursor_position();
        ScreenSnapshot {
            lines: screen
                .rows(0, cols)
                .map(|row| row.trim_end().to_owned())
                .collect(),
            cursor_row,
            cursor_col,
            alternate_screen: screen.alternate_screen(),
        }
    }

    /// Rows that have left the visible screen so far (dropped from history or kept in it).
    fn rows_above_screen(&self) -> u64 {
        self.history().end_row()
    }

    fn history(&self) -> &History {
        self.parser.callbacks().history()
    }

    /// Bytes the history keeps.
    pub fn history_bytes(&self) -> usize {
        self.history().bytes()
    }

    /// The oldest absolute row still retained (rows above it were dropped from the
    /// scrollback).
    pub fn oldest_retained_row(&self) -> u64 {
        self.history().first_row()
    }

    /// The absolute row of the screen's last line.
    pub fn bottom_absolute_row(&self) -> u64 {
        self.rows_above_screen() + u64::from(self.size().0) - 1
    }

    /// How many times the program cleared the whole screen so far.
    pub fn clears(&self) -> u64 {
        self.clears
    }

    /// The absolute row at the top of the screen when it was last cleared.
    pub fn last_clear_top(&self) -> u64 {
        self.clear_top
    }

    /// The absolute row at the top of the visible screen.
    pub fn top_absolute_row(&self) -> u64 {
        self.rows_above_screen()
    }

    /// The cursor's absolute row.
    pub fn cursor_absolute_row(&self) -> u64 {
        self.rows_above_screen() + u64::from(self.parser.screen().cursor_position().0)
    }

    /// Logical lines covering absolute rows `from..=to` (clamped to what is retained), with
    /// wrapped rows joined into one line and trailing spaces removed.
    pub fn lines_between(&mut self, from: u64, to: u64) -> Vec<String> {
        let above = self.rows_above_screen();
        let (rows, cols) = self.size();
        let to = to.min(above + u64::from(rows) - 1);
        let mut lines: Vec<String> = Vec::new();
        let mut continuing = false;
        let mut add = |text: &str, wrapped: bool| {
            match lines.last_mut() {
                Some(last) if continuing => last.push_str(text),
                _ => lines.push(text.to_owned()),
            }
            continuing = wrapped;
        };
        if from > to {
            return Vec::new();
        }
        for (text, wrapped) in self.history().rows(from, to + 1) {
            add(text, wrapped);
        }
        if to >= above {
            let screen = self.parser.screen();
            let skip = from.saturating_sub(above) as usize;
            let take = (to - above.max(from) + 1) as usize;
            for (index, text) in screen.rows(0, cols).enumerate().skip(skip).take(take) {
                add(text.trim_end(), screen.row_wrapped(index as u16));
            }
        }
        lines
    }

    /// Logical lines from absolute row `from` up to the cursor position `to` (row, column),
    /// not including what is at or after it (wrapped rows joined, trailing spaces removed):
    /// what a program printed between two marks.
    pub fn lines_before(&mut self, from: u64, to: (u64, u16)) -> Vec<String> {
        let (row, col) = to;
        let mut lines = self.lines_between(from, row);
        let row_text = self.lines_between(row, row).pop().unwrap_or_default();
        let after = row_text.chars().count().saturating_sub(usize::from(col));
        if let Some(last) = lines.last_mut() {
            let keep = last.chars().count().saturating_sub(after);
            *last = last
                .chars()
                .take(keep)
                .collect::<String>()
                .trim_end()
                .to_owned();
        }
        while lines.last().is_some_and(|line| line.is_empty()) {
            lines.pop();
        }
        lines
    }

    /// A capture for a client: the visible screen, or with `include_scrollback` the scrollback
    /// above it too; with `last_n_lines`, only that many trailing lines. Trailing blank lines
    /// are not counted.
    pub fn capture(&mut self, last_n_lines: Option<usize>, include_scrollback: bool) -> Capture {
        let (rows, cols) = self.size();
        let snapshot = self.snapshot();
        let mut lines = if include_scrollback {
            let bottom = self.bottom_absolute_row();
            // Blank rows at the bottom are trimmed below, so look `rows` further up.
            // Saturating: a client may ask for any number of lines.
            let wanted =
                last_n_lines.map_or(u64::MAX, |n| (n as u64).saturating_add(u64::from(rows)));
            self.lines_between(bottom.saturating_sub(wanted), bottom)
        } else {
            snapshot.lines
        };
        while lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        if let Some(n) = last_n_lines {
            lines.drain(..lines.len().saturating_sub(n));
        }
        Capture {
            content: clip_to_frame(lines.join("\n")).0,
            cursor_row: snapshot.cursor_row,
            cursor_col: snapshot.cursor_col,
            rows,
            cols,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_between_reaches_into_scrollback_and_joins_wrapped_rows() {
        let mut screen = Screen::new(3, 10, 100);
        let start = screen.cursor_absolute_row();
        screen.feed(b"one\r\n0123456789abc\r\ntwo\r\nthree\r\nfour");
        let end = screen.cursor_absolute_row();
        assert_eq!(end - start, 5);
        assert_eq!(
            screen.lines_between(start, end),
            vec!["one", "0123456789abc", "two", "three", "four"]
        );
        assert_eq!(screen.lines_between(end - 1, end), vec!["three", "four"]);
        // The view is back on the live screen afterwards.
        assert_eq!(screen.snapshot().lines, vec!["two", "three", "four"]);
    }

    #[test]
    fn absolute_rows_survive_scrollback_eviction() {
        let mut screen = Screen::new(2, 10, 3);
        for i in 0..20 {
            screen.feed(format!("{i}\r\n").as_bytes());
        }
        assert_eq!(screen.cursor_absolute_row(), 20);
        assert_eq!(
            screen.lines_between(0, 20),
            vec!["16", "17", "18", "19", ""]
        );
    }

    #[test]
    fn capture_trims_blank_tail_and_takes_last_lines() {
        let mut screen = Screen::new(5, 20, 100);
        screen.feed(b"a\r\nb\r\nc\r\nd\r\ne\r\nf\r\n$ ");
        let capture = screen.capture(None, false);
        assert_eq!(capture.content, "c\nd\ne\nf\n$");
        assert_eq!((capture.cursor_row, capture.cursor_col), (4, 2));
        assert_eq!(screen.capture(Some(2), false).content, "f\n$");
        assert_eq!(screen.capture(Some(7), false).content, "c\nd\ne\nf\n$");
        assert_eq!(screen.capture(Some(7), true).content, "a\nb\nc\nd\ne\nf\n$");
        assert_eq!(screen.capture(None, true).content, "a\nb\nc\nd\ne\nf\n$");
    }

    #[test]
    fn clears_are_seen_whole_or_cut_between_two_reads_and_near_misses_are_not() {
        for clear in CLEARS {
            let mut screen = Screen::new(3, 10, 10);
            screen.feed(b"a\x1b[31mb\x1b[0m");
            screen.feed(&[b"x", *clear, b"y"].concat());
            assert_eq!(screen.clears(), 1, "{clear:?} in one read");
            for cut in 1..clear.len() {
                let mut screen = Screen::new(3, 10, 10);
                screen.feed(&[b"\x1b[1mx", &clear[..cut]].concat());
                screen.feed(&[&clear[cut..], b"y"].concat());
                assert_eq!(screen.clears(), 1, "{clear:?} cut after {cut} bytes");
            }
        }
        let mut screen = Screen::new(3, 10, 10);
        for near_miss in [
            &b"\x1b[2K\x1b[3J"[..],
            b"\x1b[H\x1b[1K",
            b"\x1b[Hx\x1b[J",
            b"\x1b[2A\x1b[2B",
            b"\x1bd[2J",
        ] {
            screen.feed(near_miss);
        }
        assert_eq!(screen.clears(), 0);
    }

    #[test]
    fn cursor_line_split_and_summary() {
        let mut screen = Screen::new(4, 20, 0);
        screen.feed(b"out\r\n\r\nbash$ ls");
        let snapshot = screen.snapshot();
        assert_eq!(snapshot.cursor_line_split(), ("bash$ ls", ""));
        assert_eq!(snapshot.last_lines(2), "out\nbash$ ls");
    }
}
