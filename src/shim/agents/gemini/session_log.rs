//! Gemini CLI's session log: `~/.gemini/tmp/<project>/chats/session-<UTC time>-<id>.jsonl`
//! (the project directory holds a `.project_root` file with the project's path). The first line
//! is the session header; then one line per message, and `{"$set": …}` lines that update the
//! session. A model message (`type: "gemini"`) carries `tokens`: `input` (the prompt, cached
//! part included), `cached`, `output`, `thoughts`, `tool` (tool-use prompt) and `total`; a
//! message is written again, with the same `id`, when its tool calls finish.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde_json::Value;

use crate::shim::usage::{Record, SessionLogs, SessionPlace, TokenCounts, files_in, same_path};

/// This session's chats: `~/.gemini/tmp/<project>/chats/session-*.jsonl`, where
/// `<project>/.project_root` is the cwd.
#[derive(Debug)]
struct GeminiLogs {
    tmp: PathBuf,
    cwd: PathBuf,
}

impl SessionLogs for GeminiLogs {
    fn files(&self, _now: SystemTime) -> Vec<PathBuf> {
        project_dirs(&self.tmp, &self.cwd)
            .iter()
            .flat_map(|dir| files_in(&dir.join("chats"), is_chat_file))
            .collect()
    }

    fn parse_line(&self, line: &str) -> Option<Record> {
        parse_line(line)
    }

    /// The `sessionId` of the header, the file's first line.
    fn session_id(&self, path: &Path) -> Option<String> {
        let mut header = String::new();
        BufReader::new(File::open(path).ok()?)
            .read_line(&mut header)
            .ok()?;
        let header: Value = serde_json::from_str(&header).ok()?;
        Some(header["sessionId"].as_str()?.to_owned())
    }
}

/// The chats of a Gemini CLI session in `place`.
pub(in crate::shim) fn locate(place: &SessionPlace<'_>) -> Box<dyn SessionLogs> {
    Box::new(GeminiLogs {
        tmp: place.home.join(".gemini").join("tmp"),
        cwd: place.cwd.to_path_buf(),
    })
}

/// Gemini CLI's project directories under `tmp` whose `.project_root` names `cwd`.
fn project_dirs(tmp: &Path, cwd: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|dir| {
            std::fs::read_to_string(dir.join(".project_root"))
                .is_ok_and(|root| same_path(Path::new(root.trim()), cwd))
        })
        .collect()
}

/// What one line of the log tells, if anything.
pub(crate) fn parse_line(line: &str) -> Option<Record> {
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
fn is_chat_file(name: &str) -> bool {
    name.starts_with("session-") && name.ends_with(".jsonl")
}
