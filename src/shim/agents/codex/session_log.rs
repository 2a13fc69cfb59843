//! Codex's session log ("rollout"): `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<local time>-<id>
//! .jsonl`, one `{"timestamp", "type", "payload"}` object per line. The first line is the
//! `session_meta` with the session's `cwd`; `turn_context` lines name the model; after each
//! model response an `event_msg` of type `token_count` carries Codex's own running totals
//! (`info.total_token_usage`), the last response (`info.last_token_usage`) and the model's
//! context window (`info.model_context_window`). OpenAI conventions: `input_tokens` includes
//! `cached_input_tokens` (and `cache_write_input_tokens`), `output_tokens` includes
//! `reasoning_output_tokens`.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{DateTime, Days, Utc};
use serde_json::Value;

use crate::shim::usage::{Record, SessionLogs, SessionPlace, TokenCounts, files_in, same_path};

/// The most days of Codex's date directories looked at (a session running that long).
const MAX_CODEX_DAYS: u64 = 400;

/// This session's rollouts: `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-*.jsonl` from the day
/// before `started`, bound to the session by their first line.
#[derive(Debug)]
struct CodexLogs {
    sessions: PathBuf,
    cwd: PathBuf,
    started: SystemTime,
    /// Whether a rollout's `session_meta` names this cwd, once known.
    verdicts: HashMap<PathBuf, bool>,
}

impl SessionLogs for CodexLogs {
    fn files(&self, now: SystemTime) -> Vec<PathBuf> {
        day_dirs(&self.sessions, self.started, now)
            .iter()
            .flat_map(|dir| files_in(dir, |n| n.starts_with("rollout-") && n.ends_with(".jsonl")))
            .collect()
    }

    fn belongs(&mut self, path: &Path) -> Option<bool> {
        if let Some(known) = self.verdicts.get(path) {
            return Some(*known);
        }
        let mut first_line = String::new();
        BufReader::new(File::open(path).ok()?)
            .read_line(&mut first_line)
            .ok()?;
        let verdict = session_in(first_line.strip_suffix('\n')?, &self.cwd)?;
        self.verdicts.insert(path.to_path_buf(), verdict);
        Some(verdict)
    }

    fn parse_line(&self, line: &str) -> Option<Record> {
        parse_line(line)
    }

    /// The UUID that ends the file's name: `rollout-<local time>-<session id>.jsonl`.
    fn session_id(&self, path: &Path) -> Option<String> {
        let stem = path.file_stem()?.to_str()?;
        let id = stem.get(stem.len().checked_sub(UUID_LEN)?..)?;
        let uuid_shaped = id.char_indices().all(|(at, c)| match at {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        });
        uuid_shaped.then(|| id.to_owned())
    }
}

/// Characters of a UUID in its text form.
const UUID_LEN: usize = 36;

/// The rollouts of a Codex session in `place` (`CODEX_HOME` defaults to `~/.codex`).
pub(in crate::shim) fn locate(place: &SessionPlace<'_>) -> Box<dyn SessionLogs> {
    let codex_home = (place.env)("CODEX_HOME").unwrap_or_else(|| place.home.join(".codex"));
    Box::new(CodexLogs {
        sessions: codex_home.join("sessions"),
        cwd: place.cwd.to_path_buf(),
        started: place.started,
        verdicts: HashMap::new(),
    })
}

/// Codex's date directories (named by local date) from the day before `started` to the day
/// after `now`, which covers every UTC offset.
fn day_dirs(sessions: &Path, started: SystemTime, now: SystemTime) -> Vec<PathBuf> {
    let first = DateTime::<Utc>::from(started).date_naive() - Days::new(1);
    let last = DateTime::<Utc>::from(now).date_naive() + Days::new(1);
    first
        .iter_days()
        .take_while(|day| *day <= last)
        .take(MAX_CODEX_DAYS as usize)
        .map(|day| sessions.join(day.format("%Y/%m/%d").to_string()))
        .collect()
}

/// What one line of the log tells, if anything.
pub(crate) fn parse_line(line: &str) -> Option<Record> {
    let entry: Value = serde_json::from_str(line).ok()?;
    let payload = &entry["payload"];
    match (entry["type"].as_str()?, payload["type"].as_str()) {
        ("event_msg", Some("token_count")) => {
            let info = payload.get("info").filter(|i| !i.is_null())?;
            Some(Record::Running {
                totals: counts(&info["total_token_usage"])?,
                last: counts(&info["last_token_usage"])?,
                context_window: info["model_context_window"].as_u64(),
            })
        }
        ("turn_context", _) => Some(Record::Model(payload["model"].as_str()?.to_owned())),
        _ => None,
    }
}

fn counts(usage: &Value) -> Option<TokenCounts> {
    let field = |name: &str| usage[name].as_u64().unwrap_or(0);
    usage.is_object().then(|| TokenCounts {
        input_tokens: field("input_tokens"),
        cache_read_input_tokens: field("cached_input_tokens"),
        cache_creation_input_tokens: field("cache_write_input_tokens"),
        output_tokens: field("output_tokens"),
        reasoning_output_tokens: field("reasoning_output_tokens"),
    })
}

/// Whether the first line of a rollout is the `session_meta` of a session run by a person (not
/// a subagent) in `cwd`; `None` when the line is not a complete `session_meta`.
pub(crate) fn session_in(first_line: &str, cwd: &Path) -> Option<bool> {
    let entry: Value = serde_json::from_str(first_line).ok()?;
    if entry["type"] != "session_meta" {
        return None;
    }
    let meta = &entry["payload"];
    let own_thread =
        !meta["source"].is_object() && meta["thread_source"].as_str() != Some("subagent");
    let same_cwd = meta["cwd"]
        .as_str()
        .is_some_and(|logged| same_path(Path::new(logged), cwd));
    Some(own_thread && same_cwd)
}
