//! The process table as `/proc` shows it: who is whose child, which session and process
//! group each process is in, and when it started (so a recycled pid is never mistaken for
//! the process that had it before). Read-only; signalling is left to the callers.

/// A process as `/proc/PID/stat` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    pub pid: i32,
    pub state: char,
    pub parent: i32,
    pub process_group: i32,
    pub session: i32,
    /// Clock ticks after the machine booted.
    pub start_time: u64,
}

impl ProcStat {
    pub fn is_zombie(&self) -> bool {
        self.state == 'Z'
    }
}

/// Every process, zombies included.
pub fn all_processes() -> Vec<ProcStat> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(stat_of)
        .collect()
}

/// Every live (not zombie) process.
pub fn live_processes() -> Vec<ProcStat> {
    let mut processes = all_processes();
    processes.retain(|process| !process.is_zombie());
    processes
}

/// The process now running as `pid`, if there is one.
pub fn stat_of(pid: i32) -> Option<ProcStat> {
    parse_stat(
        pid,
        &std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?,
    )
}

/// Pids of the live processes whose session id is `sid`.
pub fn session_members(sid: i32) -> Vec<i32> {
    live_processes()
        .into_iter()
        .filter(|process| process.session == sid)
        .map(|process| process.pid)
        .collect()
}

/// Pids of the live descendants of `root` in `processes`: its children, their children, and
/// so on.
pub fn descendants_in(processes: &[ProcStat], root: i32) -> Vec<i32> {
    let mut found = Vec::new();
    let mut parents = vec![root];
    while let Some(parent) = parents.pop() {
        for process in processes
            .iter()
            .filter(|p| p.parent == parent && !p.is_zombie())
        {
            found.push(process.pid);
            parents.push(process.pid);
        }
    }
    found
}

/// Pids of the live descendants of `root`.
pub fn descendants(root: i32) -> Vec<i32> {
    descendants_in(&all_processes(), root)
}

/// The fields of `/proc/PID/stat` text. The command name may contain spaces and parentheses,
/// so fields are counted after its closing `)`.
fn parse_stat(pid: i32, stat: &str) -> Option<ProcStat> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // After the name: state(3) ppid(4) pgrp(5) session(6) ... starttime(22).
    Some(ProcStat {
        pid,
        state: fields.first()?.chars().next()?,
        parent: fields.get(1)?.parse().ok()?,
        process_group: fields.get(2)?.parse().ok()?,
        session: fields.get(3)?.parse().ok()?,
        start_time: fields.get(19)?.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_fields_after_odd_command_names() {
        let stat = "4242 (we ird) name)) S 1 4241 4240 34816 4242 4194560 0 0 0 0 0 0 0 0 20 \
                    0 1 0 987654 1000 100";
        let parsed = parse_stat(4242, stat).unwrap();
        assert_eq!(
            (
                parsed.state,
                parsed.parent,
                parsed.process_group,
                parsed.session
            ),
            ('S', 1, 4241, 4240)
        );
        assert_eq!(parsed.start_time, 987654);
        assert_eq!(parse_stat(1, "garbage"), None);
        assert_eq!(parse_stat(1, "1 (short) S 0 1"), None);
    }

    #[test]
    fn this_process_is_found_with_its_start_time() {
        let me = stat_of(std::process::id() as i32).expect("own stat");
        assert!(!me.is_zombie());
        assert!(me.start_time > 0);
        assert!(
            all_processes().iter().any(|p| *p == me || p.pid == me.pid),
            "listed"
        );
    }
}
