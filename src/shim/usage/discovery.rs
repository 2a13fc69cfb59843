//! Where each CLI keeps its session logs, and which of them belong to a session in a given
//! working directory. Only file names and metadata are read here, plus the first line of a
//! Codex rollout (its `session_meta`, which names the cwd).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{DateTime, Days, Utc};

use super::{Record, claude, codex, gemini};
use crate::shim::AgentKind;

/// The most days of Codex's date directories looked at (a session running that long).
const MAX_CODEX_DAYS: u64 = 400;

/// The session logs of one CLI for one working directory.
#[derive(Debug)]
pub(super) enum Locator {
    /// `~/.claude/projects/<project dir>/*.jsonl`.
    Claude { dirs: Vec<PathBuf> },
    /// `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-*.jsonl` from the day before `started`.
    Codex {
        sessions: PathBuf,
        cwd: PathBuf,
        started: SystemTime,
        /// Whether a rollout's `session_meta` names this cwd, once known.
        verdicts: HashMap<PathBuf, bool>,
    },
    /// `~/.gemini/tmp/<project>/chats/session-*.jsonl`, where `<project>/.project_root` is the
    /// cwd.
    Gemini { tmp: PathBuf, cwd: PathBuf },
}

impl Locator {
    /// The logs of `kind` for `cwd`; `None` for agents that keep no usage log.
    pub fn new(
        kind: AgentKind,
        home: &Path,
        codex_home: Option<&Path>,
        cwd: &Path,
        started: SystemTime,
    ) -> Option<Self> {
        match kind {
            AgentKind::Claude => Some(Self::Claude {
                dirs: claude::project_dirs(&home.join(".claude"), cwd),
            }),
            AgentKind::Codex => Some(Self::Codex {
                sessions: codex_home
                    .map_or_else(|| home.join(".codex"), Path::to_path_buf)
                    .join("sessions"),
                cwd: cwd.to_path_buf(),
                started,
                verdicts: HashMap::new(),
            }),
            AgentKind::Gemini => Some(Self::Gemini {
                tmp: home.join(".gemini").join("tmp"),
                cwd: cwd.to_path_buf(),
            }),
            AgentKind::Generic | AgentKind::Kiro => None,
        }
    }

    /// What one line of this CLI's log tells.
    pub fn parse_line(&self, line: &str) -> Option<Record> {
        match self {
            Self::Claude { .. } => claude::parse_line(line),
            Self::Codex { .. } => codex::parse_line(line),
            Self::Gemini { .. } => gemini::parse_line(line),
        }
    }

    /// Every log file that may be this session's, found by name only.
    pub fn files(&self, now: SystemTime) -> Vec<PathBuf> {
        match self {
            Self::Claude { dirs } => dirs
                .iter()
                .flat_map(|dir| files_in(dir, |name| name.ends_with(".jsonl")))
                .collect(),
            Self::Codex {
                sessions, started, ..
            } => codex_day_dirs(sessions, *started, now)
                .iter()
                .flat_map(|dir| {
                    files_in(dir, |n| n.starts_with("rollout-") && n.ends_with(".jsonl"))
                })
                .collect(),
            Self::Gemini { tmp, cwd } => gemini_project_dirs(tmp, cwd)
                .iter()
                .flat_map(|dir| files_in(&dir.join("chats"), gemini::is_chat_file))
                .collect(),
        }
    }

    /// Whether a file from [`Locator::files`] is this session's; `None` while that cannot be
    /// told yet (a rollout whose first line is still being written).
    pub fn belongs(&mut self, path: &Path) -> Option<bool> {
        let Self::Codex { cwd, verdicts, .. } = self else {
            return Some(true);
        };
        if let Some(known) = verdicts.get(path) {
            return Some(*known);
        }
        let mut first_line = String::new();
        BufReader::new(File::open(path).ok()?)
            .read_line(&mut first_line)
            .ok()?;
        let verdict = codex::session_in(first_line.strip_suffix('\n')?, cwd)?;
        verdicts.insert(path.to_path_buf(), verdict);
        Some(verdict)
    }
}

/// Regular files directly in `dir` whose names pass `wanted`; none when `dir` is missing.
fn files_in(dir: &Path, wanted: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| e.file_name().to_str().is_some_and(&wanted))
        .map(|e| e.path())
        .collect()
}

/// Codex's date directories (named by local date) from the day before `started` to the day
/// after `now`, which covers every UTC offset.
fn codex_day_dirs(sessions: &Path, started: SystemTime, now: SystemTime) -> Vec<PathBuf> {
    let first = DateTime::<Utc>::from(started).date_naive() - Days::new(1);
    let last = DateTime::<Utc>::from(now).date_naive() + Days::new(1);
    first
        .iter_days()
        .take_while(|day| *day <= last)
        .take(MAX_CODEX_DAYS as usize)
        .map(|day| sessions.join(day.format("%Y/%m/%d").to_string()))
        .collect()
}

/// Gemini CLI's project directories under `tmp` whose `.project_root` names `cwd`.
fn gemini_project_dirs(tmp: &Path, cwd: &Path) -> Vec<PathBuf> {
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

/// Whether two paths name the same directory (as written, or once canonicalised).
pub(super) fn same_path(a: &Path, b: &Path) -> bool {
    a == b
        || matches!(
            (a.canonicalize(), b.canonicalize()),
            (Ok(x), Ok(y)) if x == y
        )
}
