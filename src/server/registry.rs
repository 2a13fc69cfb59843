//! The registry: shim id → handle, plus what the server knows about each shim (profile, agent,
//! creation time). It creates shims from profiles (applying a request's overrides and the
//! server's command policy), looks them up, forgets them, and shuts them all down when the
//! server stops. Every shim runs in a shim process of its own ([`super::shim_process`]),
//! linked to the server: a new shim's id is reserved under the lock, and its process started
//! and linked outside it, so a slow start never holds up the other RPCs. Every shim's events
//! come into the one server-wide event log.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::watch;

use super::ServiceError;
use super::admission::{check_cwd, check_env, check_id};
use super::config::Limits;
use super::link::LinkedShim;
use super::profiles::{Profiles, check_scrollback};
use super::recordings::{Recording, recording_spec};
use super::shim_process::{AdoptedShim, Fate, Leftover, ShimLauncher, StartedShim};
use super::state_dir::HostRecord;
use crate::metrics::shims::{LogMetrics, ShimLifetime};
use crate::protocol::ShimState;
use crate::protocol::ShutdownReason;
use crate::shim::events::EventLog;
use crate::shim::{AgentKind, ShimError, ShimHandle, ShimSpec, ShimStatus, StateReport};
use crate::untrusted::Untrusted;

/// A request to create a shim, already decoded from the wire.
#[derive(Debug, Clone, Default)]
pub struct CreateShim {
    /// Empty: generate one.
    pub id: String,
    /// Empty: the default profile.
    pub profile: String,
    pub cwd: Option<String>,
    pub env: Vec<(String, String)>,
    pub rows: Option<u16>,
    pub cols: Option<u16>,
    /// Rows of history, replacing the profile's.
    pub scrollback: Option<usize>,
    /// Replaces the profile's command (only with `allow_any_command`).
    pub command: Vec<String>,
    /// Record the shim's terminal, replacing the profile's `record`.
    pub record: Option<bool>,
}

/// One hosted shim.
#[derive(Debug)]
pub struct ShimEntry {
    pub handle: ShimHandle,
    /// The link to the shim process.
    pub link: LinkedShim,
    /// Turns true once the shim process has exited (and its directory is removed).
    process_exited: watch::Receiver<bool>,
    /// What becomes of the shim process and its directory when the server stops.
    fate: Fate,
    pub profile: String,
    pub agent: AgentKind,
    pub created_unix_ms: u64,
    /// The log's last seq just before this shim started: its events all come later, so a
    /// per-shim stream skips what an earlier shim with the same id left in the log.
    pub created_after_seq: u64,
    /// Where the shim's terminal is recorded, when it is.
    pub recording: Option<Recording>,
    /// Counts the shim in the metrics while the server hosts it.
    _counted: ShimLifetime,
    /// The log's last seq when the shim was removed (`None` while hosted): per-shim event
    /// streams end there.
    removed: watch::Sender<Option<u64>>,
}

impl ShimEntry {
    /// Tells when the shim is removed, with the log's last seq at that moment.
    pub fn removal(&self) -> watch::Receiver<Option<u64>> {
        self.removed.subscribe()
    }

    /// The shim's status, or once its shim process is gone (the link's end has put a `Died`
    /// in the log), what the server knows: `Dead`, with the agent's last pid.
    pub async fn status(&self) -> Result<ShimStatus, ShimError> {
        match self.handle.status().await {
            Err(ShimError::ShimGone) => Ok(ShimStatus {
                state: StateReport {
                    state: ShimState::Dead,
                    since: Duration::ZERO,
                },
                pid: self.link.pid,
                exit_code: None,
                queued_messages: 0,
                last_event_seq: self.link.last_appended(),
            }),
            other => other,
        }
    }
}

/// Resolves once the shim process `exited` tells of has exited.
async fn process_exit(mut exited: watch::Receiver<bool>) {
    let _ = exited.wait_for(|exited| *exited).await;
}

/// The shims under the registry's lock: those hosted, and the ids of those starting.
#[derive(Debug, Default)]
struct Hosted {
    shims: HashMap<String, Arc<ShimEntry>>,
    /// Ids taken by a CreateShim whose agent is being started (outside the lock).
    starting: HashSet<String>,
}

/// Every shim of the server.
#[derive(Debug)]
pub struct Registry {
    hosted: Mutex<Hosted>,
    events: Arc<EventLog>,
    /// The metrics observing `events`, where hosted shims are counted.
    metrics: Arc<LogMetrics>,
    profiles: Profiles,
    allow_any_command: bool,
    limits: Limits,
    launcher: ShimLauncher,
    /// Set once the server stops: no new shims.
    closing: std::sync::atomic::AtomicBool,
}

impl Registry {
    pub fn new(
        profiles: Profiles,
        events: Arc<EventLog>,
        metrics: Arc<LogMetrics>,
        allow_any_command: bool,
        limits: Limits,
        launcher: ShimLauncher,
    ) -> Self {
        Self {
            hosted: Mutex::new(Hosted::default()),
            events,
            metrics,
            profiles,
            allow_any_command,
            limits,
            launcher,
            closing: Default::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Hosted> {
        self.hosted
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The server-wide event log.
    pub fn events(&self) -> &Arc<EventLog> {
        &self.events
    }

    /// Starts a shim as `request` asks, within the server's policy.
    pub async fn create(&self, request: CreateShim) -> Result<Arc<ShimEntry>, ServiceError> {
        if self.closing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(ServiceError::Unavailable(
                "the server is shutting down".into(),
            ));
        }
        let profile_name = if request.profile.is_empty() {
            self.profiles
                .default_name()
                .map(str::to_owned)
                .ok_or_else(|| {
                    ServiceError::InvalidArgument(format!(
                        "this server has no default profile: name one of {}",
                        self.known_profiles()
                    ))
                })?
        } else {
            request.profile.clone()
        };
        let profile = self.profiles.get(&profile_name).ok_or_else(|| {
            ServiceError::InvalidArgument(format!(
                "unknown profile {} (known: {})",
                Untrusted(&profile_name),
                self.known_profiles()
            ))
        })?;
        if !request.command.is_empty() && !self.allow_any_command {
            return Err(ServiceError::PermissionDenied(
                "this server only runs its profiles' commands; start it with \
                 --allow-any-command to let clients choose the program"
                    .into(),
            ));
        }
        let id = if request.id.is_empty() {
            uuid::Uuid::new_v4().to_string()
        } else {
            check_id(&request.id)?;
            request.id.clone()
        };
        check_env(&profile_name, profile, &request.env, self.allow_any_command)?;
        let cwd = request
            .cwd
            .map(PathBuf::from)
            .or_else(|| profile.cwd.clone());
        if let Some(cwd) = &cwd {
            check_cwd(cwd)?;
        }
        let scrollback = request.scrollback.unwrap_or(profile.scrollback());
        check_scrollback(scrollback, &self.limits).map_err(ServiceError::InvalidArgument)?;
        let agent = profile
            .agent_kind()
            .map_err(|e| ServiceError::InvalidArgument(e.to_string()))?;
        let command = if request.command.is_empty() {
            &profile.command
        } else {
            &request.command
        };
        let (program, args) = command
            .split_first()
            .filter(|(program, _)| !program.is_empty())
            .ok_or_else(|| ServiceError::InvalidArgument("empty command".into()))?;
        let mut spec = ShimSpec::new(id.clone(), program, args)
            .agent(agent)
            .size(
                request.rows.unwrap_or(profile.rows()),
                request.cols.unwrap_or(profile.cols()),
            )
            .scrollback(scrollback)
            .history_bytes(self.limits.history_bytes_per_shim)
            .message_limits(self.limits.messages())
            .signals(
                profile
                    .signals()
                    .map_err(|e| ServiceError::InvalidArgument(e.to_string()))?,
            )
            .turn_signals(profile.turn_signals.unwrap_or(true));
        if let Some(cwd) = cwd {
            spec = spec.cwd(cwd);
        }
        for (key, value) in profile
            .env
            .iter()
            .chain(request.env.iter().map(|(k, v)| (k, v)))
        {
            spec = spec.env(key, value);
        }
        let reservation = self.reserve(&id)?;
        // The shim process is started without the lock: other RPCs go on meanwhile.
        let created_after_seq = self.events.last_seq();
        let record = HostRecord {
            profile: profile_name,
            created_unix_ms: crate::unix_time::now_unix_ms(),
        };
        spec.recording = recording_spec(
            profile,
            request.record,
            &self.launcher.state_dir().recordings(),
            &id,
            record.created_unix_ms,
        )?;
        let started = self
            .launcher
            .start(&spec, &record, Arc::clone(&self.events))
            .await?;
        let entry = self.entry(started, record, &spec, created_after_seq);
        let mut hosted = self.lock();
        reservation.release(&mut hosted);
        // Checked under the lock `shutdown_all` lists the shims under: a shim started while
        // the server began stopping is not left out of the stop.
        if self.closing.load(std::sync::atomic::Ordering::SeqCst) {
            let handle = entry.handle.clone();
            tokio::spawn(async move { handle.kill().await });
            return Err(ServiceError::Unavailable(
                "the server is shutting down".into(),
            ));
        }
        tracing::info!(shim = %Untrusted(&id), profile = %entry.profile, pid = entry.link.pid, "shim started");
        hosted.shims.insert(id, Arc::clone(&entry));
        Ok(entry)
    }

    /// The entry of a shim whose process is linked.
    fn entry(
        &self,
        started: StartedShim,
        record: HostRecord,
        spec: &ShimSpec,
        created_after_seq: u64,
    ) -> Arc<ShimEntry> {
        let id = Arc::from(started.linked.handle.id());
        let agent = spec.agent;
        let default_recordings = self.launcher.state_dir().recordings();
        Arc::new(ShimEntry {
            recording: spec
                .recording
                .as_ref()
                .map(|recording| Recording::of(recording, &default_recordings)),
            _counted: ShimLifetime::begin(&self.metrics, &id, agent),
            handle: started.linked.handle.clone(),
            link: started.linked,
            process_exited: started.exited,
            fate: started.fate,
            profile: record.profile,
            agent,
            created_unix_ms: record.created_unix_ms,
            created_after_seq,
            removed: watch::Sender::new(None),
        })
    }

    /// Takes `id` for a shim about to start, within the shim limit.
    fn reserve(&self, id: &str) -> Result<Reservation<'_>, ServiceError> {
        let mut hosted = self.lock();
        if hosted.shims.contains_key(id) || hosted.starting.contains(id) {
            return Err(ServiceError::AlreadyExists(id.to_owned()));
        }
        let count = hosted.shims.len() + hosted.starting.len();
        if count >= self.limits.max_shims {
            return Err(ServiceError::ResourceExhausted(format!(
                "this server hosts {count} shims, its limit (limits.max_shims); delete some first"
            )));
        }
        hosted.starting.insert(id.to_owned());
        Ok(Reservation {
            registry: self,
            id: Some(id.to_owned()),
        })
    }

    fn known_profiles(&self) -> String {
        self.profiles.names().collect::<Vec<_>>().join(", ")
    }

    /// The shim `id`; once the server is stopping, a shim it let go (running, for the next
    /// server) is Unavailable rather than not found.
    pub fn get(&self, id: &str) -> Result<Arc<ShimEntry>, ServiceError> {
        let found = self.lock().shims.get(id).cloned();
        match found {
            Some(entry) => Ok(entry),
            None if self.closing.load(std::sync::atomic::Ordering::SeqCst) => {
                Err(ServiceError::Unavailable(
                    "the server is stopping; try again when it is back".into(),
                ))
            }
            None => Err(ServiceError::NotFound(id.to_owned())),
        }
    }

    /// Every shim, ordered by creation time.
    pub fn list(&self) -> Vec<Arc<ShimEntry>> {
        let mut entries: Vec<_> = self.lock().shims.values().cloned().collect();
        entries.sort_by(|a, b| {
            (a.created_unix_ms, a.handle.id()).cmp(&(b.created_unix_ms, b.handle.id()))
        });
        entries
    }

    /// Kills the shim's agent (if alive) and forgets the shim.
    pub async fn remove(&self, id: &str) -> Result<(), ServiceError> {
        let entry = self.get(id)?;
        match entry.handle.kill().await {
            // The shim process is gone, and its agent with it.
            Ok(_) | Err(ShimError::ShimGone) => {}
            Err(error) => return Err(error.into()),
        }
        entry.removed.send_replace(Some(self.events.last_seq()));
        self.lock().shims.remove(id);
        if let Some(recording) = &entry.recording {
            recording.remove_with_shim();
        }
        Ok(())
    }

    /// Adopts the shim processes a server that did not stop (a crash, an upgrade) left in
    /// the state directory: they are hosted again as they are, with their ids, profiles and
    /// creation times. A shim whose process is gone (the host restarted) is started again on
    /// its agent's session when its profile says `resume = true`, else hosted dead. Call
    /// before serving.
    pub async fn adopt_leftovers(&self) {
        let leftovers = match self.launcher.adopt_leftovers(&self.events).await {
            Ok(leftovers) => leftovers,
            Err(error) => {
                tracing::warn!(%error, "cannot look for shims an earlier server left");
                return;
            }
        };
        let hosted = leftovers.into_iter().map(|leftover| async move {
            match leftover {
                Leftover::Adopted(adopted) => adopted,
                Leftover::Lost(lost) if self.resumes(&lost.hosted.profile) => {
                    match self.launcher.restart(lost, &self.events).await {
                        Ok(restarted) => restarted,
                        Err(lost) => self.launcher.host_lost(lost, &self.events),
                    }
                }
                Leftover::Lost(lost) => self.launcher.host_lost(lost, &self.events),
            }
        });
        for AdoptedShim {
            spec,
            hosted,
            started,
            created_after_seq,
        } in futures_util::future::join_all(hosted).await
        {
            let entry = self.entry(started, hosted, &spec, created_after_seq);
            let mut hosted = self.lock();
            if hosted.shims.contains_key(&spec.id) {
                tracing::warn!(shim = %Untrusted(&spec.id), "two shim directories hold this id; shutting the second down");
                let handle = entry.handle.clone();
                tokio::spawn(async move { handle.kill().await });
                continue;
            }
            tracing::info!(shim = %Untrusted(&spec.id), pid = entry.link.pid, "hosting a shim an earlier server started");
            hosted.shims.insert(spec.id.clone(), entry);
        }
    }

    /// Whether shims of `profile` are started again when their process is lost.
    fn resumes(&self, profile: &str) -> bool {
        self.profiles
            .get(profile)
            .is_some_and(|profile| profile.resume == Some(true))
    }

    /// Refuses new shims and lets every shim process go, running: its link is dropped, and it
    /// is no longer stopped when the server drops it. Their directories stay, for the next
    /// server on the state directory to adopt them.
    pub fn leave_all(&self) {
        self.closing
            .store(true, std::sync::atomic::Ordering::SeqCst);
        for (_, entry) in self.lock().shims.drain() {
            entry.fate.leave_running();
        }
    }

    /// Refuses new shims, shuts every shim down (reason `daemon_stop`) within `timeout`, then
    /// lets their processes go and waits (as long again) until they have exited. The
    /// directories of shims whose profile resumes stay, for the next server to start their
    /// agents again on their sessions.
    pub async fn shutdown_all(&self, timeout: Duration) {
        self.closing
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let entries = self.list();
        for entry in entries.iter().filter(|entry| self.resumes(&entry.profile)) {
            entry.fate.keep_dir();
        }
        let shutdowns = entries.iter().map(|entry| async move {
            let shim = Untrusted(entry.handle.id());
            match entry
                .handle
                .shutdown(timeout, ShutdownReason::DaemonStop)
                .await
            {
                Ok(exit_code) => {
                    tracing::info!(%shim, reason = ShutdownReason::DaemonStop.label(), ?exit_code, "shim shut down");
                }
                Err(ShimError::ShimGone) => tracing::debug!(%shim, "shim gone before the stop"),
                Err(error) => tracing::warn!(%shim, %error, "shim shutdown"),
            }
        });
        futures_util::future::join_all(shutdowns).await;
        // Dropping the entries drops their links: each shim process, its agent dead, exits.
        let exits: Vec<_> = entries
            .iter()
            .map(|entry| process_exit(entry.process_exited.clone()))
            .collect();
        drop(entries);
        self.lock().shims.clear();
        let waited = tokio::time::timeout(timeout, futures_util::future::join_all(exits)).await;
        if waited.is_err() {
            tracing::warn!("shim processes still running {timeout:?} after their shutdown");
        }
    }
}

/// An id taken for a starting shim; given back when dropped (the start failed) unless released
/// into the hosted shims.
struct Reservation<'a> {
    registry: &'a Registry,
    id: Option<String>,
}

impl Reservation<'_> {
    /// Ends the reservation under `hosted`, the caller's lock (the id becomes a hosted shim's).
    fn release(mut self, hosted: &mut Hosted) {
        if let Some(id) = self.id.take() {
            hosted.starting.remove(&id);
        }
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            self.registry.lock().starting.remove(&id);
        }
    }
}
