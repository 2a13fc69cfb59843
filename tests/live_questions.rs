//! Live: each real CLI asks before running `touch` (a permission prompt). agentshim reports it
//! as `InputRequested` with the CLI's options in state `awaiting_input`, holds a message sent
//! meanwhile, and `Answer` picks an option the way the CLI expects: "yes" runs the command and
//! the turn completes; "no" completes the turn without the file.
//!
//! Runs only inside a private network namespace with the CLIs installed
//! (`scripts/live-agents.sh`); skipped loudly elsewhere.

use crate::support::fake_model;
use crate::support::live_agents;
use crate::support::live_shim;

use std::time::Duration;

use agentshim::protocol::{Event, ShimState};
use fake_model::Reply;
use live_agents::{AgentCli, ClaudeAuth};
use live_shim::{Launch, LiveShim, gate, test_signals};

/// The options each CLI offers for a command, in order, and which one refuses.
fn expected_options(cli: AgentCli) -> (Vec<&'static str>, u32) {
    match cli {
        AgentCli::Claude => (
            vec![
                "Yes",
                "Yes, and always allow access to work/ from this project",
                "No",
            ],
            3,
        ),
        AgentCli::Codex => (
            vec![
                "Yes, proceed (y)",
                "Yes, and don't ask again for commands that start with `touch approved.txt` (p)",
                "No, and tell Codex what to do differently (esc)",
            ],
            3,
        ),
        AgentCli::Gemini => (
            vec![
                "Allow once",
                "Allow for this session",
                "No, suggest changes (esc)",
            ],
            3,
        ),
    }
}

/// The scripted tool call that makes `cli` ask before touching `file`.
fn touch(cli: AgentCli, file: &str) -> Reply {
    match cli {
        AgentCli::Codex => Reply::shell_escalated(format!("touch {file}")),
        _ => Reply::shell(format!("touch {file}")),
    }
}

/// Asks for `touch FILE`, checks the question, answers `option`; the turn's Completion.
async fn ask_and_answer(agent: &mut LiveShim, file: &str, option: u32) -> String {
    agent.server.push(touch(agent.cli, file));
    agent
        .server
        .push(Reply::text(format!("Finished with {file}.")));
    let id = agent.send(&format!("Please touch {file}")).await;
    let (prompt, options) = agent.question().await;
    let screen = agent.screen().await;
    assert!(
        prompt.contains(&format!("touch {file}")),
        "{prompt}\n{screen}"
    );
    let (expected, _) = expected_options(agent.cli);
    let expected: Vec<String> = expected
        .iter()
        .map(|o| o.replace("approved.txt", file))
        .collect();
    assert_eq!(options, expected, "{screen}");
    assert_eq!(
        agent.shim.state().await.unwrap().state,
        ShimState::AwaitingInput
    );
    // A message sent now waits; it is never typed into the menu.
    let waiting = agent
        .shim
        .send_message("test", "A later message", None)
        .await
        .unwrap();
    assert!(waiting.queued, "a message was typed into the question");
    let chosen = agent.shim.answer(option).await.expect("answer");
    assert_eq!(chosen, options[option as usize - 1]);
    let (_, response) = agent.events.timed_completion_of(&id).await;
    // The held message is delivered after the turn.
    agent.events.timed_completion_of(&waiting.id).await;
    response
}

async fn approve_then_refuse(cli: AgentCli, test: &str) {
    if !gate(test, cli) {
        return;
    }
    let mut agent = LiveShim::ready_with(
        cli,
        test,
        Launch {
            auth: ClaudeAuth::ApiKey,
            signals: test_signals(Duration::from_secs(60)),
            ..Launch::default()
        },
    )
    .await;
    let approved = agent.agent.cwd.join("approved.txt");
    let response = ask_and_answer(&mut agent, "approved.txt", 1).await;
    assert!(
        approved.exists(),
        "approved, yet no file; answer: {response}\n{}",
        agent.screen().await
    );
    let (_, refuse) = expected_options(cli);
    let refused = agent.agent.cwd.join("refused.txt");
    let response = ask_and_answer(&mut agent, "refused.txt", refuse).await;
    assert!(
        !refused.exists(),
        "refused, yet the file exists; answer: {response}"
    );
    let asked = agent
        .events
        .count(|e| matches!(e, Event::InputRequested { .. }));
    assert_eq!(asked, 2, "one InputRequested per question");
}

#[tokio::test]
async fn live_claude_permission_prompt_is_asked_and_answered() {
    approve_then_refuse(
        AgentCli::Claude,
        "live_claude_permission_prompt_is_asked_and_answered",
    )
    .await;
}

#[tokio::test]
async fn live_codex_approval_is_asked_and_answered() {
    approve_then_refuse(AgentCli::Codex, "live_codex_approval_is_asked_and_answered").await;
}

#[tokio::test]
async fn live_gemini_tool_approval_is_asked_and_answered() {
    approve_then_refuse(
        AgentCli::Gemini,
        "live_gemini_tool_approval_is_asked_and_answered",
    )
    .await;
}
