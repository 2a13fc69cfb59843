//! What the bench binaries share: `/proc` probes of a process (RSS, CPU time, open files), the
//! machine's load, a tmux server of the bench's own, percentiles, and a real `agentshim serve`
//! child. A bench uses the parts it needs, so an item unused by one bench is not dead.
#![allow(dead_code)]

pub mod procs;
pub mod serve;
pub mod tmux;

use std::time::Duration;

/// Rows of a full history in the benches.
pub const FILL_LINES: usize = 5000;
/// A shell command printing [`FILL_LINES`] full lines of 220 columns, then a line `filled-up`.
pub const FILL: &str = "yes 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ | tr -d '\\n' | fold -w 220 | head -n 5000; echo filled-up";

/// The `p`-th percentile (0–100) of `sorted` (ascending), nearest rank.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Milliseconds, for printing.
pub fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Prints what else the machine is doing (at a bench's start and end), so a reader can judge
/// the figures: the core count and `/proc/loadavg`.
pub fn print_load(when: &str) {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("{when}: {cores} cores, /proc/loadavg {}", load.trim());
}
