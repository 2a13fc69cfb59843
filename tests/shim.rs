//! Test binary `shim`: One shim, driven through its handle or `agentshim shim`, with real PTYs and
//! bash or the fake agents: delivery, outcomes, queue, screen, input, marks, death and teardown,
//! resources, the framed front end and its socket clients, and the recorded fixtures replayed
//! through the core.
//!
//! One binary per area (see `Cargo.toml`), each module one file of `tests/`; the helpers they
//! share are in `support/`.

#[macro_use]
mod support;

mod fake_agent_kiro;
mod fake_agent_kiro_end;
mod fake_agent_limits;
mod fake_agent_questions;
mod proof_framing;
mod replay_fixtures;
mod shim_attach;
mod shim_bash;
mod shim_death;
mod shim_frontend;
mod shim_heap;
mod shim_input;
mod shim_link;
mod shim_marks;
mod shim_outcomes;
mod shim_queue;
mod shim_resources;
mod shim_screen;
mod shim_signals;
mod shim_socket_clients;
mod shim_teardown;
