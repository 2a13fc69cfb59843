//! The real CLIs resume their own conversation in a new shim after their process is gone (what
//! a server with a `resume = true` profile does after a host or pod restart): a first shim
//! records the CLI's session from its session log; the agent is SIGKILLed with all it started;
//! a second shim starts the same CLI with its resume option on that session (Claude Code
//! `--resume <id>`, Codex `resume <id>`, Gemini CLI `--resume <id>`), in the same HOME and cwd.
//! The request the fake model server receives for the next message holds the earlier prompt
//! and the earlier answer.
//!
//! Live: runs only inside a private loopback-only network namespace (`scripts/live-agents.sh`);
//! elsewhere it skips loudly, or fails with `AGENTSHIM_LIVE=1`.

use std::io::Write;

use crate::support::fake_model::Reply;
use crate::support::live_agents::{self, AgentCli};
use crate::support::live_shim::LiveShim;

const EARLIER_PROMPT: &str = "Remember the word kumquat.";
const EARLIER_ANSWER: &str = "Noted: the word is kumquat.";

async fn resumes_its_conversation(cli: AgentCli, test: &str) {
    if !live_agents::live_gate(test, &[cli]) {
        return;
    }
    let mut live = LiveShim::ready(cli, "resumed").await;
    live.server.push(Reply::text(EARLIER_ANSWER));
    let answer = live.ask(EARLIER_PROMPT).await;
    assert!(answer.contains(EARLIER_ANSWER), "{answer}");
    let first_pid = live.pid;

    let session = live.restart_resuming().await;
    assert_ne!(live.pid, first_pid, "a new agent process");
    live.server.push(Reply::text("It was kumquat."));
    let answer = live.ask("Which word did I ask you to remember?").await;
    assert!(answer.contains("It was kumquat."), "{answer}");
    let last = live.server.main_turns().pop().expect("a main turn");
    let sent = last.body.to_string();
    assert!(
        sent.contains(EARLIER_PROMPT) && sent.contains(EARLIER_ANSWER),
        "the resumed {} sent its earlier conversation:\n{sent}",
        cli.program_name()
    );
    let _ = writeln!(
        std::io::stderr().lock(),
        "== live {}: resumed session {} in a new process",
        cli.program_name(),
        session.id
    );
}

#[tokio::test]
async fn live_claude_resumes_its_conversation_in_a_new_process() {
    let test = "live_claude_resumes_its_conversation_in_a_new_process";
    resumes_its_conversation(AgentCli::Claude, test).await;
}

#[tokio::test]
async fn live_codex_resumes_its_conversation_in_a_new_process() {
    let test = "live_codex_resumes_its_conversation_in_a_new_process";
    resumes_its_conversation(AgentCli::Codex, test).await;
}

#[tokio::test]
async fn live_gemini_resumes_its_conversation_in_a_new_process() {
    let test = "live_gemini_resumes_its_conversation_in_a_new_process";
    resumes_its_conversation(AgentCli::Gemini, test).await;
}
