//! agentshim runs interactive AI coding agents (Claude Code, Codex CLI, Gemini CLI, Kiro, any
//! shell or REPL) in pseudo-terminals and turns each into a message-oriented service.
//!
//! - [`protocol`]: the customer's wire contract (commands, events, framing) and its async codec.
//! - [`shim`]: one agent in a PTY, owned by a tokio actor (process, screen, state machine,
//!   classifier, message queue, event log), driven through a cloneable `ShimHandle`.
//! - [`frontend`]: serves one shim over a framed-JSON connection (`agentshim shim`).
//! - [`client`]: a typed gRPC client for `agentshim serve` (what the CLI's client commands use),
//!   with event streams that resume across reconnects and server restarts, for many servers.
//! - [`server`]: the gRPC control plane hosting many shims (`agentshim serve`); [`rpc`] holds
//!   the generated protobuf types and stubs.
//! - [`metrics`]: what agentshim measures, and the Prometheus endpoint of `agentshim serve`.
//! - [`cli`]: the `agentshim` command line (used by the binary); [`asciicast`]: the recordings
//!   it and the shims write.
//! - [`runtime_dir`]: the per-user runtime directory where servers keep generated tokens for
//!   their own user's clients; [`unix_socket`]: private Unix socket listeners; [`owned_path`]:
//!   files removed again when done; [`untrusted`]: client strings made safe for logs.

pub mod asciicast;
pub mod cli;
pub mod client;
pub mod frontend;
pub mod metrics;
pub mod owned_path;
pub mod private_dir;
pub mod protocol;
pub mod rpc;
pub mod runtime_dir;
pub mod server;
pub mod shim;
pub mod unix_socket;
pub mod unix_time;
pub mod untrusted;
pub mod web;
