//! Claude Code's session log: `~/.claude/projects/<project dir>/<session id>.jsonl`, one JSON
//! object per line. Assistant lines carry the Anthropic `message.usage` of their request
//! (`input_tokens` without the cache, `cache_creation_input_tokens`,
//! `cache_read_input_tokens`, `output_tokens`); a message with several content blocks is
//! written as several lines with the same `message.id`. Lines of subagents have `isSidechain:
//! true`; error placeholders have the model `<synthetic>` and no real usage.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde_json::Value;

use crate::shim::usage::{Record, SessionLogs, SessionPlace, TokenCounts, files_in};

/// Claude Code's cut-off for project directory names: longer ones are cut and get a hash.
const MAX_PROJECT_DIR_LEN: usize = 200;

/// This session's logs: the `.jsonl` files of its project directories.
#[derive(Debug)]
struct ClaudeLogs {
    dirs: Vec<PathBuf>,
}

impl SessionLogs for ClaudeLogs {
    fn files(&self, _now: SystemTime) -> Vec<PathBuf> {
        self.dirs
            .iter()
            .flat_map(|dir| files_in(dir, |name| name.ends_with(".jsonl")))
            .collect()
    }

    fn parse_line(&self, line: &str) -> Option<Record> {
        parse_line(line)
    }

    /// The file's name: `<session id>.jsonl`.
    fn session_id(&self, path: &Path) -> Option<String> {
        Some(path.file_stem()?.to_str()?.to_owned())
    }
}

/// The logs of a Claude Code session in `place` (`~/.claude/projects/<project dir>/`).
pub(in crate::shim) fn locate(place: &SessionPlace<'_>) -> Box<dyn SessionLogs> {
    Box::new(ClaudeLogs {
        dirs: project_dirs(&place.home.join(".claude"), place.cwd),
    })
}

/// What one line of the log tells, if anything.
pub(crate) fn parse_line(line: &str) -> Option<Record> {
    let entry: Value = serde_json::from_str(line).ok()?;
    if entry["type"] != "assistant" {
        return None;
    }
    let message = &entry["message"];
    let model = message["model"].as_str();
    if model == Some("<synthetic>") {
        return None;
    }
    let usage = message.get("usage")?;
    let field = |name: &str| usage[name].as_u64().unwrap_or(0);
    let (read, creation) = (
        field("cache_read_input_tokens"),
        field("cache_creation_input_tokens"),
    );
    let counts = TokenCounts {
        input_tokens: field("input_tokens") + read + creation,
        cache_read_input_tokens: read,
        cache_creation_input_tokens: creation,
        output_tokens: field("output_tokens"),
        reasoning_output_tokens: 0,
    };
    let id = message["id"]
        .as_str()
        .or_else(|| entry["uuid"].as_str())?
        .to_owned();
    Some(Record::Request {
        id,
        model: model.map(String::from),
        counts,
        main_chain: entry["isSidechain"] != true,
    })
}

/// The directories Claude Code keeps `cwd`'s sessions in, under `config_dir` (`~/.claude`):
/// for `cwd` as given and, when different, its canonical form.
fn project_dirs(config_dir: &Path, cwd: &Path) -> Vec<PathBuf> {
    let mut forms = vec![cwd.to_path_buf()];
    if let Ok(real) = cwd.canonicalize()
        && real != cwd
    {
        forms.push(real);
    }
    forms
        .iter()
        .map(|form| {
            config_dir
                .join("projects")
                .join(project_dir_name(&form.to_string_lossy()))
        })
        .collect()
}

/// Claude Code's directory name for a project path: every UTF-16 unit that is not an ASCII
/// letter or digit becomes `-`; past 200 units the name is cut and the absolute value of a
/// 32-bit string hash is appended in base 36.
pub(crate) fn project_dir_name(path: &str) -> String {
    let units: Vec<u16> = path.encode_utf16().collect();
    let name: String = units
        .iter()
        .map(|&unit| match char::from_u32(u32::from(unit)) {
            Some(c) if c.is_ascii_alphanumeric() => c,
            _ => '-',
        })
        .collect();
    if units.len() <= MAX_PROJECT_DIR_LEN {
        return name;
    }
    let hash = units.iter().fold(0i32, |h, &unit| {
        h.wrapping_shl(5)
            .wrapping_sub(h)
            .wrapping_add(i32::from(unit))
    });
    format!(
        "{}-{}",
        &name[..MAX_PROJECT_DIR_LEN],
        base36(u64::from(hash.unsigned_abs()))
    )
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII digits")
}
