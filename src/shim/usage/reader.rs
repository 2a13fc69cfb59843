//! [`SessionLogReader`]: binds to the session log a CLI writes for one agent and turns what is
//! appended to it into [`UsageSnapshot`]s.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::discovery::{SessionLogs, SessionPlace};
use super::tail::Tail;
use super::{Accumulator, TokenCounts, UsageSnapshot, limits};
use crate::shim::AgentKind;
use crate::shim::agent_session::AgentSession;

/// Follows the usage in one agent's session log.
///
/// Create it when the agent starts (before its first message): log files that exist then, and
/// were not created after `started`, belong to other sessions. Each [`SessionLogReader::poll`]
/// binds to the newest log of this cwd that appeared since (none until the CLI writes one,
/// usually with the first message), reads only the bytes appended since the last poll, and
/// returns the usage so far. When the CLI starts a new session (e.g. `/clear`), a new log
/// appears and the reader moves to it, keeping the totals of the old one.
///
/// Two agents of the same CLI in the same cwd under the same HOME, started together, cannot be
/// told apart: the reader takes the newest log.
#[derive(Debug)]
pub struct SessionLogReader {
    kind: AgentKind,
    locator: Box<dyn SessionLogs>,
    /// Files already considered: other sessions', and the ones bound so far.
    seen: HashSet<PathBuf>,
    tail: Option<Tail>,
    current: Accumulator,
    /// Totals of earlier session files.
    carried: TokenCounts,
    context_limit: Option<u64>,
    /// Where the session followed is recorded, with what was recorded last.
    record: Option<(PathBuf, Option<AgentSession>)>,
}

impl SessionLogReader {
    /// A reader for an agent of `kind` running in `cwd` with the given HOME and environment
    /// (`env` gives a variable's value, e.g. `CODEX_HOME`), started at `started`. `None` for
    /// agents that keep no usage log (generic shells, Kiro).
    pub fn for_agent(
        kind: AgentKind,
        home: &Path,
        env: &dyn Fn(&str) -> Option<PathBuf>,
        cwd: &Path,
        started: SystemTime,
    ) -> Option<Self> {
        let place = SessionPlace {
            home,
            cwd,
            started,
            env,
        };
        let locator = (kind.descriptor().session_logs?)(&place);
        let seen = locator
            .files(SystemTime::now())
            .into_iter()
            .filter(|path| !created_at_or_after(path, started))
            .collect();
        Some(Self {
            kind,
            locator,
            seen,
            tail: None,
            current: Accumulator::default(),
            carried: TokenCounts::default(),
            context_limit: None,
            record: None,
        })
    }

    /// Uses `tokens` as the context window, whatever the log or the model table say.
    pub fn with_context_limit(mut self, tokens: u64) -> Self {
        self.context_limit = Some(tokens);
        self
    }

    /// The session log being followed, once found.
    pub fn session_file(&self) -> Option<&Path> {
        self.tail.as_ref().map(Tail::path)
    }

    /// The CLI's session being followed, once found, when the CLI names its sessions.
    pub fn session(&self) -> Option<AgentSession> {
        let log = self.session_file()?;
        Some(AgentSession {
            id: self.locator.session_id(log)?,
            log: log.to_owned(),
        })
    }

    /// The agent resumes the session whose log is `log`: that file, though older than the
    /// agent, is this session's (until the CLI starts another).
    pub fn resuming(mut self, log: &Path) -> Self {
        self.seen.remove(log);
        self
    }

    /// Records each session it follows in `path` ([`AgentSession::write_record`]) once its
    /// log holds a model request, when the CLI names its sessions.
    pub fn recording_to(mut self, path: &Path) -> Self {
        self.record = Some((path.to_owned(), None));
        self
    }

    /// Reads what the CLI logged since the last poll. `None` until a model request was logged.
    pub fn poll(&mut self) -> Option<UsageSnapshot> {
        if let Some(newest) = self.newest_unseen() {
            if self.tail.is_some() {
                self.read_new();
                self.carried += self.current.totals();
                self.current = Accumulator::default();
            }
            self.tail = Some(Tail::new(newest));
        }
        self.read_new();
        let snapshot = self.snapshot();
        if snapshot.is_some() {
            self.record_session();
        }
        snapshot
    }

    /// Records the session now followed, if it is not the one recorded: once its log holds a
    /// model request (a CLI may create its log before it has saved any of the conversation,
    /// and then cannot resume it).
    fn record_session(&mut self) {
        let Some(session) = self.session() else {
            return;
        };
        let Some((path, recorded)) = &mut self.record else {
            return;
        };
        if recorded.as_ref() == Some(&session) {
            return;
        }
        match session.write_record(path) {
            Ok(()) => *recorded = Some(session),
            Err(error) => tracing::warn!(%error, "cannot record the agent's session"),
        }
    }

    /// The newest log of this session not followed before; every file looked at becomes seen.
    fn newest_unseen(&mut self) -> Option<PathBuf> {
        let mut fresh: Vec<(SystemTime, PathBuf)> = self
            .locator
            .files(SystemTime::now())
            .into_iter()
            .filter(|path| !self.seen.contains(path))
            .filter_map(|path| Some((std::fs::metadata(&path).ok()?.modified().ok()?, path)))
            .collect();
        fresh.sort_by_key(|(modified, _)| std::cmp::Reverse(*modified));
        let mut newest = None;
        for (_, path) in fresh {
            match self.locator.belongs(&path) {
                Some(belongs) => {
                    if belongs && newest.is_none() {
                        newest = Some(path.clone());
                    }
                    self.seen.insert(path);
                }
                None => continue,
            }
        }
        newest
    }

    fn read_new(&mut self) {
        let Some(tail) = &mut self.tail else {
            return;
        };
        match tail.read_lines() {
            Ok(new) => {
                if new.restarted {
                    self.current = Accumulator::default();
                }
                for line in &new.lines {
                    if let Some(record) = self.locator.parse_line(line) {
                        self.current.apply(record);
                    }
                }
            }
            Err(err) => {
                tracing::debug!(path = %tail.path().display(), %err, "cannot read session log");
            }
        }
    }

    fn snapshot(&self) -> Option<UsageSnapshot> {
        if self.current.is_empty() && self.carried == TokenCounts::default() {
            return None;
        }
        let model = self.current.model.clone();
        let context_limit_tokens = self
            .context_limit
            .or(self.current.context_window)
            .unwrap_or_else(|| limits::context_window(self.kind, model.as_deref()));
        Some(UsageSnapshot {
            model,
            totals: self.carried + self.current.totals(),
            last_request: self.current.last,
            context_used_tokens: self.current.last.map_or(0, |l| l.context_tokens()),
            context_limit_tokens,
        })
    }
}

/// Whether the file system says `path` was created at or after `started` (`false` when it
/// keeps no creation time).
fn created_at_or_after(path: &Path, started: SystemTime) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.created())
        .is_ok_and(|created| created >= started)
}
