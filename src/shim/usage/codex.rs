//! Codex's session log ("rollout"): `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<local time>-<id>
//! .jsonl`, one `{"timestamp", "type", "payload"}` object per line. The first line is the
//! `session_meta` with the session's `cwd`; `turn_context` lines name the model; after each
//! model response an `event_msg` of type `token_count` carries Codex's own running totals
//! (`info.total_token_usage`), the last response (`info.last_token_usage`) and the model's
//! context window (`info.model_context_window`). OpenAI conventions: `input_tokens` includes
//! `cached_input_tokens` (and `cache_write_input_tokens`), `output_tokens` includes
//! `reasoning_output_tokens`.

use std::path::Path;

use serde_json::Value;

use super::discovery::same_path;
use super::{Record, TokenCounts};

/// What one line of the log tells, if anything.
pub(super) fn parse_line(line: &str) -> Option<Record> {
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
pub(super) fn session_in(first_line: &str, cwd: &Path) -> Option<bool> {
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
