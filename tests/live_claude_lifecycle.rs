//! The real Claude Code 2.1.197 under agentshim: start, dialogs, the context limit, and the end.
//!
//! - Ready only at the real prompt; a startup dialog (workspace trust) is a question
//!   (`InputRequested`, state `awaiting_input`) the shim never answers by itself; a message
//!   waits, and after `Answer` Claude starts and answers it;
//! - a turn that ends in `Context limit reached` gives `ContextExhausted`, no Completion, and
//!   further messages are refused;
//! - Kill, and Shutdown at the prompt, while waiting for the model, while a tool command runs
//!   (`sleep 300` through the Bash tool) and at a permission prompt, leave no process of the
//!   agent (its session, anything running from its HOME); Shutdown gets there through Claude's
//!   own exit (exit code 0), not a signal.
//!
//! Live: runs only inside a private loopback-only network namespace (`scripts/live-agents.sh`);
//! elsewhere it skips loudly, or fails with `AGENTSHIM_LIVE=1`.

use crate::support::fake_model;
use crate::support::live_agents;
use crate::support::live_shim;
use crate::support::procs;

use std::io::Write;
use std::time::Duration;

use crate::support::eventually::Poll;
use agentshim::protocol::{Event, ShimState, ShutdownReason};
use fake_model::{ErrorKind, Reply};
use live_agents::{AgentCli, ClaudeAuth, LIVE_TIMEOUT};
use live_shim::{Launch, LiveShim};

/// Long enough for Claude to exit by itself; SIGTERM comes at half of it.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(20);

fn gate(test: &str) -> bool {
    live_agents::live_gate(test, &[AgentCli::Claude])
}

fn say(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

fn is_warning(e: &Event) -> bool {
    matches!(e, Event::Warning { .. })
}

#[tokio::test]
async fn live_claude_is_ready_at_its_prompt() {
    if !gate("live_claude_is_ready_at_its_prompt") {
        return;
    }
    let claude = LiveShim::ready(AgentCli::Claude, "claude-ready").await;
    let took = claude.ready_after;
    say(&format!("== live claude: Ready after {took:.2?}"));
    assert_eq!(claude.shim.state().await.unwrap().state, ShimState::Idle);
    let screen = claude.shim.capture(None).await.unwrap().content;
    assert!(screen.contains("? for shortcuts"), "{screen}");
    assert_eq!(
        claude.events.count(is_warning),
        0,
        "{:#?}",
        claude.events.seen
    );
}

#[tokio::test]
async fn live_claude_startup_dialog_is_asked_and_answered() {
    if !gate("live_claude_startup_dialog_is_asked_and_answered") {
        return;
    }
    // Claude has not been told that its cwd is trusted.
    let untrusted = |agent: &live_agents::LiveAgent| {
        let mut config = live_agents::claude_json(&agent.cwd, ClaudeAuth::ApiKey);
        config["projects"] = serde_json::json!({});
        let path = agent.home_path().join(".claude.json");
        std::fs::write(path, config.to_string()).expect("write .claude.json");
    };
    let launch = Launch::default();
    let mut claude = LiveShim::start(AgentCli::Claude, "claude-trust", launch, untrusted).await;
    let asked = claude
        .events
        .wait_for("InputRequested", |e| {
            matches!(e, Event::InputRequested { .. })
        })
        .await;
    let Event::InputRequested { prompt, options } = asked else {
        unreachable!()
    };
    assert!(prompt.contains("Is this a project you created"), "{prompt}");
    assert_eq!(options, ["Yes, I trust this folder", "No, exit"]);
    assert_eq!(
        claude.shim.state().await.unwrap().state,
        ShimState::AwaitingInput
    );
    // Not answered: the dialog is still there, and a message waits instead of being typed.
    let receipt = claude
        .shim
        .send_message("test", "hello", None)
        .await
        .unwrap();
    assert!(receipt.queued);
    let screen = claude.shim.capture(None).await.unwrap().content;
    assert!(screen.contains("Yes, I trust this folder"), "{screen}");
    assert_eq!(claude.events.count(|e| matches!(e, Event::Ready)), 0);
    assert!(claude.server.main_turns().is_empty());
    // Answered: Claude starts, and the waiting message is delivered.
    claude
        .server
        .push(Reply::text("Hello after the trust dialog"));
    assert_eq!(
        claude.shim.answer(1).await.unwrap(),
        "Yes, I trust this folder"
    );
    claude.completion(&receipt.id).await;
}

#[tokio::test]
async fn live_claude_context_limit_ends_the_session() {
    if !gate("live_claude_context_limit_ends_the_session") {
        return;
    }
    let mut claude = LiveShim::ready(AgentCli::Claude, "claude-context").await;
    claude.server.push(Reply::text("Warm-up answer ✓"));
    assert_eq!(claude.ask("Warm up").await, "Warm-up answer ✓");
    claude
        .server
        .push(Reply::error(ErrorKind::ContextTooLong).forever());
    let id = claude.send("This one is too long").await;
    let event = claude
        .events
        .wait_for("ContextExhausted", |e| {
            matches!(e, Event::ContextExhausted { .. } | Event::Completion { .. })
        })
        .await;
    let Event::ContextExhausted { message, .. } = event else {
        panic!(
            "{event:?} instead of ContextExhausted\n{}",
            claude.report().await
        )
    };
    assert!(message.starts_with("Context limit reached"), "{message}");
    let completed =
        |e: &Event| matches!(e, Event::Completion { message_id: Some(m), .. } if *m == id);
    assert_eq!(claude.events.count(completed), 0);
    assert_eq!(
        claude.shim.state().await.unwrap().state,
        ShimState::ContextExhausted
    );
    assert!(
        claude
            .shim
            .send_message("test", "more", None)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn live_claude_shutdown_at_a_permission_prompt() {
    if !gate("live_claude_shutdown_at_a_permission_prompt") {
        return;
    }
    let mut claude = LiveShim::ready(AgentCli::Claude, "claude-permission").await;
    claude.server.push(Reply::shell("touch fake-tool-file.txt"));
    claude.send("Touch a file").await;
    claude
        .events
        .wait_for("InputRequested", |e| {
            matches!(e, Event::InputRequested { .. })
        })
        .await;
    assert_eq!(
        claude.shim.state().await.unwrap().state,
        ShimState::AwaitingInput
    );
    assert!(!claude.agent.cwd.join("fake-tool-file.txt").exists());
    stop(claude, Stop::Shutdown, "at a permission prompt").await;
}

/// How a test ends the agent.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Stop {
    Kill,
    Shutdown,
}

/// Ends the agent with `how` and checks that nothing of it is left; a Shutdown must end in
/// Claude's own exit (code 0) before the SIGTERM step.
async fn stop(mut claude: LiveShim, how: Stop, when: &str) {
    let status = claude.shim.status().await.unwrap();
    let code = match how {
        Stop::Kill => claude.shim.kill().await,
        Stop::Shutdown => {
            claude
                .shim
                .shutdown(SHUTDOWN_TIMEOUT, ShutdownReason::Requested)
                .await
        }
    }
    .expect("agent stopped");
    let died = claude
        .events
        .wait_for("Died", |e| matches!(e, Event::Died { .. }))
        .await;
    let home = claude.agent.home_path();
    let left = procs::wait_gone(Duration::from_secs(5), || {
        procs::agent_leftovers(status.pid as i32, home)
    })
    .await;
    say(&format!(
        "== live claude: {how:?} {when} (was {}): exit code {code:?}, left {left:?}",
        status.state.state
    ));
    assert!(
        left.is_empty(),
        "processes left after {how:?} {when}: {left:?}"
    );
    if how == Stop::Shutdown {
        assert_eq!(code, Some(0), "{died:?}\n{}", claude.report().await);
    }
}

#[tokio::test]
async fn live_claude_shutdown_at_the_prompt_leaves_no_process() {
    if !gate("live_claude_shutdown_at_the_prompt_leaves_no_process") {
        return;
    }
    let mut claude = LiveShim::ready(AgentCli::Claude, "claude-shutdown-idle").await;
    claude.server.push(Reply::text("Answered ✓"));
    assert_eq!(claude.ask("One message first").await, "Answered ✓");
    stop(claude, Stop::Shutdown, "at the prompt").await;
}

#[tokio::test]
async fn live_claude_shutdown_while_working_leaves_no_process() {
    if !gate("live_claude_shutdown_while_working_leaves_no_process") {
        return;
    }
    let mut claude = LiveShim::ready(AgentCli::Claude, "claude-shutdown-working").await;
    claude.server.push(Reply::hang());
    claude.send("Never answered").await;
    claude.events.state(ShimState::Working).await;
    stop(claude, Stop::Shutdown, "while working").await;
}

/// Waits until a process whose command line is `command` runs with its cwd in `home`.
async fn wait_for_process(home: &std::path::Path, command: &str) -> u32 {
    let running = async || procs::process_in(home, |args| args.join(" ") == command);
    Poll::within(LIVE_TIMEOUT)
        .until(running)
        .await
        .unwrap_or_else(|| panic!("`{command}` never ran in {}", home.display()))
}

/// Starts Claude and has it run `sleep 300` through its Bash tool; returns once it runs.
async fn running_tool(id: &str) -> LiveShim {
    let mut claude = LiveShim::ready(AgentCli::Claude, id).await;
    claude.server.push(Reply::shell("sleep 300"));
    claude.send("Run a long command").await;
    claude.events.state(ShimState::Working).await;
    let pid = wait_for_process(claude.agent.home_path(), "sleep 300").await;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let session = stat.rsplit(") ").next().and_then(|r| r.split(' ').nth(3));
    let claude_pid = claude.shim.status().await.unwrap().pid;
    say(&format!(
        "== live claude: the tool runs as pid {pid}, session {session:?} (claude: {claude_pid})"
    ));
    claude
}

#[tokio::test]
async fn live_claude_kill_while_a_tool_runs_leaves_no_process() {
    if !gate("live_claude_kill_while_a_tool_runs_leaves_no_process") {
        return;
    }
    let claude = running_tool("claude-kill").await;
    stop(claude, Stop::Kill, "while a tool runs").await;
}

#[tokio::test]
async fn live_claude_shutdown_while_a_tool_runs_leaves_no_process() {
    if !gate("live_claude_shutdown_while_a_tool_runs_leaves_no_process") {
        return;
    }
    let claude = running_tool("claude-shutdown-tool").await;
    stop(claude, Stop::Shutdown, "while a tool runs").await;
}
