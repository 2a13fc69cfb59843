//! The agent starts with default signal dispositions even when the shim itself was started with
//! signals ignored, as a background job of a non-interactive shell is (SIGINT and SIGQUIT) or
//! a `nohup` command (SIGHUP). Otherwise the agent's commands would ignore the Ctrl-C of a
//! graceful shutdown and only the SIGKILL at its deadline would end them.
//!
//! This binary holds one test on purpose: it changes the dispositions of its own process.

use crate::support::shim as support;

use std::time::{Duration, Instant};

use crate::support::procs::{assert_all_gone, wait_for_foreground};
use agentshim::protocol::ShutdownReason;
use nix::sys::signal::{SigHandler, Signal, signal};
use support::{agent_pid, ready_bash};

/// Bit of `signal` in the `SigIgn` mask of `/proc/PID/status`.
fn mask_bit(signal: Signal) -> u64 {
    1 << (signal as i32 - 1)
}

/// The `SigIgn` mask of `pid`.
fn ignored_signals(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let mask = status
        .lines()
        .find_map(|line| line.strip_prefix("SigIgn:"))
        .expect("SigIgn line");
    u64::from_str_radix(mask.trim(), 16).expect("hex mask")
}

#[tokio::test]
async fn signals_ignored_by_the_shim_are_not_ignored_by_the_agent() {
    let inherited = [Signal::SIGINT, Signal::SIGQUIT, Signal::SIGHUP];
    for sig in inherited {
        // SAFETY: installs SIG_IGN, no handler code; this binary runs only this test.
        unsafe { signal(sig, SigHandler::SigIgn) }.expect("ignore signal");
    }
    let (shim, mut events) = ready_bash("signals").await;
    let pid = agent_pid(&shim).await;
    let busy = support::send(&shim, "sleep 1000").await;
    events.delivered(&busy).await;
    let sleep = wait_for_foreground(pid, "sleep").await;
    let ignored = ignored_signals(sleep.pid);
    for sig in inherited {
        assert_eq!(
            ignored & mask_bit(sig),
            0,
            "{sig} ignored: mask {ignored:x}"
        );
    }

    // So the Ctrl-C of a shutdown interrupts the command and bash leaves at once.
    let timeout = Duration::from_secs(10);
    let started = Instant::now();
    let code = shim
        .shutdown(timeout, ShutdownReason::Requested)
        .await
        .unwrap();
    let summary = events.died_summary().await;
    assert_eq!(code, Some(130), "{summary}");
    assert!(
        started.elapsed() < timeout / 2,
        "took {:?}",
        started.elapsed()
    );
    assert_all_gone(pid, &[sleep]).await;
}
