//! What the test binaries share: one module per kind of helper (servers in process and as the
//! real binary, shims and their sockets, fake agents and the fake model server, the live CLIs,
//! tmux, network namespaces, other users, clients). A binary uses the parts its tests need, so
//! an item unused by one binary is not dead.
#![allow(dead_code, unused_macros)]

// Macros first: a `macro_rules!` is usable after its module.
#[macro_use]
pub mod per_kind;
#[macro_use]
pub mod protocol_samples;

pub mod asciinema;
pub mod certs;
pub mod cli;
pub mod cut_proxy;
pub mod eventually;
pub mod fake_agent;
pub mod fake_model;
pub mod fake_questions;
pub mod frame_limit;
pub mod grpc_attach;
pub mod http;
pub mod live_agents;
pub mod live_codex;
pub mod live_gemini_shim;
pub mod live_latency;
pub mod live_shim;
pub mod live_tmux;
pub mod netns;
pub mod other_user;
pub mod procs;
pub mod reader;
pub mod record_fixture;
pub mod replay;
pub mod resume_watch;
pub mod serve_process;
pub mod server;
pub mod shim;
pub mod shim_socket;
pub mod soak;
pub mod standard_clients;
pub mod terminal_view;
