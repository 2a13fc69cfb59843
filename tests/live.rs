//! Test binary `live`: the real agent CLIs (Claude Code, Codex, Gemini CLI) against the project's
//! fake model server, offline in a private network namespace (`scripts/live-agents.sh`; without
//! `AGENTSHIM_LIVE=1` the live tests skip), and the fake model server's wire formats.
//!
//! One binary per area (see `Cargo.toml`), each module one file of `tests/`; the helpers they
//! share are in `support/`.

#[macro_use]
mod support;

mod fake_model_wire;
mod live_claude;
mod live_claude_bench;
mod live_claude_lifecycle;
mod live_claude_mcp;
mod live_claude_record;
mod live_codex;
mod live_codex_dialogs;
mod live_codex_exit;
mod live_codex_measure;
mod live_codex_record;
mod live_fake_model;
mod live_fake_model_tui;
mod live_gemini;
mod live_gemini_lifecycle;
mod live_gemini_record;
mod live_gemini_signals;
mod live_limits;
mod live_questions;
mod live_resume;
mod live_stats;
mod live_usage_logs;
