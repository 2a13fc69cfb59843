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
//! sends it SIGTERM, which shuts its agent down, unless it let the process go ([`Release`]:
//! a stop that leaves the shims running). Shim processes a server that did not stop
//! left in its state directory are adopted by the next server on that directory when it
//! starts ([`ShimLauncher::adopt_leftovers`]): linked again, their agents, queues and logs as
//! they are; a shim whose process is gone is hosted dead, its directory kept until it is
//! deleted.

use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;

use super::link::{LinkError, LinkedShim, link};
use super::state_dir::{FoundShim, HostRecord, ShimDir, StateDir, StateDirError};
use crate::protocol::link::StartReport;
use crate::shim::events::EventLog;
use crate::shim::{ShimError, ShimSpec};

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
    /// Lets the process go, running, when the server stops.
    pub release: Release,
}

/// Lets a shim process this server started go: once released, it is not sent SIGTERM when
/// the server drops it (it keeps running for the next server to adopt).
#[derive(Debug, Clone, Default)]
pub struct Release(Arc<AtomicBool>);

impl Release {
    pub fn release(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn is_released(&self) -> bool {
        self.0.load(Ordering::SeqCst)
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
        let mut process = self.spawn(dir)?;
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
        let linked = link(&dir.socket(), Arc::from(spec.id.as_str()), events, 0).await?;
        let (exited_tx, exited) = watch::channel(false);
        let release = process.release.clone();
        let dir = dir.clone();
        tokio::spawn(async move {
            let status = process.wait().await;
            tracing::debug!(path = %dir.path().display(), ?status, "shim process exited");
            remove_dir(dir);
            exited_tx.send_replace(true);
        });
        Ok(StartedShim {
            linked,
            exited,
            release,
        })
    }

    /// Starts `agentshim shim` for the spec in `dir`, in a session of its own.
    fn spawn(&self, dir: &ShimDir) -> Result<ShimProcess, LaunchError> {
        let exec_error = |source| LaunchError::Exec {
            program: self.program.clone(),
            source,
        };
        let log = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(dir.log_file())
            .map_err(exec_error)?;
        let mut command = Command::new(&self.program);
        command
            .arg("shim")
            .arg("--spec")
            .arg(dir.spec_file())
            .arg("--socket")
            .arg(dir.socket())
            .arg("--announce")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log);
        // SAFETY: between fork and exec only `setsid`, a system call safe to make there.
        unsafe {
            command.pre_exec(|| nix::unistd::setsid().map(drop).map_err(Into::into));
        }
        let child = command.spawn().map_err(exec_error)?;
        Ok(ShimProcess {
            child,
            reaped: false,
            release: Release::default(),
        })
    }

    /// Links to every shim process a server that did not stop left in the state directory,
    /// from the start of what each one's log holds, its events going into `events`. The
    /// processes are not this server's children: each counts as exited once its link ends. A
    /// shim whose process is gone (the host restarted, or it exited once the crashed server
    /// had its agent's end) is adopted lost ([`LinkedShim::lost`]: reported dead), its
    /// directory kept until the shim is deleted or the server shuts its shims down; an
    /// unreadable directory is removed.
    pub async fn adopt_leftovers(
        &self,
        events: &Arc<EventLog>,
    ) -> Result<Vec<AdoptedShim>, StateDirError> {
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
            let release = Release::default();
            let (linked, exited) =
                match link(&dir.socket(), shim_id_of(&spec), Arc::clone(events), 0).await {
                    Ok(linked) => {
                        let (exited_tx, exited) = watch::channel(false);
                        let ending = linked.ending();
                        tokio::spawn(async move {
                            let reason = ending.await;
                            tracing::debug!(path = %dir.path().display(), %reason, "adopted shim gone");
                            remove_dir(dir);
                            exited_tx.send_replace(true);
                        });
                        (linked, exited)
                    }
                    Err(error) => {
                        tracing::warn!(
                            shim = %crate::untrusted::Untrusted(&spec.id),
                            %error,
                            "a shim an earlier server left has no process to link to; it is reported dead"
                        );
                        let reason =
                            format!("no shim process answered when this server started: {error}");
                        let linked =
                            LinkedShim::lost(shim_id_of(&spec), Arc::clone(events), &reason);
                        let (exited_tx, exited) = watch::channel(true);
                        let kept = release.clone();
                        tokio::spawn(async move {
                            // Until the shim is deleted, or the server stops: then its
                            // directory goes, unless the stop leaves the shims to the next
                            // server.
                            exited_tx.closed().await;
                            if !kept.is_released() {
                                remove_dir(dir);
                            }
                        });
                        (linked, exited)
                    }
                };
            Some(AdoptedShim {
                spec,
                hosted,
                started: StartedShim {
                    linked,
                    exited,
                    release,
                },
            })
        });
        let adopted = futures_util::future::join_all(adoptions).await;
        Ok(adopted.into_iter().flatten().collect())
    }
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
}

/// A shim process this server started; sent SIGTERM if dropped while it runs, unless
/// released.
struct ShimProcess {
    child: Child,
    reaped: bool,
    release: Release,
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
        if self.reaped || self.release.is_released() {
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
