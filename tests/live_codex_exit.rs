//! Ending the real Codex CLI (0.169.0) under agentshim leaves nothing behind: after `Kill` and
//! `Shutdown`, at the input box, in the middle of a turn, and while a shell command of the
//! model's runs (in Codex's sandbox, and for `Kill` also unsandboxed, in a session of its
//! own), no process is left of the agent's session, none has its cwd or executable in the
//! agent's HOME (Codex's helpers included), and no `codex app-server` daemon of that HOME
//! lives (the profile's `--no-daemon` keeps it off, with a config that does not; its pid files
//! are checked too). A graceful `Shutdown` ends Codex through its own exit keys (Ctrl+D, after
//! Ctrl+C when busy) with exit code 0, well before the SIGTERM step. Live only
//! (`scripts/live-agents.sh`); skipped loudly elsewhere.

use crate::support::fake_model;
use crate::support::live_agents;
use crate::support::live_codex;
use crate::support::live_shim::{Launch, LiveShim};
use crate::support::procs;

use std::io::Write;
use std::time::{Duration, Instant};

use crate::support::eventually::Poll;
use agentshim::protocol::{Event, ShutdownReason};
use fake_model::Reply;
use live_agents::AgentCli;
use live_agents::LIVE_TIMEOUT;
use live_codex::Mode;

/// Shutdown grace period: SIGTERM at half of it, SIGKILL at the end.
const GRACE: Duration = Duration::from_secs(30);

/// What is going on when the agent is ended.
#[derive(Clone, Copy, Debug)]
enum Activity {
    Idle,
    /// A reply that never comes (the status line shows `esc to interrupt`).
    Turn,
    /// A shell command of the model's (`sleep`) is running, in Codex's sandbox (bubblewrap).
    Command,
    /// The same without a sandbox (`sandbox_mode = "danger-full-access"`): the command runs
    /// in a session of its own, outside the agent's.
    UnsandboxedCommand,
}

/// How the agent is ended.
#[derive(Clone, Copy, Debug)]
enum Ending {
    Kill,
    Shutdown,
}

/// Starts Codex, brings it into `activity`, ends it, and checks the exit and what is left.
async fn end(test: &str, activity: Activity, ending: Ending) {
    if !live_codex::gate(test) {
        return;
    }
    let mut codex = LiveShim::start(
        AgentCli::Codex,
        test,
        Launch {
            codex_mode: Mode::Inline,
            ..Launch::default()
        },
        |agent| {
            if matches!(activity, Activity::UnsandboxedCommand) {
                unsandbox(agent);
            }
        },
    )
    .await;
    codex
        .events
        .wait_for_envelope("Ready", |e| matches!(e, Event::Ready))
        .await;
    match activity {
        Activity::Idle => {}
        Activity::Turn => {
            codex.server.push(Reply::hang());
            let id = codex.send("Wait for an answer that never comes").await;
            codex.events.delivered(&id).await;
            codex.wait_screen("esc to interrupt").await;
        }
        Activity::Command | Activity::UnsandboxedCommand => {
            codex.server.push(Reply::shell("sleep 300"));
            let id = codex.send("Run a long command").await;
            codex.events.delivered(&id).await;
            let home = codex.agent.home_path();
            let running = async || procs::process_in(home, |args| args.iter().any(|a| a == "300"));
            let ran = Poll::within(LIVE_TIMEOUT).until(running).await;
            assert!(ran.is_some(), "`sleep 300` never ran");
        }
    }
    let started = Instant::now();
    let code = match ending {
        Ending::Kill => codex.shim.kill().await,
        Ending::Shutdown => codex.shim.shutdown(GRACE, ShutdownReason::Requested).await,
    }
    .expect("the agent ends");
    let took = started.elapsed();
    let died = codex
        .events
        .wait_for_envelope("Died", |e| matches!(e, Event::Died { .. }))
        .await;
    let Event::Died { exit_code, .. } = died.event else {
        unreachable!()
    };
    assert_eq!(exit_code, code);
    let home = codex.agent.home_path();
    let left = procs::wait_gone(Duration::from_secs(10), || {
        procs::agent_leftovers(codex.pid, home)
    })
    .await;
    let _ = writeln!(
        std::io::stderr().lock(),
        "== {test}: {ending:?} during {activity:?}: exit code {code:?} after {:.2}s; left: {left:?}",
        took.as_secs_f64()
    );
    assert!(left.is_empty(), "processes left: {left:?}");
    assert!(daemon_pids(codex.agent.home_path()).is_empty());
    match ending {
        Ending::Kill => assert_eq!(code, Some(137)),
        Ending::Shutdown => {
            assert_eq!(code, Some(0), "Codex did not exit by itself");
            assert!(took < GRACE / 2, "needed the SIGTERM step ({took:?})");
        }
    }
}

/// Lets Codex run commands without its sandbox.
fn unsandbox(agent: &live_agents::LiveAgent) {
    let path = agent.home_path().join(".codex/config.toml");
    let config = std::fs::read_to_string(&path).expect("read config");
    let config = format!("sandbox_mode = \"danger-full-access\"\n{config}");
    std::fs::write(&path, config).expect("write config");
}

/// Pids of a `codex app-server` daemon started for this HOME that are still alive.
fn daemon_pids(home: &std::path::Path) -> Vec<i32> {
    let dir = home.join(".codex/app-server-daemon");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok()?.trim().parse().ok())
        .filter(|pid: &i32| std::path::Path::new(&format!("/proc/{pid}")).exists())
        .collect()
}

#[tokio::test]
async fn live_codex_kill_at_the_input_box_leaves_no_process() {
    end(
        "live_codex_kill_at_the_input_box_leaves_no_process",
        Activity::Idle,
        Ending::Kill,
    )
    .await;
}

#[tokio::test]
async fn live_codex_kill_during_a_turn_leaves_no_process() {
    end(
        "live_codex_kill_during_a_turn_leaves_no_process",
        Activity::Turn,
        Ending::Kill,
    )
    .await;
}

#[tokio::test]
async fn live_codex_kill_during_a_command_leaves_no_process() {
    end(
        "live_codex_kill_during_a_command_leaves_no_process",
        Activity::Command,
        Ending::Kill,
    )
    .await;
}

#[tokio::test]
async fn live_codex_kill_during_an_unsandboxed_command_leaves_no_process() {
    end(
        "live_codex_kill_during_an_unsandboxed_command_leaves_no_process",
        Activity::UnsandboxedCommand,
        Ending::Kill,
    )
    .await;
}

#[tokio::test]
async fn live_codex_shutdown_at_the_input_box_leaves_no_process() {
    end(
        "live_codex_shutdown_at_the_input_box_leaves_no_process",
        Activity::Idle,
        Ending::Shutdown,
    )
    .await;
}

#[tokio::test]
async fn live_codex_shutdown_during_a_turn_leaves_no_process() {
    end(
        "live_codex_shutdown_during_a_turn_leaves_no_process",
        Activity::Turn,
        Ending::Shutdown,
    )
    .await;
}

#[tokio::test]
async fn live_codex_shutdown_during_a_command_leaves_no_process() {
    end(
        "live_codex_shutdown_during_a_command_leaves_no_process",
        Activity::Command,
        Ending::Shutdown,
    )
    .await;
}
