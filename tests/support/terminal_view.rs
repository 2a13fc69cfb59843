//! What an attached client would show: the decoded `TerminalOutput` of an attachment fed into
//! a terminal emulator (vt100) of the attachment's size, so tests assert on the screen a
//! person would see, wherever the bytes were cut.

use std::num::NonZeroU16;

use agentshim::protocol::Event;
use agentshim::protocol::attach::decode_bytes;

/// A terminal fed by one attachment's frames.
pub struct TerminalView {
    parser: vt100::Parser,
}

impl TerminalView {
    pub fn new(rows: u16, cols: u16) -> Self {
        Self {
            parser: vt100::Parser::new(dimension(rows), dimension(cols), 0),
        }
    }

    /// Applies an attachment's frame: output is drawn, a resize resizes; other frames change
    /// nothing.
    pub fn apply(&mut self, frame: &Event) {
        match frame {
            Event::TerminalOutput { data } => {
                self.feed(&decode_bytes(data).expect("TerminalOutput carries base64"));
            }
            Event::TerminalResized { rows, cols } => self.resize(*rows, *cols),
            _ => {}
        }
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        self.parser.process(bytes);
    }

    pub fn resize(&mut self, rows: u16, cols: u16) {
        self.parser.set_size(dimension(rows), dimension(cols));
    }

    /// The screen's text.
    pub fn contents(&self) -> String {
        self.parser.screen().contents()
    }
}

fn dimension(value: u16) -> NonZeroU16 {
    NonZeroU16::new(value).expect("terminal sizes are at least 1")
}
