//! The agent process: spawned through `pty-process` as the leader of its own session and
//! process group, with the PTY as its controlling terminal. This module owns signalling,
//! reaping and the guarantee that nothing the agent started outlives it.
//!
//! Everything the agent starts is tracked by [`super::process_tracking`]: in a cgroup of its
//! own where the host allows it (killed at once with `cgroup.kill`), else as a child
//! subreaper whose descendants stay in its tree. Killing the agent also SIGKILLs every process
//! of its session and its descendants found through `/proc` (walked before the agent is
//! reaped, while its pid cannot have been reused), so grandchildren that moved to their own
//! process group or session go too.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitStatus;

use nix::sys::signal::{SigHandler, Signal, kill, killpg};
use nix::unistd::Pid;

use super::ShimError;
use super::agent_files::{AgentFile, GivenFiles, Places};
use super::process_tracking::{self, AgentTracker, orphans, procfs};

pub use super::process_tracking::procfs::session_members;

/// What to run and how.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ProcessSpec {
    pub program: OsString,
    pub args: Vec<OsString>,
    pub cwd: Option<PathBuf>,
    /// Variables added to (or overriding) the inherited environment.
    pub env_set: Vec<(OsString, OsString)>,
    /// Variables removed from the inherited environment (`CLAUDECODE` always is).
    pub env_remove: Vec<OsString>,
    pub rows: u16,
    pub cols: u16,
    /// Files the agent is given for its run, each named by a variable of its environment
    /// ([`super::agent_files`]): what a driver adds for turn signals a CLI reads only from a
    /// file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<AgentFile>,
}

impl ProcessSpec {
    /// Whether the agent's environment sets `name`: this spec sets it, or `inherited` (this
    /// process's environment) does and neither the spec nor [`ALWAYS_REMOVED`] removes it.
    fn sets_variable(&self, name: &str, inherited: impl Fn(&str) -> bool) -> bool {
        let removed = ALWAYS_REMOVED.contains(&name) || self.env_remove.iter().any(|k| k == name);
        self.env_set.iter().any(|(k, _)| k == name) || (!removed && inherited(name))
    }
}

/// Variables never inherited by an agent (a spec's own additions still set them):
/// `CLAUDECODE`, a Claude Code session marker that makes a nested Claude Code refuse to start,
/// and `CI`, which makes TUI agents (Gemini CLI, for one) drop their interactive screen because
/// they believe no terminal is attached, when agentshim is the terminal; and `AGENTSHIM_TOKEN`,
/// the server's (and its clients') secret, which would let any agent drive the server.
const ALWAYS_REMOVED: &[&str] = &["CLAUDECODE", "CI", "AGENTSHIM_TOKEN"];

/// Signals the agent gets with their default action even when the shim was started with them
/// ignored (a background job of a non-interactive shell ignores SIGINT and SIGQUIT, `nohup`
/// SIGHUP). Ignored signals survive `exec`, so the agent's commands would otherwise ignore the
/// Ctrl-C of a shutdown, and the SIGTERM step or the PTY hangup would not end them.
const DEFAULT_ACTION_SIGNALS: &[Signal] = &[
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGTSTP,
    Signal::SIGTTIN,
    Signal::SIGTTOU,
];

/// Runs in the child between `fork` and `exec`: restores [`DEFAULT_ACTION_SIGNALS`].
/// Async-signal-safe.
fn restore_default_signals() -> std::io::Result<()> {
    for &signal in DEFAULT_ACTION_SIGNALS {
        // SAFETY: installs SIG_DFL (no handler runs); `sigaction` is async-signal-safe.
        unsafe { nix::sys::signal::signal(signal, SigHandler::SigDfl) }?;
    }
    Ok(())
}

/// The running agent. Dropping it kills the whole session.
#[derive(Debug)]
pub struct AgentProcess {
    child: tokio::process::Child,
    pid: Pid,
    exited: bool,
    /// Tracks every process the agent starts; dropped after the agent is killed.
    tracker: AgentTracker,
    /// The files the agent was given: owned (never read) so they are removed after the agent
    /// is killed.
    _files: GivenFiles,
}

/// Spawns the agent on a fresh PTY of the given size.
pub fn spawn(spec: &ProcessSpec) -> Result<(pty_process::Pty, AgentProcess), ShimError> {
    let spawn_error = |source: std::io::Error| ShimError::Spawn {
        program: spec.program.to_string_lossy().into_owned(),
        source,
    };
    let mut tracker = AgentTracker::new().map_err(|e| spawn_error(std::io::Error::other(e)))?;
    let (pty, pts) = pty_process::open().map_err(|e| spawn_error(pty_io_error(e)))?;
    pty.resize(pty_process::Size::new(spec.rows, spec.cols))
        .map_err(|e| spawn_error(pty_io_error(e)))?;
    let mut command = pty_process::Command::new(&spec.program)
        .args(&spec.args)
        .env("TERM", "xterm-256color")
        .kill_on_drop(true);
    let mut track_in_child = tracker.in_child();
    // SAFETY: the hook only calls `sigaction`, `write` and `prctl`, which are
    // async-signal-safe, between `fork` and `exec`.
    command = unsafe {
        command.pre_exec(move || {
            restore_default_signals()?;
            track_in_child()
        })
    };
    for name in ALWAYS_REMOVED {
        command = command.env_remove(name);
    }
    for name in &spec.env_remove {
        command = command.env_remove(name);
    }
    command = command.envs(spec.env_set.iter().map(|(k, v)| (k, v)));
    let places = Places::of_this_process();
    let (files, file_variables) = GivenFiles::write(&places, &spec.files, |name| {
        spec.sets_variable(name, |name| std::env::var_os(name).is_some())
    });
    command = command.envs(file_variables);
    // Last, so nobody's choice replaces it: how what the agent leaves is found again.
    if let Some(owner) = process_tracking::owner_marker() {
        command = command.env(process_tracking::OWNER_VARIABLE, owner);
    }
    if let Some(cwd) = &spec.cwd {
        command = command.current_dir(cwd);
    }
    // Registered before anyone reaping orphans can look at it.
    let spawning = orphans::Spawning::start();
    let spawned = command.spawn(pts);
    tracker.spawned();
    let child = spawned.map_err(|e| spawn_error(pty_io_error(e)))?;
    let raw_pid = child.id().ok_or_else(|| {
        spawn_error(std::io::Error::other(
            "child exited before its pid was read",
        ))
    })?;
    spawning.spawned(raw_pid as i32);
    let pid = Pid::from_raw(raw_pid as i32);
    Ok((
        pty,
        AgentProcess {
            child,
            pid,
            exited: false,
            tracker,
            _files: files,
        },
    ))
}

impl AgentProcess {
    /// The agent's pid, which is also its process group and session id.
    pub fn pid(&self) -> u32 {
        self.pid.as_raw() as u32
    }

    /// Waits for the agent to exit and reaps it. Cancel-safe. Call [`Self::kill_session`]
    /// afterwards so the agent's background jobs do not outlive it (the session id stays
    /// reserved while any member lives, so this cannot hit an unrelated process).
    pub async fn wait(&mut self) -> std::io::Result<ExitStatus> {
        let status = self.child.wait().await?;
        self.exited = true;
        orphans::reaped(self.pid.as_raw());
        Ok(status)
    }

    /// Sends `signal` to the agent's process group (ignored when it is already gone).
    pub fn signal_group(&self, signal: Signal) {
        if let Err(errno) = killpg(self.pid, signal)
            && errno != nix::errno::Errno::ESRCH
        {
            tracing::warn!(pid = %self.pid, %signal, %errno, "cannot signal agent process group");
        }
    }

    /// SIGKILLs everything in the agent's cgroup, the process group, every other process of
    /// the agent's session, and the agent's descendants in sessions of their own (Claude Code
    /// runs tool commands under `setsid`), which would otherwise outlive it. Descendants are
    /// looked up only while the agent is not reaped (its pid cannot have been reused), before
    /// it dies.
    pub fn kill_session(&self) {
        let descendants = match self.exited {
            false => procfs::descendants(self.pid.as_raw()),
            true => Vec::new(),
        };
        self.tracker.kill_all();
        self.signal_group(Signal::SIGKILL);
        for pid in session_members(self.pid.as_raw())
            .into_iter()
            .chain(descendants)
        {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        if !self.exited {
            self.kill_session();
        }
    }
}

/// Raises this process's soft limit of open files to its hard limit: each shim holds a PTY
/// and pipes, and the usual soft limit of 1024 would stop a server at a few hundred shims.
/// Logs what it did (or could not do).
pub fn raise_open_files_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) if soft < hard => match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            Ok(()) => tracing::debug!(from = soft, to = hard, "open files limit raised"),
            Err(errno) => tracing::warn!(soft, hard, %errno, "cannot raise the open files limit"),
        },
        Ok(_) => {}
        Err(errno) => tracing::warn!(%errno, "cannot read the open files limit"),
    }
}

/// How many files this process may open (its soft limit), if known.
pub fn open_files_limit() -> Option<u64> {
    nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .ok()
        .map(|(soft, _)| soft)
}

/// The `io::Error` behind a `pty-process` error.
pub fn pty_io_error(error: pty_process::Error) -> std::io::Error {
    match error {
        pty_process::Error::Io(error) => error,
        pty_process::Error::Rustix(errno) => {
            std::io::Error::from_raw_os_error(errno.raw_os_error())
        }
        other => std::io::Error::other(other.to_string()),
    }
}

/// The exit code an orchestrator sees: the process's own code, or 128 + the signal number
/// when a signal ended it (the shell and container convention, e.g. 137 for SIGKILL).
pub fn exit_code(status: ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|signal| 128 + signal))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_variable_is_set_for_the_agent_by_the_spec_or_by_inheritance_unless_removed() {
        let mut spec = ProcessSpec {
            program: "gemini".into(),
            args: Vec::new(),
            cwd: None,
            env_set: vec![("SET".into(), "1".into())],
            env_remove: vec!["REMOVED".into()],
            rows: 24,
            cols: 80,
            files: Vec::new(),
        };
        let inherited = |name: &str| ["INHERITED", "REMOVED", "CI"].contains(&name);
        assert!(spec.sets_variable("SET", inherited));
        assert!(spec.sets_variable("INHERITED", inherited));
        assert!(!spec.sets_variable("REMOVED", inherited));
        assert!(!spec.sets_variable("CI", inherited));
        assert!(!spec.sets_variable("UNSET", inherited));
        // A spec's own value wins over a removal, as when the agent is spawned.
        spec.env_set.push(("REMOVED".into(), "2".into()));
        assert!(spec.sets_variable("REMOVED", inherited));
    }

    #[test]
    fn signal_deaths_map_to_128_plus_signal() {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(exit_code(ExitStatus::from_raw(3 << 8)), Some(3));
        assert_eq!(exit_code(ExitStatus::from_raw(9)), Some(137));
    }
}
