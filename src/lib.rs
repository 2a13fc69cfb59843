//! agentshim runs interactive AI coding agents (Claude Code, Codex CLI, Gemini CLI, Kiro, any
//! shell or REPL) in pseudo-terminals and turns each into a message-oriented service.
//!
//! - [`protocol`]: the customer's wire contract (commands, events, framing) and its async codec.
//! - [`shim`]: one agent in a PTY, owned by a tokio actor (process, screen, state machine,
//!   classifier, message queue, event log), driven through a cloneable `ShimHandle`.
//! - [`frontend`]: serves one shim over a framed-JSON connection (`agentshim shim`).
//! - [`client`]: a typed gRPC client for `agentshim serve` (what the CLI's client commands use).
//! - [`server`]: the gRPC control plane hosting many shims (`agentshim serve`); [`rpc`] holds
//!   the generated protobuf types and stubs.
//! - [`metrics`]: what agentshim measures, and the Prometheus endpoint of `agentshim serve`.
//! - [`cli`]: the `agentshim` command line (used by the binary).

pub mod cli;
pub mod client;
pub mod frontend;
pub mod metrics;
pub mod protocol;
pub mod rpc;
pub mod server;
pub mod shim;
mod unix_socket;
