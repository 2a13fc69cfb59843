//! Every process an agent starts, wherever it goes, is tracked here, so that killing a shim
//! (or stopping the process that owns it) leaves nothing behind: not the `setsid` job whose
//! parent exited, not the `nohup` or disowned one, not the one that ignores SIGTERM.
//!
//! Where the host allows it (a writable cgroup v2 with `cgroup.kill`, Linux 5.14) each agent
//! starts in a cgroup of its own, joined between `fork` and `exec` so not even its first child
//! is outside; ending the agent writes `cgroup.kill`, which the kernel applies to every process
//! inside, whatever its parent, session or signal mask. The cgroups are
//! `OWN/agentshim/owner-PIDNS-PID-START/agent-N`, OWN being the cgroup this process started
//! in, so a later process can tell from the name alone whether the owner is gone
//! ([`owner::OwnerId`]) and [`sweep_dead_owners`] kills what a crashed owner left.
//!
//! Elsewhere (containers without a writable cgroup, non-root, `AGENTSHIM_CGROUP=off`) agents
//! and their owner are child subreapers and the trees are walked through `/proc` before the
//! agent is reaped ([`orphans`]); what a crashed owner left is found by the owner each agent
//! names in its environment (`AGENTSHIM_OWNER`, inherited by whatever it starts) and killed by
//! [`sweep_marked_leftovers`].
//!
//! [`own_agents`] is for the process that owns agents for its whole life (a shim process): it
//! adopts orphans where needed, and kills whatever is left when it is dropped.
//! [`sweep_leftovers`] is for the server, which starts the shim processes: at its start it
//! kills what dead owners left.

mod cgroup;
pub mod orphans;
mod owner;
pub mod procfs;

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cgroup::Cgroup;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
pub use owner::OWNER_VARIABLE;
use owner::OwnerId;

/// The variable that turns cgroups off (`off`), for hosts where they misbehave and for tests
/// of the fallback.
pub const CGROUP_VARIABLE: &str = "AGENTSHIM_CGROUP";

/// The cgroup under the owner's own that holds every owner's agents.
const AGENTSHIM_CGROUP: &str = "agentshim";

/// How long killed processes get to leave their cgroup before it is given up on.
const EMPTY_WITHIN: Duration = Duration::from_secs(10);

/// Why processes cannot be tracked the preferred way.
#[derive(Debug, thiserror::Error)]
pub enum TrackingError {
    #[error("no cgroup v2 file system is mounted")]
    NoCgroup2,
    #[error("cannot tell this process's cgroup v2 from /proc/self/cgroup")]
    UnknownOwnCgroup,
    #[error("{} has no cgroup.kill (Linux 5.14 or later is needed)", path.display())]
    NoCgroupKill { path: PathBuf },
    #[error("{} is not writable, so agents cannot be moved below it", path.display())]
    NotDelegated { path: PathBuf },
    #[error("cannot tell this process's pid and start time from /proc")]
    UnknownOwner,
    #[error("turned off by {CGROUP_VARIABLE}=off")]
    TurnedOff,
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot become a child subreaper: {0}")]
    Subreaper(#[source] std::io::Error),
}

/// How this process tracks its agents' processes; chosen once.
#[derive(Debug)]
enum Tracking {
    /// Each agent in a cgroup below `owner`.
    Cgroups {
        owner: Cgroup,
        next_agent: AtomicU64,
    },
    /// Subreapers and `/proc` walks.
    ProcessTree,
}

static TRACKING: OnceLock<Tracking> = OnceLock::new();

fn tracking() -> &'static Tracking {
    TRACKING.get_or_init(|| match owner_cgroup() {
        Ok(owner) => {
            tracing::info!(cgroup = %owner.path().display(), "agents run in cgroups of their own");
            Tracking::Cgroups {
                owner,
                next_agent: AtomicU64::new(1),
            }
        }
        Err(reason) => {
            tracing::info!(
                %reason,
                "no cgroup for agents: their processes are tracked as subreapers through /proc"
            );
            Tracking::ProcessTree
        }
    })
}

/// Whether agents of this process run in cgroups (chooses the tracking if nobody did yet).
pub fn uses_cgroups() -> bool {
    matches!(tracking(), Tracking::Cgroups { .. })
}

/// `OWN/agentshim` (created if missing), where every owner's cgroup is.
fn agentshim_cgroup() -> Result<Cgroup, TrackingError> {
    if std::env::var_os(CGROUP_VARIABLE).is_some_and(|value| value == "off") {
        return Err(TrackingError::TurnedOff);
    }
    let own = Cgroup::own()?;
    if !own.can_move_processes_out() {
        return Err(TrackingError::NotDelegated {
            path: own.path().join("cgroup.procs"),
        });
    }
    let agentshim = own.child(AGENTSHIM_CGROUP);
    agentshim.create()?;
    Ok(agentshim)
}

/// This process's cgroup for its agents, created and checked.
fn owner_cgroup() -> Result<Cgroup, TrackingError> {
    let owner = agentshim_cgroup()?.child(
        &OwnerId::current()
            .ok_or(TrackingError::UnknownOwner)?
            .to_string(),
    );
    owner.create()?;
    if !owner.can_kill() {
        let _ = owner.remove();
        return Err(TrackingError::NoCgroupKill {
            path: owner.path().join("cgroup.kill"),
        });
    }
    Ok(owner)
}

/// What tracks one agent's processes; made before the agent is spawned. Dropping it kills
/// whatever is still in the agent's cgroup and removes the cgroup once it is empty.
#[derive(Debug)]
pub struct AgentTracker {
    cgroup: Option<AgentCgroup>,
}

#[derive(Debug)]
struct AgentCgroup {
    cgroup: Cgroup,
    /// Its `cgroup.procs`, open until the agent has joined (written by the child).
    join: Option<File>,
}

impl AgentTracker {
    /// Prepares tracking for an agent about to be spawned: in cgroup mode, its cgroup.
    pub fn new() -> Result<Self, TrackingError> {
        let cgroup = match tracking() {
            Tracking::Cgroups { owner, next_agent } => {
                let n = next_agent.fetch_add(1, Ordering::Relaxed);
                let cgroup = owner.child(&format!("agent-{n}"));
                cgroup.create()?;
                let join = match cgroup.procs_for_joining() {
                    Ok(file) => file,
                    Err(error) => {
                        let _ = cgroup.remove();
                        return Err(error);
                    }
                };
                Some(AgentCgroup {
                    cgroup,
                    join: Some(join),
                })
            }
            Tracking::ProcessTree => None,
        };
        Ok(Self { cgroup })
    }

    /// What the agent runs between `fork` and `exec`: joining its cgroup, or becoming a child
    /// subreaper. Only async-signal-safe calls.
    pub fn in_child(&self) -> impl FnMut() -> std::io::Result<()> + Send + Sync + 'static {
        let join_fd = self
            .cgroup
            .as_ref()
            .and_then(|cgroup| cgroup.join.as_ref())
            .map(|file| file.as_raw_fd());
        move || match join_fd {
            Some(fd) => {
                // SAFETY: `fd` is open in the parent until the spawn returns, so in the child
                // too; `write` is async-signal-safe.
                let written = unsafe { nix::libc::write(fd, b"0".as_ptr().cast(), 1) };
                match written {
                    1 => Ok(()),
                    _ => Err(std::io::Error::last_os_error()),
                }
            }
            None => orphans::become_subreaper(),
        }
    }

    /// The agent has been spawned (or failed to be): the join file may close.
    pub fn spawned(&mut self) {
        if let Some(cgroup) = &mut self.cgroup {
            cgroup.join = None;
        }
    }

    /// SIGKILLs every process in the agent's cgroup (nothing without one).
    pub fn kill_all(&self) {
        if let Some(AgentCgroup { cgroup, .. }) = &self.cgroup
            && let Err(error) = cgroup.kill()
            && error.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(cgroup = %cgroup.path().display(), %error, "cannot kill the agent's cgroup");
        }
    }
}

impl Drop for AgentTracker {
    fn drop(&mut self) {
        let Some(AgentCgroup { cgroup, .. }) = self.cgroup.take() else {
            return;
        };
        let _ = cgroup.kill();
        let remove = move || {
            if cgroup.wait_unpopulated(EMPTY_WITHIN) {
                if let Err(error) = cgroup.remove() {
                    tracing::warn!(cgroup = %cgroup.path().display(), %error, "cannot remove the agent's cgroup");
                }
            } else {
                tracing::warn!(cgroup = %cgroup.path().display(), "processes still in the agent's cgroup {EMPTY_WITHIN:?} after it was killed");
            }
        };
        // Waiting is file system work: never on the caller's (an actor's) task.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(remove)),
            Err(_) => remove(),
        }
    }
}

/// Kills what owners that are gone left in their cgroups (a server that was SIGKILLed or
/// crashed), says so in the log, and removes their cgroups. Returns how many processes it
/// killed. Owners of another pid namespace are left alone (their liveness cannot be judged).
pub fn sweep_dead_owners() -> usize {
    let Ok(agentshim) = agentshim_cgroup() else {
        return 0;
    };
    let Some(me) = OwnerId::current() else {
        return 0;
    };
    let mut killed = 0;
    for (name, cgroup) in agentshim.children() {
        let Some(owner) = OwnerId::parse(&name) else {
            continue;
        };
        if owner == me || !owner.same_namespace_as(&me) || owner.is_alive() {
            continue;
        }
        let count = cgroup.process_count();
        if count > 0 {
            if let Err(error) = cgroup.kill() {
                tracing::warn!(cgroup = %cgroup.path().display(), %error, "cannot kill what a dead owner left");
                continue;
            }
            tracing::warn!(
                processes = count,
                owner_pid = owner.pid(),
                cgroup = %cgroup.path().display(),
                "killed the agent processes a previous agentshim left behind (it is gone)"
            );
            killed += count;
        }
        if cgroup.wait_unpopulated(EMPTY_WITHIN)
            && let Err(error) = cgroup.remove()
        {
            tracing::warn!(cgroup = %cgroup.path().display(), %error, "cannot remove a dead owner's cgroup");
        }
    }
    killed
}

/// The `AGENTSHIM_OWNER` value agents of this process carry.
pub fn owner_marker() -> Option<String> {
    OwnerId::current().map(|owner| owner.to_string())
}

/// Kills the live processes whose environment names an owner of this pid namespace that is
/// gone (what a SIGKILLed or crashed owner without cgroups left), never this process or its
/// ancestors (which may have been started from such an agent). Says so in the log; returns how
/// many it killed.
pub fn sweep_marked_leftovers() -> usize {
    let Some(me) = OwnerId::current() else {
        return 0;
    };
    let processes = procfs::live_processes();
    let mut ancestors = vec![me.pid()];
    let mut current = me.pid();
    while let Some(parent) = processes
        .iter()
        .find(|p| p.pid == current)
        .map(|p| p.parent)
    {
        if parent <= 0 || ancestors.contains(&parent) {
            break;
        }
        ancestors.push(parent);
        current = parent;
    }
    let mut killed = 0;
    for process in processes.iter().filter(|p| !ancestors.contains(&p.pid)) {
        let Some(owner) = owner::owner_in_environment(process.pid) else {
            continue;
        };
        if owner == me || !owner.same_namespace_as(&me) || owner.is_alive() {
            continue;
        }
        if kill(Pid::from_raw(process.pid), Signal::SIGKILL).is_ok() {
            tracing::warn!(
                pid = process.pid,
                owner_pid = owner.pid(),
                "killed an agent process a previous agentshim left behind (it is gone)"
            );
            killed += 1;
        }
    }
    killed
}

/// Held by the process that owns agents for its whole life (a shim process); see
/// [`own_agents`].
#[derive(Debug)]
pub struct OwnedAgents(());

/// Makes this process the owner of its agents' processes for its whole life: in the fallback,
/// the subreaper that kills and reaps what its agents leave. Dropping the result kills every
/// agent process still left. Call inside a tokio runtime, before the first agent is spawned.
pub fn own_agents() -> Result<OwnedAgents, TrackingError> {
    if !uses_cgroups() {
        orphans::adopt_orphans()?;
    }
    Ok(OwnedAgents(()))
}

/// Kills what owners that are gone left, tracked either way (the previous owner may have
/// tracked its agents the other way): for a process that starts owners (`agentshim serve`,
/// whose shim processes own the agents), once at its start.
pub fn sweep_leftovers() {
    sweep_dead_owners();
    sweep_marked_leftovers();
}

impl Drop for OwnedAgents {
    fn drop(&mut self) {
        let killed = match tracking() {
            Tracking::Cgroups { owner, .. } => {
                let count = owner.process_count();
                let _ = owner.kill();
                if owner.wait_unpopulated(EMPTY_WITHIN) {
                    let _ = owner.remove();
                }
                count
            }
            Tracking::ProcessTree => orphans::kill_descendants(),
        };
        if killed > 0 {
            tracing::warn!(processes = killed, "killed agent processes left at exit");
        }
    }
}
