//! Gemini CLI's session log: `~/.gemini/tmp/<project>/chats/session-<UTC time>-<id>.jsonl`
//! (the project directory holds a `.project_root` file with the project's path). The first line
//! is the session header; then one line per message, and `{"$set": …}` lines that update the
//! session. A model message (`type: "gemini"`) carries `tokens`: `input` (the prompt, cached
//! part included), `cached`, `output`, `thoughts`, `tool` (tool-use prompt) and `total`; a
//! message is written again, with the same `id`, when its tool calls finish.

use serde_json::Value;

use super::{Record, TokenCounts};

/// What one line of the log tells, if anything.
pub(super) fn parse_line(line: &str) -> Option<Record> {
    let entry: Value = serde_json::from_str(line).ok()?;
    if entry["type"] != "gemini" {
        return None;
    }
    let tokens = entry.get("tokens").filter(|t| t.is_object())?;
    let field = |name: &str| tokens[name].as_u64().unwrap_or(0);
    let thoughts = field("thoughts");
    let counts = TokenCounts {
        input_tokens: field("input") + field("tool"),
        cache_read_input_tokens: field("cached"),
        cache_creation_input_tokens: 0,
        output_tokens: field("output") + thoughts,
        reasoning_output_tokens: thoughts,
    };
    Some(Record::Request {
        id: entry["id"].as_str()?.to_owned(),
        model: entry["model"].as_str().map(String::from),
        counts,
        main_chain: true,
    })
}

/// Whether a session file name is one of Gemini CLI's chat logs.
pub(super) fn is_chat_file(name: &str) -> bool {
    name.starts_with("session-") && name.ends_with(".jsonl")
}
