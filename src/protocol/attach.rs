//! Attaching to a shim's terminal, on top of the seed protocol as new variants only (DESIGN
//! §2): what a person's terminal (`agentshim attach`) or a program showing an agent live
//! speaks on a connection of its own.
//!
//! A client sends [`Command::Attach`] with its [`AttachMode`] and, to write, its terminal's
//! size. The shim answers [`Event::Attached`], then [`Event::TerminalOutput`] frames: first the
//! current screen drawn from scratch (colours, cursor, the alternate screen and input modes
//! such as bracketed paste), then everything the agent prints, byte for byte. The
//! connection's other frames from then on:
//!
//! - [`Event::TerminalResized`]: the agent's terminal changed size;
//! - [`Event::TerminalRefreshed`]: this client fell behind the agent's output (it read too
//!   slowly); what it missed is skipped, and a `TerminalResized` with the size and the output
//!   that follow draw the screen again;
//! - [`Event::WriterChanged`]: this client stopped being the writer (another took over);
//! - [`Event::Detached`]: the last frame, with the reason (the client detached, the agent
//!   exited, the shim closes).
//!
//! Frames sent before `Attached` are the connection's usual events; an attached connection
//! gets no events of the shim's log (a program wanting both opens two connections). Any
//! number of clients observe; at most one writes. A writer types with
//! [`Command::TerminalInput`] and sizes the agent's terminal with `Command::Resize`; while it
//! is attached, messages wait in the queue, and when it leaves, the terminal returns to the
//! shim's own size and the queue moves on. [`AttachMode::Takeover`] makes a client the writer
//! even when another one is: the other is told with `WriterChanged` and stays, observing.
//! Output bytes travel base64-encoded ([`encode_bytes`]), so a frame is JSON whatever the
//! agent prints.
//!
//! [`Command::Attach`]: super::Command::Attach
//! [`Command::TerminalInput`]: super::Command::TerminalInput
//! [`Event::Attached`]: super::Event::Attached
//! [`Event::TerminalOutput`]: super::Event::TerminalOutput
//! [`Event::TerminalResized`]: super::Event::TerminalResized
//! [`Event::TerminalRefreshed`]: super::Event::TerminalRefreshed
//! [`Event::WriterChanged`]: super::Event::WriterChanged
//! [`Event::Detached`]: super::Event::Detached

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

/// How a client attaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachMode {
    /// Watch only.
    #[default]
    Observe,
    /// Watch and type; refused while another client writes.
    Write,
    /// Watch and type, taking the writer's place from whoever has it.
    Takeover,
}

impl AttachMode {
    /// Whether the client wants to type.
    pub fn writes(self) -> bool {
        !matches!(self, Self::Observe)
    }
}

/// Terminal bytes as they travel in a frame.
pub fn encode_bytes(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// The bytes of a frame's `data`, or why it is not base64.
pub fn decode_bytes(data: &str) -> Result<Vec<u8>, base64::DecodeError> {
    STANDARD.decode(data)
}
