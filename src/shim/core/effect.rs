//! What the core asks its I/O shell to do. The core never does I/O itself: it returns these
//! effects (and keeps the bytes to write in its outbox), and the shell carries them out in
//! order.

use crate::protocol::Event;

/// One thing for the shell to do, in the order the core produced them.
#[derive(Debug, Clone)]
pub enum Effect {
    /// Append `events` to the event log, one after the other with nothing between them (a
    /// `ResponseTruncated` and the `Completion` it concerns are one emission).
    Emit(Vec<Event>),
    /// Give the PTY this window size (the screen already has it).
    ResizePty { rows: u16, cols: u16 },
    /// Signal the agent's processes.
    Signal(AgentSignal),
    /// Read what the agent CLI's session log gained and hand it to `ShimCore::usage_read`.
    ReadUsage,
    /// The agent's death was announced (`Died` is in the events): answer every caller that
    /// waits for the agent to exit.
    Finished { exit_code: Option<i32> },
}

/// A signal to the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentSignal {
    /// SIGTERM to the agent's process group: the second step of a graceful shutdown.
    TerminateGroup,
    /// SIGKILL to every process the agent started, wherever it went.
    KillAll,
}
