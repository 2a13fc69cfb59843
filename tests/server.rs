//! Test binary `server`: the gRPC server, in process and as the real binary: every RPC and error
//! status, streams and resumption, auth and the security defaults, backpressure, keepalive,
//! metrics, stopping, and several hosts in network namespaces.
//!
//! One binary per area (see `Cargo.toml`), each module one file of `tests/`; the helpers they
//! share are in `support/`.

#[macro_use]
mod support;

mod client_resume;
mod multi_host;
mod process_orphans;
mod proof_chaos;
mod proof_resume;
mod security_agent_secrets;
mod security_default_auth;
mod security_log_injection;
mod security_unix_socket;
mod server_attach;
mod server_auth;
mod server_backpressure;
mod server_durable;
mod server_errors;
mod server_keepalive;
mod server_metrics;
mod server_process;
mod server_questions;
mod server_recording;
mod server_rpc;
mod server_shim_processes;
mod server_stop;
mod server_streams;
mod server_web;
