//! The real Claude Code 2.1.197 with `agentshim mcp` as its MCP server (issue 16 §5, live): a
//! Claude shim started with `--mcp-config` naming the built `agentshim mcp`, connected to a
//! real agentshim server that holds a bash shim `worker`. The fake model scripts a `tool_use`
//! of `mcp__agentshim__send` asking the worker to run `echo mcp-$((6*7))`, then a text answer.
//!
//! - with the tool allowed (`--allowedTools mcp__agentshim__send`), Claude calls it without a
//!   question: the worker runs the command (its Completion and its screen say `mcp-42`), the
//!   tool_result Claude sends back to the model is exactly the worker's answer, and Claude's
//!   turn completes with the model's final text;
//! - without that, Claude asks first (`Tool use … agentshim - send(…) (MCP) … Do you want to
//!   proceed?`), which the Claude shim reports as `InputRequested`; answered "Yes", the call
//!   goes through the same way.
//!
//! Claude connects its MCP servers in the background, after its prompt is ready, so each test
//! first has Claude answer turns until a request offers the model the tool.
//!
//! Live: runs only inside a private loopback-only network namespace (`scripts/live-agents.sh`);
//! elsewhere it skips loudly, or fails with `AGENTSHIM_LIVE=1`.

use crate::support::cli::BIN;
use crate::support::eventually::Poll;
use crate::support::fake_model::{Reply, RequestRecord};
use crate::support::live_agents::{self, AgentCli, LIVE_TIMEOUT};
use crate::support::live_shim::{Launch, LiveShim};
use crate::support::server::{Client, Events, TestServer, create_ready};

use agentshim::client::CaptureOptions;
use agentshim::protocol::Event;
use agentshim::rpc::event_envelope::Event as Pb;
use serde_json::{Value, json};

/// The name of the MCP server in Claude's config, the middle of its tools' names.
const MCP_SERVER: &str = "agentshim";

/// The shell shim Claude drives through the MCP tool.
const WORKER: &str = "worker";

/// What the model has Claude send the worker, and what the worker answers.
const COMMAND: &str = "echo mcp-$((6*7))";
const WORKER_ANSWER: &str = "mcp-42";

/// The model's text after the tool's result.
const FINAL_TEXT: &str = "The worker answered through agentshim mcp ✓";

/// Claude Code's name for the tool `tool` of [`MCP_SERVER`]: `mcp__SERVER__TOOL`.
fn mcp_tool(tool: &str) -> String {
    format!("mcp__{MCP_SERVER}__{tool}")
}

/// Claude Code's `--mcp-config` file: one stdio server, the built `agentshim mcp` connecting
/// to the agentshim server at `url` (no token: the test server has auth off).
fn mcp_config(url: &str) -> Value {
    json!({"mcpServers": {MCP_SERVER: {
        "type": "stdio",
        "command": BIN,
        "args": ["mcp", "--addr", url],
        "env": {"RUST_LOG": "off"},
    }}})
}

/// The names of the tools offered to the model in `turn`.
fn offered_tools(turn: &RequestRecord) -> Vec<String> {
    turn.body["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|tool| tool["name"].as_str().map(String::from))
        .collect()
}

/// An agentshim server with a ready `worker`, and a ready Claude shim whose MCP server is
/// `agentshim mcp` on it, its `send` tool offered to the model. Dropped in field order: Claude
/// (with its `agentshim mcp`) first, the agentshim server last.
struct ClaudeWithMcp {
    claude: LiveShim,
    /// The name Claude gives the `send` tool.
    send: String,
    /// Main turns before the scripted one.
    warm_up: usize,
    /// The worker's events from its start.
    worker: Events,
    client: Client,
    /// Serves `worker` (and `agentshim mcp`'s calls) until the test ends.
    _server: TestServer,
    /// Holds the MCP config file.
    _config_dir: tempfile::TempDir,
}

impl ClaudeWithMcp {
    /// Starts it all; with `allowed`, Claude may call `send` without asking.
    async fn start(id: &str, allowed: bool) -> Self {
        let server = TestServer::start_default().await;
        let mut client = server.client().await;
        create_ready(&mut client, WORKER).await;
        let worker = Events::open(&mut client, WORKER, 0).await;
        let config_dir = tempfile::tempdir().expect("a directory for the MCP config");
        let config = config_dir.path().join("agentshim-mcp.json");
        std::fs::write(&config, mcp_config(&server.url()).to_string())
            .expect("write the MCP config");
        let send = mcp_tool("send");
        let mut args = vec!["--mcp-config".to_owned(), config.display().to_string()];
        if allowed {
            args.extend(["--allowedTools".to_owned(), send.clone()]);
        }
        let launch = Launch {
            args,
            ..Launch::default()
        };
        let mut claude = LiveShim::ready_with(AgentCli::Claude, id, launch).await;
        // Turns answered with the default text until one offers the tool (a turn offers the
        // tools of the MCP servers connected by then: with a server that started 8 s late,
        // the first turn went without them).
        let offers_send = async || {
            claude.ask("Are the agentshim tools there?").await;
            let turns = claude.server.main_turns();
            turns
                .last()
                .is_some_and(|turn| offered_tools(turn).contains(&send))
                .then_some(turns.len())
        };
        let Some(warm_up) = Poll::within(LIVE_TIMEOUT).until(offers_send).await else {
            panic!("{send} never offered\n{}", claude.report().await);
        };
        Self {
            claude,
            send,
            warm_up,
            worker,
            client,
            _server: server,
            _config_dir: config_dir,
        }
    }

    /// Scripts the tool call and the final text, and sends Claude the message they answer;
    /// its id.
    async fn send_the_scripted_turn(&self) -> String {
        let input = json!({"shim_id": WORKER, "text": COMMAND, "timeout_secs": 60});
        self.claude.server.push(Reply::tool_call(&self.send, input));
        self.claude.server.push(Reply::text(FINAL_TEXT));
        self.claude.send("Ask the worker to compute 6*7").await
    }

    /// Checks the round trip, given Claude's answer: the worker ran the command, Claude sent
    /// its answer back as the tool's result, and its turn's answer is the call and the final
    /// text.
    async fn check_round_trip(&mut self, response: &str) {
        let completion = self
            .worker
            .wait_for("the worker's Completion", |e| {
                matches!(e, Pb::Completion(_))
            })
            .await;
        let Some(Pb::Completion(completion)) = completion.event else {
            unreachable!()
        };
        let report = self.claude.report().await;
        assert_eq!(completion.response, WORKER_ANSWER, "{report}");
        let screen = self
            .client
            .capture_screen(WORKER, CaptureOptions::default())
            .await
            .expect("capture the worker");
        assert!(screen.content.contains(WORKER_ANSWER), "{}", screen.content);
        let turns = self.claude.server.main_turns();
        assert_eq!(turns.len(), self.warm_up + 2, "{report}");
        assert_eq!(
            turns[self.warm_up + 1].tool_results,
            [completion.response],
            "{report}"
        );
        // The call, collapsed to one line, then the final text.
        assert!(
            response.starts_with("Called agentshim") && response.ends_with(FINAL_TEXT),
            "{response:?}\n{report}"
        );
    }

    /// How many questions the Claude shim reported.
    fn questions(&self) -> usize {
        let asked = |e: &Event| matches!(e, Event::InputRequested { .. });
        self.claude.events.count(asked)
    }
}

#[tokio::test]
async fn live_claude_calls_an_allowed_agentshim_mcp_tool_and_gets_the_worker_answer() {
    let test = "live_claude_calls_an_allowed_agentshim_mcp_tool_and_gets_the_worker_answer";
    if !live_agents::live_gate(test, &[AgentCli::Claude]) {
        return;
    }
    let mut setup = ClaudeWithMcp::start("claude-mcp-allowed", true).await;
    let id = setup.send_the_scripted_turn().await;
    let response = setup.claude.events.completion_of(&id).await;
    setup.check_round_trip(&response).await;
    assert_eq!(setup.questions(), 0, "{}", setup.claude.report().await);
}

#[tokio::test]
async fn live_claude_asks_before_an_agentshim_mcp_tool_and_calls_it_once_answered() {
    let test = "live_claude_asks_before_an_agentshim_mcp_tool_and_calls_it_once_answered";
    if !live_agents::live_gate(test, &[AgentCli::Claude]) {
        return;
    }
    let mut setup = ClaudeWithMcp::start("claude-mcp-asked", false).await;
    let id = setup.send_the_scripted_turn().await;
    let (prompt, options) = setup.claude.question().await;
    let screen = setup.claude.screen().await;
    assert!(
        prompt.contains(&format!(
            "agentshim - send(shim_id: \"{WORKER}\", text: \"{COMMAND}\", timeout_secs: 60) (MCP)"
        )),
        "{prompt:?}\n{screen}"
    );
    assert_eq!(options.len(), 3, "{options:?}\n{screen}");
    assert_eq!([&options[0], &options[2]], ["Yes", "No"], "{screen}");
    let chosen = setup.claude.shim.answer(1).await.expect("answer");
    assert_eq!(chosen, "Yes");
    let response = setup.claude.events.completion_of(&id).await;
    setup.check_round_trip(&response).await;
    assert_eq!(setup.questions(), 1, "{}", setup.claude.report().await);
}
