//! `/proc` probes of one process, and of a set of them (a server with its shim processes).

use std::path::Path;
use std::time::Duration;

/// A field of `/proc/PID/status` in kB (`VmRSS`, `VmHWM`, ...).
fn status_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("{field} of {pid}"))
}

/// Resident set size of `pid`, in kB.
pub fn rss_kb(pid: u32) -> u64 {
    status_kb(pid, "VmRSS")
}

/// Proportional set size of `pid` (`Pss` of `/proc/PID/smaps_rollup`), in kB: its resident
/// pages, each shared one divided by the number of processes sharing it. Summed over many
/// processes of one binary, it is what they cost together.
pub fn pss_kb(pid: u32) -> u64 {
    let rollup =
        std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).expect("smaps_rollup");
    rollup
        .lines()
        .find_map(|line| {
            line.strip_prefix("Pss:")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("Pss of {pid}"))
}

/// Threads of `pid`.
pub fn threads(pid: u32) -> u64 {
    status_kb(pid, "Threads")
}

/// User plus system CPU time `pid` has used (all its threads, not its children).
pub fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    // The command name (field 2) may hold spaces; the fields after its `)` are plain.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .expect("stat has a command name")
        .1
        .split_whitespace()
        .collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    // SAFETY: sysconf reads a constant of the system.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Duration::from_secs_f64(ticks as f64 / per_second)
}

/// Open file descriptors of `pid`.
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("fd dir")
        .count()
}

/// The children of `pid` whose command name is `comm`.
pub fn children_named(pid: u32, comm: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&child| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
                return false;
            };
            // `PID (COMM) STATE PPID ...`; the name may hold spaces and parentheses.
            let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
                return false;
            };
            let ppid = stat[close + 1..].split_whitespace().nth(1);
            &stat[open + 1..close] == comm && ppid == Some(pid.to_string().as_str())
        })
        .collect()
}

/// The proportional set sizes of `pids`, summed, in kB: what they cost together (see
/// [`pss_kb`]). A process that exited meanwhile counts nothing.
pub fn pss_kb_total(pids: &[u32]) -> u64 {
    pids.iter()
        .filter(|pid| Path::new(&format!("/proc/{pid}")).exists())
        .map(|&pid| pss_kb(pid))
        .sum()
}

/// The CPU time of `pids` (see [`cpu_time`]), summed.
pub fn cpu_time_total(pids: &[u32]) -> Duration {
    pids.iter().map(|&pid| cpu_time(pid)).sum()
}
