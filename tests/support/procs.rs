//! The one probe of processes through `/proc`, for tests that check what runs and what is
//! gone: a process named by pid and start time (so a recycled pid is not mistaken for it), the
//! fields of its `stat`, what is left of an agent (its session, its process group, anything
//! running in its HOME), and waits until processes and sessions are gone or a job is in the
//! foreground.

use std::path::Path;
use std::time::Duration;

use agentshim::shim::process::session_members;
use agentshim::shim::process_tracking::procfs;

use super::eventually::{Poll, eventually};

/// A process identified by pid and start time, so a recycled pid is not mistaken for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proc {
    pub pid: i32,
    start_time: u64,
}

/// The fields of `/proc/PID/stat` these tests look at.
#[derive(Debug, Clone)]
struct Stat {
    comm: String,
    state: char,
    ppid: i32,
    pgrp: i32,
    session: i32,
    /// Foreground process group of the controlling terminal.
    tpgid: i32,
    start_time: u64,
}

impl Stat {
    /// Reads `/proc/PID/stat`; fields are counted after the command name's closing `)`, since
    /// the name may contain spaces and parentheses.
    fn of(pid: i32) -> Option<Self> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let (open, close) = (stat.find('(')?, stat.rfind(')')?);
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        // After the name: state ppid pgrp session tty_nr tpgid ..., starttime is field 22.
        let number = |index: usize| fields.get(index)?.parse().ok();
        Some(Self {
            comm: stat[open + 1..close].to_owned(),
            state: fields.first()?.chars().next()?,
            ppid: number(1)?,
            pgrp: number(2)?,
            session: number(3)?,
            tpgid: number(5)?,
            start_time: number(19)?.try_into().ok()?,
        })
    }
}

impl Proc {
    /// The process now running as `pid`, if any (zombies do not count).
    pub fn of(pid: i32) -> Option<Self> {
        let stat = Stat::of(pid)?;
        (stat.state != 'Z').then_some(Self {
            pid,
            start_time: stat.start_time,
        })
    }

    /// The process now running as `pid`; panics if there is none.
    pub fn running(pid: u32) -> Self {
        let pid = pid as i32;
        Self::of(pid).unwrap_or_else(|| panic!("process {pid} is not running"))
    }

    /// True while this very process exists, zombie or not (a zombie was never reaped).
    pub fn exists(&self) -> bool {
        Stat::of(self.pid).is_some_and(|stat| stat.start_time == self.start_time)
    }

    /// True while this very process exists and is not a zombie.
    pub fn is_running(&self) -> bool {
        Self::of(self.pid).is_some_and(|now| now == *self)
    }

    /// Its session id, while it runs.
    pub fn session(&self) -> Option<i32> {
        self.is_running()
            .then(|| Stat::of(self.pid).map(|stat| stat.session))
            .flatten()
    }

    /// Its parent's pid, while it runs (an agent's: its shim process).
    pub fn parent(&self) -> Option<i32> {
        self.is_running()
            .then(|| Stat::of(self.pid).map(|stat| stat.ppid))
            .flatten()
    }
}

/// Waits until no live process is left in session `sid` and none of `procs` runs; panics
/// naming the survivors otherwise.
pub async fn assert_all_gone(sid: i32, procs: &[Proc]) {
    let survivors = || -> Vec<&Proc> { procs.iter().filter(|p| p.is_running()).collect() };
    eventually(
        || {
            let members = session_members(sid);
            format!(
                "session {sid} still has {members:?}; still running: {:?}",
                survivors()
            )
        },
        || (session_members(sid).is_empty() && survivors().is_empty()).then_some(()),
    )
    .await;
}

/// Waits until none of `procs` exists any more (reaped, not only dead), and no live process is
/// left in their sessions (each agent leads its own session).
pub async fn assert_gone(procs: &[Proc]) {
    let left = || -> Vec<&Proc> { procs.iter().filter(|p| p.exists()).collect() };
    let members = || -> Vec<i32> { procs.iter().flat_map(|p| session_members(p.pid)).collect() };
    eventually(
        || {
            format!(
                "still present: {:?}; sessions still hold {:?}",
                left(),
                members()
            )
        },
        || (left().is_empty() && members().is_empty()).then_some(()),
    )
    .await;
}

/// Waits until a process named `comm` of session `sid` is the terminal's foreground job, so a
/// Ctrl-C typed now reaches it rather than the shell that is about to start it.
pub async fn wait_for_foreground(sid: i32, comm: &str) -> Proc {
    let find = || {
        session_members(sid)
            .into_iter()
            .find(|&pid| Stat::of(pid).is_some_and(|s| s.comm == comm && s.pgrp == s.tpgid))
    };
    let pid = eventually(
        || format!("no {comm} in the foreground of session {sid}"),
        find,
    )
    .await;
    Proc::of(pid).expect("foreground job still running")
}

/// Whether `pid` exists and is not a zombie.
pub fn is_live(pid: u32) -> bool {
    procfs::stat_of(pid as i32).is_some_and(|stat| !stat.is_zombie())
}

/// Live members of process group `pgid`.
pub fn group_members(pgid: i32) -> Vec<u32> {
    procfs::live_processes()
        .into_iter()
        .filter(|process| process.process_group == pgid)
        .map(|process| process.pid as u32)
        .collect()
}

/// Pids of processes whose working directory or executable lies under `dir` (an agent's HOME):
/// what is left of a CLI and its helpers, whatever session they moved to.
pub fn processes_in(dir: &Path) -> Vec<u32> {
    procfs::live_processes()
        .into_iter()
        .map(|process| process.pid as u32)
        .filter(|pid| {
            ["cwd", "exe"].iter().any(|link| {
                std::fs::read_link(format!("/proc/{pid}/{link}")).is_ok_and(|p| p.starts_with(dir))
            })
        })
        .collect()
}

/// A process running in `dir` (see [`processes_in`]) whose command line's arguments satisfy
/// `wanted`.
pub fn process_in(dir: &Path, wanted: impl Fn(&[String]) -> bool) -> Option<u32> {
    processes_in(dir).into_iter().find(|pid| {
        std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|line| {
            let args: Vec<String> = line
                .split(|b| *b == 0)
                .filter(|arg| !arg.is_empty())
                .map(|arg| String::from_utf8_lossy(arg).into_owned())
                .collect();
            wanted(&args)
        })
    })
}

/// What still runs of an agent that led session `session` with HOME `home`: the members of its
/// session and anything whose cwd or executable is in its HOME, sorted.
pub fn agent_leftovers(session: i32, home: &Path) -> Vec<u32> {
    let mut pids: Vec<u32> = session_members(session)
        .into_iter()
        .map(|pid| pid as u32)
        .chain(processes_in(home))
        .filter(|pid| is_live(*pid))
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// Waits up to `limit` for `left()` (e.g. [`agent_leftovers`]) to be empty, checking every
/// 50 ms; what is left then. For tests that report survivors as a figure rather than fail at
/// once.
pub async fn wait_gone(limit: Duration, left: impl Fn() -> Vec<u32>) -> Vec<u32> {
    Poll::within(limit)
        .every(Duration::from_millis(50))
        .until(async || left().is_empty().then_some(()))
        .await
        .map_or_else(left, |()| Vec::new())
}
