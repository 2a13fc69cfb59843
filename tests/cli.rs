//! Test binary `cli`: the `agentshim` CLI against a real server: every client command, auth,
//! health, grpcurl, `mcp`, and `record`.
//!
//! One binary per area (see `Cargo.toml`), each module one file of `tests/`; the helpers they
//! share are in `support/`.

#[macro_use]
mod support;

mod cli_attach;
mod cli_auth;
mod cli_client;
mod cli_health;
mod cli_mcp;
mod grpcurl_cli;
mod record_cli;
