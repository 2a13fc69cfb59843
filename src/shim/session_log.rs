//! Which session log the agent of a spec will write: the reader is made before the agent
//! starts (so only logs created from then on are its own), from the agent's HOME, environment
//! and working directory as the agent will see them. The actor reads it when the
//! core asks ([`super::core::Effect::ReadUsage`]).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::ShimSpec;
use super::usage::SessionLogReader;

/// The value of `key` in the agent's environment: the spec's own setting, else inherited
/// (unless the spec removes it).
fn agent_env(spec: &ShimSpec, key: &str) -> Option<PathBuf> {
    let process = &spec.process;
    if let Some((_, value)) = process.env_set.iter().rev().find(|(k, _)| k == key) {
        return Some(PathBuf::from(value));
    }
    if process.env_remove.iter().any(|k| k == OsStr::new(key)) {
        return None;
    }
    std::env::var_os(key).map(PathBuf::from)
}

/// A reader of the session log the agent of `spec` will write, started `started`; `None` for
/// agents without one.
pub(super) fn reader_for(spec: &ShimSpec, started: SystemTime) -> Option<SessionLogReader> {
    let cwd = spec
        .process
        .cwd
        .clone()
        .or_else(|| std::env::current_dir().ok())?;
    let home = agent_env(spec, "HOME")?;
    let env = |key: &str| agent_env(spec, key);
    let reader = SessionLogReader::for_agent(spec.agent, &home, &env, Path::new(&cwd), started)?;
    let reader = match &spec.resume {
        Some(session) => reader.resuming(&session.log),
        None => reader,
    };
    let reader = match &spec.session_record {
        Some(record) => reader.recording_to(record),
        None => reader,
    };
    Some(match spec.signals.context_limit_tokens {
        Some(limit) => reader.with_context_limit(limit),
        None => reader,
    })
}
