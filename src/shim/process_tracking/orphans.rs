//! Orphans, tracked by parentage where no cgroup can hold them: each agent is made a child
//! subreaper (between `fork` and `exec`; the attribute survives `exec`), so whatever its
//! descendants leave behind when their parents exit is re-parented to the agent and stays in
//! its tree, where a walk finds it before the agent is killed. The process that owns the
//! agents ([`adopt_orphans`], `agentshim serve`) is a subreaper too, so what an agent leaves
//! when it dies comes to it rather than to init: every such process is a remnant of a dead
//! agent (a live agent keeps its own orphans), and is killed and reaped.
//!
//! Reaping must not steal an exit status tokio waits for: the pids this process spawned as
//! agents are registered (under a lock held across the `fork`, so no child of ours is ever
//! unregistered while the reaper looks) until tokio has reaped them, and the reaper waits only
//! on the other children, by pid.

use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard};

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::Pid;

use super::TrackingError;
use super::procfs;

/// Pids this process spawned as agents and has not reaped yet.
static SPAWNED: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

fn spawned_pids() -> MutexGuard<'static, BTreeSet<i32>> {
    SPAWNED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Held across the spawn of an agent; registers its pid.
pub struct Spawning(MutexGuard<'static, BTreeSet<i32>>);

impl Spawning {
    /// Locks the registry for a spawn.
    pub fn start() -> Self {
        Self(spawned_pids())
    }

    /// The agent was spawned as `pid`.
    pub fn spawned(mut self, pid: i32) {
        self.0.insert(pid);
    }
}

/// The agent `pid` has been reaped (by tokio): its pid may now belong to anyone.
pub fn reaped(pid: i32) {
    spawned_pids().remove(&pid);
}

/// Makes this process a child subreaper. Async-signal-safe, for the agent between `fork` and
/// `exec`.
pub fn become_subreaper() -> std::io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    match unsafe { nix::libc::prctl(nix::libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

/// Makes this process the subreaper of everything its agents leave behind, and starts the
/// task that kills and reaps what it adopts (on every SIGCHLD). Call inside a tokio runtime,
/// in a process that owns agents for its whole life.
pub fn adopt_orphans() -> Result<(), TrackingError> {
    become_subreaper().map_err(TrackingError::Subreaper)?;
    let mut child_exited = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::child())
        .map_err(TrackingError::Subreaper)?;
    tokio::spawn(async move {
        loop {
            let _ = tokio::task::spawn_blocking(end_adopted).await;
            if child_exited.recv().await.is_none() {
                break;
            }
        }
    });
    Ok(())
}

/// Kills the children this process adopted (with their descendants) and reaps the dead
/// ones; the agents it spawned are left to tokio. Returns how many it killed.
pub fn end_adopted() -> usize {
    let spawned = spawned_pids();
    let me = std::process::id() as i32;
    let processes = procfs::all_processes();
    let mut killed = 0;
    for child in processes
        .iter()
        .filter(|p| p.parent == me && !spawned.contains(&p.pid))
    {
        if child.is_zombie() {
            let _ = waitpid(Pid::from_raw(child.pid), Some(WaitPidFlag::WNOHANG));
            continue;
        }
        for pid in procfs::descendants_in(&processes, child.pid)
            .into_iter()
            .chain([child.pid])
        {
            if kill(Pid::from_raw(pid), Signal::SIGKILL).is_ok() {
                killed += 1;
            }
        }
    }
    killed
}

/// SIGKILLs every live descendant of this process, again until none is left (what a killed
/// process forked meanwhile comes back to a subreaper), at most a few rounds. Returns how many
/// it killed.
pub fn kill_descendants() -> usize {
    let me = std::process::id() as i32;
    let mut killed = 0;
    for _ in 0..8 {
        let found = procfs::descendants(me);
        if found.is_empty() {
            break;
        }
        for pid in found {
            if kill(Pid::from_raw(pid), Signal::SIGKILL).is_ok() {
                killed += 1;
            }
        }
        std::thread::yield_now();
    }
    killed
}
