//! Shim processes: the server runs every shim as an `agentshim shim` process of its own (the
//! containerd-shim model), so that the agent, its PTY, screen, queue and log live outside the
//! server. [`ShimLauncher::start`] writes the shim's spec into a new directory of the state
//! directory, starts the process there in a session of its own (not signalled with the
//! server's process group), reads the one line it announces on stdout once its socket listens
//! ([`StartReport`]), and links to it ([`super::link`]). The process's stderr goes to
//! `shim.log` in its directory.
//!
//! The server owns each process it started: one task waits for it and removes its directory
//! once it has exited (which it does when its agent is dead and the link is dropped). A server
//! that drops a process still running (its runtime stopped without shutting its shims down)
//! sends it SIGTERM, which shuts its agent down. Its [`Fate`] changes that: a stop that leaves
//! the shims running lets the process go, and a stop that shuts down the agent of a shim to
//! be resumed keeps its directory. Shim processes a server that did not stop left in its
//! state directory are adopted by the next server on that directory when it starts
//! ([`ShimLauncher::adopt_leftovers`]): linked again, their agents, queues and logs as they
//! are. A shim whose process is gone is hosted dead, its directory kept until it is deleted,
//! or, for a profile that resumes, its agent is started again in a new shim process on the
//! session of its CLI it had ([`ShimLauncher::restart`]).

use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;

use super::link::{LinkError, LinkedShim, link};
use super::state_dir::{FoundShim, HostRecord, ShimDir, StateDir, StateDirError};
use crate::protocol::Event;
use crate::protocol::link::StartReport;
use crate::shim::agent_session::AgentSession;
use crate::shim::events::{EventLog, LogItem, Subscription};
use crate::shim::{ShimError, ShimSpec};
use crate::untrusted::Untrusted;

/// How long a shim process may take to start its agent and listen.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How much of the end of `shim.log` an error quotes.
const LOG_TAIL_BYTES: u64 = 2000;

/// Why a shim process could not be started.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error(transparent)]
    StateDir(#[from] StateDirError),
    #[error("cannot start the shim process {}: {source}", program.display())]
    Exec {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The shim process could not start its agent: the error a call would have had.
    #[error(transparent)]
    Agent(ShimError),
    #[error("the shim process exited ({status}) before it listened; its log ends: {log}")]
    Exited { status: String, log: String },
    #[error("the shim process did not listen within {} s", START_TIMEOUT.as_secs())]
    Timeout,
    #[error(transparent)]
    Link(#[from] LinkError),
}

/// Starts shim processes from one program into one state directory.
#[derive(Debug)]
pub struct ShimLauncher {
    program: PathBuf,
    state: StateDir,
}

/// A started shim process, linked.
#[derive(Debug)]
pub struct StartedShim {
    pub linked: LinkedShim,
    /// Turns true once the process has exited and its directory is removed.
    pub exited: watch::Receiver<bool>,
    /// What becomes of the process and its directory.
    pub fate: Fate,
}

/// What becomes of a shim process and its directory once this server is done with it: by
/// default the process is sent SIGTERM if the server drops it running (which shuts its agent
/// down), and its directory is removed once it has exited.
#[derive(Debug, Clone, Default)]
pub struct Fate(Arc<AtomicU8>);

/// [`Fate`]'s default: stopped, its directory removed.
const STOPPED: u8 = 0;
/// Left running, its directory kept, for the next server to adopt.
const LEFT_RUNNING: u8 = 1;
/// Its directory kept once it has exited, for the next server to start its agent again.
const DIR_KEPT: u8 = 2;

impl Fate {
    /// Lets the process go, running: it is not sent SIGTERM when the server drops it, and its
    /// directory stays, for the next server to adopt.
    pub fn leave_running(&self) {
        self.0.store(LEFT_RUNNING, Ordering::SeqCst);
    }

    /// Keeps the directory once the process has exited, for the next server to start the
    /// shim's agent again on its session ([`ShimLauncher::restart`]).
    pub fn keep_dir(&self) {
        self.0.store(DIR_KEPT, Ordering::SeqCst);
    }

    fn left_running(&self) -> bool {
        self.0.load(Ordering::SeqCst) == LEFT_RUNNING
    }

    fn keeps_dir(&self) -> bool {
        self.0.load(Ordering::SeqCst) != STOPPED
    }
}

impl ShimLauncher {
    /// Starts shims by running `program shim ...` (the `agentshim` binary) in `state`.
    pub fn new(program: PathBuf, state: StateDir) -> Self {
        Self { program, state }
    }

    pub fn state_dir(&self) -> &StateDir {
        &self.state
    }

    /// Starts the shim of `spec` in a process of its own and links to it, its events going
    /// into `events`.
    pub async fn start(
        &self,
        spec: &ShimSpec,
        hosted: &HostRecord,
        events: Arc<EventLog>,
    ) -> Result<StartedShim, LaunchError> {
        let dir = self.state.create_shim(spec, hosted)?;
        match self.start_in(&dir, spec, events).await {
            Ok(started) => Ok(started),
            Err(error) => {
                remove_dir(dir);
                Err(error)
            }
        }
    }

    async fn start_in(
        &self,
        dir: &ShimDir,
        spec: &ShimSpec,
        events: Arc<EventLog>,
    ) -> Result<StartedShim, LaunchError> {
        let mut process = self.spawn(dir).await?;
        let stdout = process.child.stdout.take().expect("stdout is piped");
        let mut line = String::new();
        let mut stdout = BufReader::new(stdout);
        let read = stdout.read_line(&mut line);
        let report = match tokio::time::timeout(START_TIMEOUT, read).await {
            Err(_) => return Err(LaunchError::Timeout),
            Ok(read) => read.ok().and_then(|_| serde_json::from_str(&line).ok()),
        };
        match report {
            Some(StartReport::Listening { .. }) => {}
            Some(StartReport::Failed { error }) => {
                process.wait_exit().await;
                return Err(LaunchError::Agent(error.into()));
            }
            None => {
                let status = process.wait_exit().await;
                return Err(LaunchError::Exited {
                    status,
                    log: log_tail(dir),
                });
            }
        }
        let linked = link(&dir.socket(), shim_id_of(spec), events, spec.first_seq - 1).await?;
        let (exited_tx, exited) = watch::channel(false);
        let fate = process.fate.clone();
        let dir = dir.clone();
        tokio::spawn(async move {
            let status = process.wait().await;
            tracing::debug!(path = %dir.path().display(), ?status, "shim process exited");
            if !process.fate.keeps_dir() {
                remove_dir(dir);
            }
            exited_tx.send_replace(true);
        });
        Ok(StartedShim {
            linked,
            exited,
            fate,
        })
    }

    /// Starts `agentshim shim` for the spec in `dir`, in a session of its own, on the blocking
    /// pool: a fork and exec take a while (the longer the busier the host), and a runtime
    /// thread they held would answer no other call meanwhile.
    async fn spawn(&self, dir: &ShimDir) -> Result<ShimProcess, LaunchError> {
        let (program, dir) = (self.program.clone(), dir.clone());
        let spawn = move || {
            let exec_error = |source| LaunchError::Exec {
                program: program.clone(),
                source,
            };
            let log = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .mode(0o600)
                .open(dir.log_file())
                .map_err(exec_error)?;
            let mut command = Command::new(&program);
            command
                .arg("shim")
                .arg("--spec")
                .arg(dir.spec_file())
                .arg("--socket")
                .arg(dir.socket())
                .arg("--session-record")
                .arg(dir.session_record())
                .arg("--announce")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(log);
            // SAFETY: between fork and exec only `setsid`, a system call safe to make there.
            unsafe {
                command.pre_exec(|| nix::unistd::setsid().map(drop).map_err(Into::into));
            }
            command.spawn().map_err(exec_error)
        };
        let child = match tokio::task::spawn_blocking(spawn).await {
            Ok(spawned) => spawned?,
            Err(stopped) => {
                return Err(LaunchError::Exec {
                    program: self.program.clone(),
                    source: std::io::Error::other(stopped),
                });
            }
        };
        Ok(ShimProcess {
            child,
            reaped: false,
            fate: Fate::default(),
        })
    }

    /// Links to every shim process a server that did not stop left in the state directory,
    /// from the start of what each one's log holds, its events going into `events`. The
    /// processes are not this server's children: each counts as exited once its link ends. A
    /// shim whose process is gone (the host restarted, or it exited once the crashed server
    /// had its agent's end) is returned [`Leftover::Lost`], for the server to host dead
    /// ([`ShimLauncher::host_lost`]) or start again ([`ShimLauncher::restart`]); an unreadable
    /// directory is removed.
    pub async fn adopt_leftovers(
        &self,
        events: &Arc<EventLog>,
    ) -> Result<Vec<Leftover>, StateDirError> {
        let found = self.state.shims()?;
        let adoptions = found.into_iter().map(|found| async move {
            let (dir, spec, hosted) = match found {
                FoundShim::Spec { dir, spec, hosted } => (dir, spec, hosted),
                FoundShim::Unreadable { dir, reason } => {
                    tracing::warn!(path = %dir.path().display(), %reason, "removing a shim directory that cannot be read");
                    remove_dir(dir);
                    return None;
                }
            };
            let after_seq = spec.first_seq - 1;
            let linked = match link(&dir.socket(), shim_id_of(&spec), Arc::clone(events), after_seq)
                .await
            {
                Ok(linked) => linked,
                Err(error) => {
                    tracing::warn!(
                        shim = %crate::untrusted::Untrusted(&spec.id),
                        %error,
                        "a shim an earlier server left has no process to link to"
                    );
                    return Some(Leftover::Lost(LostShim {
                        dir,
                        spec,
                        hosted,
                        reason: format!(
                            "no shim process answered when this server started (the host \
                             restarted, or a stop shut its agent down): {error}"
                        ),
                    }));
                }
            };
            let (exited_tx, exited) = watch::channel(false);
            let ending = linked.ending();
            let fate = Fate::default();
            let kept = fate.clone();
            tokio::spawn(async move {
                let reason = ending.await;
                tracing::debug!(path = %dir.path().display(), %reason, "adopted shim gone");
                if !kept.keeps_dir() {
                    remove_dir(dir);
                }
                exited_tx.send_replace(true);
            });
            let started = StartedShim {
                linked,
                exited,
                fate,
            };
            Some(Leftover::Adopted(AdoptedShim::whole(spec, hosted, started)))
        });
        let found = futures_util::future::join_all(adoptions).await;
        Ok(found.into_iter().flatten().collect())
    }

    /// Hosts a lost shim dead ([`LinkedShim::lost`]: a warning saying why, and its death),
    /// its directory kept until the shim is deleted or the server shuts its shims down.
    pub fn host_lost(&self, lost: LostShim, events: &Arc<EventLog>) -> AdoptedShim {
        let LostShim {
            dir,
            spec,
            hosted,
            reason,
        } = lost;
        let linked = LinkedShim::lost(shim_id_of(&spec), Arc::clone(events), &reason);
        let (exited_tx, exited) = watch::channel(true);
        let fate = Fate::default();
        let kept = fate.clone();
        tokio::spawn(async move {
            // Until the shim is deleted, or the server stops: then its directory goes,
            // unless the stop keeps it for the next server.
            exited_tx.closed().await;
            if !kept.keeps_dir() {
                remove_dir(dir);
            }
        });
        let started = StartedShim {
            linked,
            exited,
            fate,
        };
        AdoptedShim::whole(spec, hosted, started)
    }

    /// Starts the agent of a lost shim again, in a new shim process in its directory: on the
    /// session of its CLI the lost one recorded (its conversation), else on a new one. The
    /// new process numbers its events past the lost one's ([`ShimSpec::first_seq`]). On
    /// failure the shim is returned, with what went wrong added to why it is lost.
    pub async fn restart(
        &self,
        lost: LostShim,
        events: &Arc<EventLog>,
    ) -> Result<AdoptedShim, LostShim> {
        let LostShim {
            dir,
            mut spec,
            hosted,
            reason,
        } = lost;
        let id = shim_id_of(&spec);
        let session = AgentSession::read_record(&dir.session_record());
        let (session, resumed) = match session {
            Ok(Some(session)) => {
                let said = format!("on its session {}", Untrusted(&session.id));
                (Some(session), said)
            }
            Ok(None) => (None, "on a new session: none was recorded".to_owned()),
            Err(error) => (None, format!("on a new session: {error}")),
        };
        spec.resume = session;
        spec.first_seq = first_seq_after_now();
        events.append(
            &id,
            Event::Warning {
                message: format!(
                    "{reason}; the agent was started again {resumed} (a turn it was in and \
                     messages queued then are lost)"
                ),
                idle_secs: None,
            },
        );
        let mut outcome = events.subscribe(events.last_seq(), Some(Arc::clone(&id)));
        let started = match dir.write_spec(&spec) {
            Ok(()) => self.start_in(&dir, &spec, Arc::clone(events)).await,
            Err(error) => Err(error.into()),
        };
        let started = match started {
            Ok(started) => started,
            Err(error) => {
                return Err(LostShim {
                    dir,
                    spec,
                    hosted,
                    reason: format!("{reason}; its agent could not be started again: {error}"),
                });
            }
        };
        if spec.resume.is_none() || !died_before_ready(&mut outcome).await {
            return Ok(AdoptedShim::whole(spec, hosted, started));
        }
        // The CLI could not resume its session (its log is gone, say): a new one, in a new
        // directory once the failed process has left its own.
        let mut failed = started.exited.clone();
        drop(started);
        let _ = tokio::time::timeout(START_TIMEOUT, failed.wait_for(|exited| *exited)).await;
        let session = spec.resume.take().map(|session| session.id);
        // The failed start, its death included, is not this shim's: its own stream starts
        // after it.
        let created_after_seq = events.last_seq();
        events.append(
            &id,
            Event::Warning {
                message: format!(
                    "{reason}; the agent could not resume its session {} (it ended before it \
                     was ready), so it was started again on a new session (a turn it was in \
                     and messages queued then are lost)",
                    Untrusted(&session.unwrap_or_default())
                ),
                idle_secs: None,
            },
        );
        spec.first_seq = first_seq_after_now();
        match self.start(&spec, &hosted, Arc::clone(events)).await {
            Ok(started) => Ok(AdoptedShim {
                spec,
                hosted,
                started,
                created_after_seq,
            }),
            Err(error) => Err(LostShim {
                dir,
                spec,
                hosted,
                reason: format!("{reason}; its agent could not be started again: {error}"),
            }),
        }
    }
}

/// How long a resumed agent may take to fail before it counts as resumed: a CLI that cannot
/// resume a session says so and exits at once (Claude Code and Codex with 1, Gemini CLI with
/// 42), while one that can may take a while to be ready.
const RESUME_FAILS_WITHIN: Duration = Duration::from_secs(15);

/// Whether the shim whose events `outcome` reads died before it was ready (waiting at most
/// [`RESUME_FAILS_WITHIN`]).
async fn died_before_ready(outcome: &mut Subscription) -> bool {
    let ended = async {
        while let Some(item) = outcome.next().await {
            match item {
                LogItem::Event(envelope) if matches!(envelope.event, Event::Ready) => return false,
                LogItem::Event(envelope) if matches!(envelope.event, Event::Died { .. }) => {
                    return true;
                }
                _ => {}
            }
        }
        false
    };
    tokio::time::timeout(RESUME_FAILS_WITHIN, ended)
        .await
        .unwrap_or(false)
}

/// A first seq for a shim started now in place of a lost one: microseconds since the Unix
/// epoch, past every seq the lost one (started earlier, and emitting far less than one event
/// a microsecond) can have given.
fn first_seq_after_now() -> u64 {
    crate::unix_time::now_unix_ms().saturating_mul(1000)
}

/// What a server finds of a shim an earlier server left.
#[derive(Debug)]
pub enum Leftover {
    /// Its process answered: linked again.
    Adopted(AdoptedShim),
    /// Its process is gone.
    Lost(LostShim),
}

/// A shim whose process is gone, and why it is counted lost.
#[derive(Debug)]
pub struct LostShim {
    pub dir: ShimDir,
    pub spec: Box<ShimSpec>,
    pub hosted: HostRecord,
    pub reason: String,
}

fn shim_id_of(spec: &ShimSpec) -> Arc<str> {
    Arc::from(spec.id.as_str())
}

/// A shim process an earlier server started, linked by this one (or lost).
#[derive(Debug)]
pub struct AdoptedShim {
    pub spec: Box<ShimSpec>,
    pub hosted: HostRecord,
    pub started: StartedShim,
    /// The log's seq before this shim's first event (0: all of its events are its own).
    pub created_after_seq: u64,
}

impl AdoptedShim {
    /// A shim all of whose events in the log are its own.
    fn whole(spec: Box<ShimSpec>, hosted: HostRecord, started: StartedShim) -> Self {
        Self {
            spec,
            hosted,
            started,
            created_after_seq: 0,
        }
    }
}

/// A shim process this server started; sent SIGTERM if dropped while it runs, unless left
/// running.
struct ShimProcess {
    child: Child,
    reaped: bool,
    fate: Fate,
}

impl ShimProcess {
    /// Waits for the process to exit, and reaps it.
    async fn wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        let status = self.child.wait().await;
        self.reaped = status.is_ok();
        status
    }

    /// Waits (bounded) for a process that failed to start to exit; says how it did.
    async fn wait_exit(&mut self) -> String {
        match tokio::time::timeout(START_TIMEOUT, self.wait()).await {
            Ok(Ok(status)) => status.to_string(),
            Ok(Err(error)) => format!("cannot wait for it: {error}"),
            Err(_) => "still running".to_owned(),
        }
    }
}

impl Drop for ShimProcess {
    fn drop(&mut self) {
        if self.reaped || self.fate.left_running() {
            return;
        }
        if let Some(pid) = self.child.id().and_then(|pid| i32::try_from(pid).ok()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
    }
}

/// The last lines of the shim process's log (its stderr), for an error.
fn log_tail(dir: &ShimDir) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut file) = std::fs::File::open(dir.log_file()) else {
        return "(no log)".to_owned();
    };
    let len = file.metadata().map(|meta| meta.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(len.saturating_sub(LOG_TAIL_BYTES)));
    let mut tail = Vec::new();
    let _ = file.read_to_end(&mut tail);
    let text = String::from_utf8_lossy(&tail);
    let text = text.trim();
    if text.is_empty() {
        "(empty)".to_owned()
    } else {
        text.to_owned()
    }
}

/// Removes a shim's directory, saying so when it cannot.
fn remove_dir(dir: ShimDir) {
    let path = dir.path().to_owned();
    if let Err(error) = dir.remove() {
        tracing::warn!(path = %path.display(), %error, "cannot remove a shim directory");
    }
}
