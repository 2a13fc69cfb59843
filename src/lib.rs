//! agentshim runs interactive AI coding agents (Claude Code, Codex CLI, Gemini CLI, Kiro, any
//! shell or REPL) in pseudo-terminals and turns each into a message-oriented service.
//!
//! - [`protocol`]: the customer's wire contract (commands, events, framing) and its async codec.
//! - [`shim`]: one agent in a PTY, owned by a tokio actor (process, screen, state machine,
//!   classifier, message queue, event log), driven through a cloneable `ShimHandle`.
//! - [`frontend`]: serves one shim over a framed-JSON connection (`agentshim shim`).

pub mod protocol;
pub mod shim;
