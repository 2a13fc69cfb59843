//! The real Gemini CLI (0.61.0) under agentshim, start and end of life, inside a private
//! loopback-only network namespace (`scripts/live-agents.sh`; elsewhere these tests skip
//! loudly, or fail with `AGENTSHIM_LIVE=1`):
//!
//! - Ready time under agentshim against the same CLI in tmux, side by side in one run (3 of
//!   each, alternating), printed as a table (a measurement, not an assertion);
//! - Kill, and Shutdown both at the prompt and in the middle of a turn, leave no process: not
//!   in the agent's session (Gemini relaunches itself as a child, which must be in that
//!   session) and none running in its HOME. A graceful Shutdown must end Gemini through its
//!   own exit keys (exit code 0), before any signal.

use crate::support::fake_model;
use crate::support::live_agents;
use crate::support::live_gemini_shim;
use crate::support::live_shim::LiveShim;
use crate::support::live_tmux;
use crate::support::procs;

use std::time::{Duration, Instant};

use crate::support::eventually::Poll;
use agentshim::protocol::{ShimState, ShutdownReason};
use fake_model::Reply;
use live_agents::AgentCli;
use live_gemini_shim::{gate, say, secs};

/// How long a graceful shutdown may take before SIGTERM (half of it) and SIGKILL.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn live_gemini_ready_time_agentshim_vs_tmux() {
    if !gate("live_gemini_ready_time_agentshim_vs_tmux") {
        return;
    }
    if !live_tmux::tmux_available() {
        assert!(!live_agents::live_required(), "tmux is needed");
        say("*** SKIPPED live_gemini_ready_time_agentshim_vs_tmux: tmux is not on PATH ***");
        return;
    }
    let mut rows = Vec::new();
    for run in 1..=3 {
        let gemini = LiveShim::ready(AgentCli::Gemini, "gemini").await;
        let shim_ready = gemini.ready_after;
        gemini.shim.kill().await.expect("kill");
        let (input_box, banner) = live_gemini_shim::tmux_ready_times(&gemini.server).await;
        rows.push(format!(
            "| {run} | {} | {} | {} |",
            secs(shim_ready),
            secs(banner),
            secs(input_box)
        ));
    }
    say(&format!(
        "\nlive gemini Ready time, s (agentshim: spawn → Ready event; tmux: start → banner and \
         input box on screen (configuration loaded, the same point), and → input box alone \
         (Gemini still initialising, prompts get queued); tmux polled every 100 ms)\n\
         | run | agentshim Ready | tmux banner + input | tmux input box only |\n|---|---|---|---|\n{}",
        rows.join("\n")
    ));
}

/// The agent's pid (its session id) and its processes, checking that all of them (Gemini and
/// the child it relaunches itself as) are in its session. Gemini runs short helpers (`git`,
/// `ps`) at startup; one caught between fork and exit may not be listed in the session yet, so
/// a process outside it counts only if it is still there after a few seconds.
async fn processes_of(gemini: &LiveShim) -> (u32, Vec<u32>) {
    let pid = gemini.shim.status().await.expect("status").pid;
    let home = gemini.agent.home_path();
    let outside = || {
        let session = agentshim::shim::process::session_members(pid as i32);
        procs::processes_in(home)
            .into_iter()
            .filter(|p| !session.contains(&(*p as i32)) && procs::is_live(*p))
            .collect::<Vec<u32>>()
    };
    let mut strays = outside();
    Poll::within(Duration::from_secs(5))
        .every(Duration::from_millis(100))
        .until(async || {
            strays.retain(|p| outside().contains(p));
            strays.is_empty().then_some(())
        })
        .await;
    assert!(
        strays.is_empty(),
        "processes in HOME outside the agent's session:\n{}",
        live_gemini_shim::describe(&strays)
    );
    let session = agentshim::shim::process::session_members(pid as i32);
    assert!(
        session.len() >= 2,
        "expected Gemini and its relaunched child in the session, found {session:?}"
    );
    (pid, procs::agent_leftovers(pid as i32, home))
}

async fn assert_all_gone(gemini: &LiveShim, pid: u32, what: &str) {
    let home = gemini.agent.home_path();
    let left = procs::wait_gone(Duration::from_secs(10), || {
        procs::agent_leftovers(pid as i32, home)
    })
    .await;
    assert!(left.is_empty(), "{what}: processes left: {left:?}");
}

#[tokio::test]
async fn live_gemini_kill_leaves_no_process() {
    if !gate("live_gemini_kill_leaves_no_process") {
        return;
    }
    let gemini = LiveShim::ready(AgentCli::Gemini, "gemini").await;
    let (pid, before) = processes_of(&gemini).await;
    let code = gemini.shim.kill().await.expect("kill");
    assert_eq!(code, Some(137), "SIGKILL");
    assert_all_gone(&gemini, pid, "kill").await;
    say(&format!(
        "live gemini kill: {} processes before ({before:?}), none after",
        before.len()
    ));
}

#[tokio::test]
async fn live_gemini_shutdown_at_prompt_exits_by_itself() {
    if !gate("live_gemini_shutdown_at_prompt_exits_by_itself") {
        return;
    }
    let gemini = LiveShim::ready(AgentCli::Gemini, "gemini").await;
    let (pid, before) = processes_of(&gemini).await;
    let asked = Instant::now();
    let code = gemini
        .shim
        .shutdown(SHUTDOWN_TIMEOUT, ShutdownReason::Requested)
        .await
        .expect("shutdown");
    let took = asked.elapsed();
    assert_eq!(code, Some(0), "Gemini exits by itself on Ctrl+C twice");
    assert!(
        took < SHUTDOWN_TIMEOUT / 2,
        "exited only after SIGTERM: {took:?}"
    );
    assert_all_gone(&gemini, pid, "shutdown at the prompt").await;
    say(&format!(
        "live gemini shutdown (idle): exit code 0 after {}s; {} processes before, none after",
        secs(took),
        before.len()
    ));
}

#[tokio::test]
async fn live_gemini_shutdown_while_working_exits_by_itself() {
    if !gate("live_gemini_shutdown_while_working_exits_by_itself") {
        return;
    }
    let mut gemini = LiveShim::ready(AgentCli::Gemini, "gemini").await;
    gemini.server.push(Reply::hang());
    let receipt = gemini
        .shim
        .send_message("test", "Never answered", None)
        .await
        .expect("send");
    assert!(!receipt.queued);
    gemini.events.state(ShimState::Working).await;
    assert_eq!(
        gemini.shim.state().await.expect("state").state,
        ShimState::Working
    );
    let (pid, _) = processes_of(&gemini).await;
    let asked = Instant::now();
    let code = gemini
        .shim
        .shutdown(SHUTDOWN_TIMEOUT, ShutdownReason::Requested)
        .await
        .expect("shutdown");
    let took = asked.elapsed();
    assert_eq!(code, Some(0), "Gemini cancels and exits on Ctrl+C");
    assert!(
        took < SHUTDOWN_TIMEOUT / 2,
        "exited only after SIGTERM: {took:?}"
    );
    assert_all_gone(&gemini, pid, "shutdown while working").await;
    say(&format!(
        "live gemini shutdown (working): exit code 0 after {}s",
        secs(took)
    ));
}
