//! The fake model server with each real CLI (Claude Code, Codex, Gemini CLI), configured as in
//! `shared/agents/REAL_AGENTS.md` with a temporary HOME: each answers a one-shot prompt from the
//! fake server and runs a scripted shell tool call. Only inside a private loopback-only network
//! namespace: run `scripts/live-agents.sh`. Elsewhere these tests are skipped loudly, or fail
//! when `AGENTSHIM_LIVE=1`. The TUIs are checked in `live_fake_model_tui.rs`, the wire formats
//! without any CLI in `fake_model_wire.rs`.

use crate::support::fake_model;
use crate::support::live_agents;

use std::io::Write;
use std::time::{Duration, Instant};

use fake_model::{FakeModelServer, Reply, Served};
use live_agents::{AgentCli, ClaudeAuth, LiveAgent};

/// Longest a one-shot CLI run may take (first start of a CLI on a loaded 2-core machine).
const LIVE_TIMEOUT: Duration = Duration::from_secs(180);

fn say(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// Runs `agent` in its one-shot mode on `prompt` (plus `extra` arguments), prints what it
/// wrote and what the server saw, and returns its output.
async fn run_print(
    server: &FakeModelServer,
    agent: &LiveAgent,
    prompt: &str,
    extra: &[&str],
) -> std::process::Output {
    let name = agent.cli.program_name();
    let mut args: Vec<String> = extra.iter().map(|a| a.to_string()).collect();
    args.extend(agent.print_args(prompt));
    let started = Instant::now();
    let child = agent.command(&args).output();
    let output = match tokio::time::timeout(LIVE_TIMEOUT, child).await {
        Ok(output) => output
            .unwrap_or_else(|e| panic!("{name}: cannot start {}: {e}", agent.program.display())),
        Err(_) => panic!(
            "{name}: no exit within {LIVE_TIMEOUT:?}\nserver saw:\n{}",
            server.summary()
        ),
    };
    say(&format!(
        "\n== live {name} {args:?}: exit {:?} after {:.2}s\n-- stdout:\n{}\n-- stderr:\n{}\n-- server saw:\n{}",
        output.status.code(),
        started.elapsed().as_secs_f64(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        server.summary()
    ));
    if let Some(dir) = std::env::var_os("AGENTSHIM_LIVE_DUMP") {
        let dir = std::path::Path::new(&dir).join(format!("{name}-{}", server.addr().port()));
        server.dump_requests(&dir).expect("dump requests");
        say(&format!("-- requests written to {}", dir.display()));
    }
    output
}

/// Runs `agent` in its one-shot mode on `prompt` and checks that the scripted reply reached
/// its stdout through a recorded main turn.
async fn one_shot(server: &FakeModelServer, agent: &LiveAgent, prompt: &str, reply: &str) {
    let name = agent.cli.program_name();
    server.push(Reply::text(reply));
    let output = run_print(server, agent, prompt, &[]).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let main = server
        .main_turns()
        .into_iter()
        .find(|r| r.user_text.as_deref().is_some_and(|t| t.contains(prompt)))
        .unwrap_or_else(|| panic!("{name}: no main turn with the prompt\n{}", server.summary()));
    assert_eq!(main.served, Served::Text(reply.into()));
    assert!(main.usage.is_some());
    assert!(stdout.contains(reply), "{name}: the reply is not on stdout");
    assert!(output.status.success(), "{name}: exit {:?}", output.status);
}

/// Scripts a shell call (`echo MARKER`) and then a text; checks that the CLI ran the command
/// and sent its output back in the next main turn, and printed the final text.
async fn shell_round_trip(server: &FakeModelServer, agent: &LiveAgent, extra: &[&str]) {
    let name = agent.cli.program_name();
    let marker = "fake-tool-output-4711";
    server.push(Reply::shell(format!("echo {marker}")));
    server.push(Reply::text("The command printed the marker."));
    let output = run_print(server, agent, "Run the echo command", extra).await;
    let turns = server.main_turns();
    assert!(
        turns.len() >= 2,
        "{name}: no main turn after the tool call\n{}",
        server.summary()
    );
    assert!(turns[0].served == Served::ShellCall(format!("echo {marker}")));
    let results = &turns[1].tool_results;
    assert!(
        results.iter().any(|r| r.contains(marker)),
        "{name}: the tool output is not in the next turn: {results:?}"
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("The command printed the marker."));
}

#[tokio::test]
async fn live_claude_print_mode_answers_from_fake_server() {
    if !live_agents::live_gate(
        "live_claude_print_mode_answers_from_fake_server",
        &[AgentCli::Claude],
    ) {
        return;
    }
    let server = FakeModelServer::start().await;
    let agent = live_agents::claude(&server.anthropic_base_url(), ClaudeAuth::ApiKey);
    one_shot(
        &server,
        &agent,
        "Say hi to the fake server",
        "Hi from the fake Anthropic API ✓",
    )
    .await;
    let main = &server.main_turns()[0];
    assert_eq!(main.api, fake_model::Api::Anthropic);
    assert!(
        main.stream && main.tools > 0,
        "Claude main turns stream and offer tools"
    );
}

#[tokio::test]
async fn live_codex_exec_answers_from_fake_server() {
    if !live_agents::live_gate(
        "live_codex_exec_answers_from_fake_server",
        &[AgentCli::Codex],
    ) {
        return;
    }
    let server = FakeModelServer::start().await;
    let agent = live_agents::codex(&server.openai_base_url());
    one_shot(
        &server,
        &agent,
        "Say hi to the fake server",
        "Hi from the fake Responses API ✓",
    )
    .await;
    let main = &server.main_turns()[0];
    assert_eq!(main.api, fake_model::Api::OpenAiResponses);
    assert_eq!(main.model.as_deref(), Some(live_agents::CODEX_MODEL));
}

#[tokio::test]
async fn live_gemini_print_mode_answers_from_fake_server() {
    if !live_agents::live_gate(
        "live_gemini_print_mode_answers_from_fake_server",
        &[AgentCli::Gemini],
    ) {
        return;
    }
    let server = FakeModelServer::start().await;
    let agent = live_agents::gemini(&server.gemini_base_url());
    one_shot(
        &server,
        &agent,
        "Say hi to the fake server",
        "Hi from the fake Gemini API ✓",
    )
    .await;
    assert_eq!(server.main_turns()[0].api, fake_model::Api::Gemini);
}

#[tokio::test]
async fn live_claude_runs_scripted_bash_tool_call() {
    if !live_agents::live_gate(
        "live_claude_runs_scripted_bash_tool_call",
        &[AgentCli::Claude],
    ) {
        return;
    }
    let server = FakeModelServer::start().await;
    let agent = live_agents::claude(&server.anthropic_base_url(), ClaudeAuth::ApiKey);
    shell_round_trip(&server, &agent, &[]).await;
}

#[tokio::test]
async fn live_codex_runs_scripted_exec_command_call() {
    if !live_agents::live_gate(
        "live_codex_runs_scripted_exec_command_call",
        &[AgentCli::Codex],
    ) {
        return;
    }
    let server = FakeModelServer::start().await;
    let agent = live_agents::codex(&server.openai_base_url());
    shell_round_trip(&server, &agent, &[]).await;
}

#[tokio::test]
async fn live_gemini_runs_scripted_shell_function_call() {
    if !live_agents::live_gate(
        "live_gemini_runs_scripted_shell_function_call",
        &[AgentCli::Gemini],
    ) {
        return;
    }
    let server = FakeModelServer::start().await;
    let agent = live_agents::gemini(&server.gemini_base_url());
    // Print mode offers no shell tool unless every tool is approved up front.
    shell_round_trip(&server, &agent, &["--yolo"]).await;
}
