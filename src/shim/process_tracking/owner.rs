//! Which process owns a set of agents, in a form that outlives it: its pid, its start time
//! (the kernel never gives two processes of one boot the same pid and start time) and its pid
//! namespace (a pid means nothing in another one). Written into the names of the cgroups the
//! agents live in, so whoever finds them later can tell whether their owner still runs.

use std::fmt;

use super::procfs;

/// The identity of a process that owns agents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnerId {
    pid_namespace: u64,
    pid: i32,
    start_time: u64,
}

/// What every owner name starts with.
const PREFIX: &str = "owner-";

/// The variable every agent (and so, unless it clears its environment, everything it starts)
/// carries, naming its owner: how the fallback finds what a dead owner left.
pub const OWNER_VARIABLE: &str = "AGENTSHIM_OWNER";

impl OwnerId {
    /// This process.
    pub fn current() -> Option<Self> {
        let pid = std::process::id() as i32;
        Some(Self {
            pid_namespace: own_pid_namespace()?,
            pid,
            start_time: procfs::stat_of(pid)?.start_time,
        })
    }

    /// Parses a name made by `Display`: `owner-NAMESPACE-PID-START`.
    pub fn parse(name: &str) -> Option<Self> {
        let mut parts = name.strip_prefix(PREFIX)?.split('-');
        let owner = Self {
            pid_namespace: parts.next()?.parse().ok()?,
            pid: parts.next()?.parse().ok()?,
            start_time: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(owner)
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Whether this owner's state can be judged from here (its pid is one of our namespace).
    pub fn same_namespace_as(&self, other: &OwnerId) -> bool {
        self.pid_namespace == other.pid_namespace
    }

    /// Whether the owner still runs (a zombie does not: it owns nothing any more). Only
    /// meaningful for an owner of this pid namespace.
    pub fn is_alive(&self) -> bool {
        procfs::stat_of(self.pid)
            .is_some_and(|stat| stat.start_time == self.start_time && !stat.is_zombie())
    }
}

impl fmt::Display for OwnerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{PREFIX}{}-{}-{}",
            self.pid_namespace, self.pid, self.start_time
        )
    }
}

/// The owner named in the environment `pid` was started with, if any.
pub fn owner_in_environment(pid: i32) -> Option<OwnerId> {
    let environ = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    let prefix = format!("{OWNER_VARIABLE}=");
    environ
        .split(|byte| *byte == 0)
        .find_map(|entry| entry.strip_prefix(prefix.as_bytes()))
        .and_then(|value| OwnerId::parse(std::str::from_utf8(value).ok()?))
}

/// The inode of this process's pid namespace (`/proc/self/ns/pid` reads `pid:[INODE]`).
fn own_pid_namespace() -> Option<u64> {
    let link = std::fs::read_link("/proc/self/ns/pid").ok()?;
    link.to_str()?
        .strip_prefix("pid:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_this_process_is_alive() {
        let me = OwnerId::current().expect("own identity");
        assert!(me.is_alive());
        assert_eq!(OwnerId::parse(&me.to_string()), Some(me));
        let gone = OwnerId {
            start_time: me.start_time + 1,
            ..me
        };
        assert!(!gone.is_alive(), "same pid, other start time");
        assert!(me.same_namespace_as(&gone));
    }

    #[test]
    fn foreign_names_are_not_owners() {
        for name in [
            "agent-1",
            "owner-1-2",
            "owner-1-2-3-4",
            "owner-x-2-3",
            "owner--2-3",
        ] {
            assert_eq!(OwnerId::parse(name), None, "{name}");
        }
    }
}
