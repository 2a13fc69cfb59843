//! Test binary `protocol`: the framed JSON protocol: the codec and the typed channel, the contract
//! with the customer's spec (every name, field and serde attribute), and a program written against
//! the spec. And the layout of the test tree itself.
//!
//! One binary per area (see `Cargo.toml`), each module one file of `tests/`; the helpers they
//! share are in `support/`.

#[macro_use]
mod support;

mod layout;
mod protocol_channel;
mod protocol_codec;
mod protocol_contract;
mod protocol_link_fixtures;
mod protocol_spec_program;
