//! How a CLI's session logs are found: what an agent's module implements ([`SessionLogs`],
//! made by its [`LocateLogs`] from the [`SessionPlace`] the agent runs in), and the file
//! helpers those implementations share. Only file names and metadata are read here.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::Record;

/// Where an agent runs, as its session logs depend on it.
pub(crate) struct SessionPlace<'a> {
    /// The agent's HOME.
    pub home: &'a Path,
    /// The agent's working directory.
    pub cwd: &'a Path,
    /// When the agent started.
    pub started: SystemTime,
    /// A variable of the agent's environment (`CODEX_HOME`, say).
    pub env: &'a dyn Fn(&str) -> Option<PathBuf>,
}

/// The session logs of one CLI for one session.
pub(crate) trait SessionLogs: Send + std::fmt::Debug {
    /// Every log file that may be this session's, found by name only.
    fn files(&self, now: SystemTime) -> Vec<PathBuf>;

    /// Whether a file from [`SessionLogs::files`] is this session's; `None` while that cannot
    /// be told yet (a file whose first line is still being written).
    fn belongs(&mut self, _path: &Path) -> Option<bool> {
        Some(true)
    }

    /// What one line of this CLI's log tells.
    fn parse_line(&self, line: &str) -> Option<Record>;

    /// The CLI's id of the session that `path`, one of this session's logs, holds (what its
    /// resume option takes); `None` when the CLI resumes no session by id.
    fn session_id(&self, path: &Path) -> Option<String> {
        let _ = path;
        None
    }
}

/// Makes an agent's [`SessionLogs`] for the place it runs in.
pub(crate) type LocateLogs = fn(&SessionPlace<'_>) -> Box<dyn SessionLogs>;

/// Regular files directly in `dir` whose names pass `wanted`; none when `dir` is missing.
pub(crate) fn files_in(dir: &Path, wanted: impl Fn(&str) -> bool) -> Vec<PathBuf> {
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

/// Whether two paths name the same directory (as written, or once canonicalised).
pub(crate) fn same_path(a: &Path, b: &Path) -> bool {
    a == b
        || matches!(
            (a.canonicalize(), b.canonicalize()),
            (Ok(x), Ok(y)) if x == y
        )
}
