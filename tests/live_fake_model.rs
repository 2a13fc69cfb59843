//! The fake model server, checked two ways.
//!
//! - Always: raw HTTP/1.1 requests shaped like each CLI's (Anthropic Messages, OpenAI
//!   Responses, Gemini) get the scripted answers in the wire formats the CLIs parse, and the
//!   server records what it saw and sent (turn kind, model, usage).
//! - Live (`live_*`): each real CLI (Claude Code, Codex, Gemini CLI), configured as in
//!   `shared/agents/REAL_AGENTS.md` with a temporary HOME, answers a one-shot prompt from the
//!   fake server, and runs a scripted shell tool call. Only inside a private loopback-only
//!   network namespace: run `scripts/live-agents.sh`. Elsewhere these tests are skipped
//!   loudly, or fail when `AGENTSHIM_LIVE=1`. The TUIs are checked in `live_fake_model_tui.rs`.

#[path = "support/fake_model/mod.rs"]
mod fake_model;
#[path = "support/live_agents.rs"]
mod live_agents;

use std::io::Write;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use fake_model::{ErrorKind, FakeModelServer, Reply, Served, TurnKind, Usage};
use live_agents::{AgentCli, ClaudeAuth, LiveAgent};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A raw HTTP/1.1 POST with `Connection: close`; returns status, lower-case headers, body
/// (de-chunked) and the time the first body byte arrived after the request was sent.
async fn post(addr: SocketAddr, path: &str, body: &Value) -> (u16, Vec<(String, String)>, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = body.to_string();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (head, rest) = raw.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_lowercase(), v.to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v == "chunked");
    (
        status,
        headers,
        if chunked {
            dechunk(rest)
        } else {
            rest.to_string()
        },
    )
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap();
        if n == 0 {
            break;
        }
        out.push_str(&after[..n]);
        rest = &after[n + 2..];
    }
    out
}

/// `(event name, data)` of each SSE event (event name empty when there is no `event:` line).
fn sse_events(body: &str) -> Vec<(String, Value)> {
    body.split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|e| {
            let name = e
                .lines()
                .find_map(|l| l.strip_prefix("event: "))
                .unwrap_or("")
                .to_string();
            let data = e.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
            (name, serde_json::from_str(data).unwrap())
        })
        .collect()
}

const LONG_UNICODE: &str =
    "Grüße, 世界! ✓\nSecond line with émojis 🚀 and more words here.\n  indented third line";

#[tokio::test]
async fn anthropic_streams_scripted_text_and_records_usage() {
    let server = FakeModelServer::start().await;
    let usage = Usage {
        input_tokens: 1200,
        output_tokens: 34,
        cache_read_tokens: 5000,
        cache_creation_tokens: 700,
    };
    server.push(Reply::text(LONG_UNICODE).usage(usage).words_per_chunk(2));
    let request = json!({"model": "claude-opus-4-8", "stream": true, "max_tokens": 100,
        "tools": [{"name": "Bash"}, {"name": "Read"}],
        "messages": [{"role": "user", "content": [
            {"type": "text", "text": "<system-reminder>ignore</system-reminder>"},
            {"type": "text", "text": "say hi"}]}]});
    let (status, headers, body) = post(server.addr(), "/v1/messages?beta=true", &request).await;
    assert_eq!(status, 200);
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "content-type" && v == "text/event-stream")
    );
    let events = sse_events(&body);
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.first(), Some(&"message_start"));
    assert_eq!(
        &names[names.len() - 3..],
        ["content_block_stop", "message_delta", "message_stop"]
    );
    let text: String = events
        .iter()
        .filter(|(n, _)| n == "content_block_delta")
        .map(|(_, d)| d["delta"]["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(text, LONG_UNICODE);
    let delta = &events.iter().find(|(n, _)| n == "message_delta").unwrap().1;
    assert_eq!(delta["delta"]["stop_reason"], "end_turn");
    assert_eq!(delta["usage"]["cache_read_input_tokens"], 5000);
    let record = &server.requests()[0];
    assert_eq!(
        (record.kind, record.tools, record.stream),
        (TurnKind::Main, 2, true)
    );
    assert_eq!(record.model.as_deref(), Some("claude-opus-4-8"));
    assert_eq!(record.user_text.as_deref(), Some("say hi"));
    assert_eq!(record.usage, Some(usage));
    assert!(record.scripted);
}

#[tokio::test]
async fn anthropic_title_count_tokens_tool_use_and_errors() {
    let server = FakeModelServer::start().await;
    let title_req = json!({"model": "claude-haiku-4-5-20251001", "max_tokens": 512,
        "messages": [{"role": "user", "content": "make a title"}],
        "output_config": {"format": {"type": "json_schema",
            "schema": {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}}}});
    let (_, _, body) = post(server.addr(), "/v1/messages?beta=true", &title_req).await;
    let message: Value = serde_json::from_str(&body).unwrap();
    let title: Value =
        serde_json::from_str(message["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(title["title"], fake_model::FAKE_TITLE);
    let (_, _, body) = post(
        server.addr(),
        "/v1/messages/count_tokens?beta=true",
        &title_req,
    )
    .await;
    assert!(
        serde_json::from_str::<Value>(&body).unwrap()["input_tokens"]
            .as_u64()
            .unwrap()
            > 0
    );

    server.push(Reply::shell("echo fake-tool"));
    server.push(Reply::error(ErrorKind::RateLimit {
        retry_after_secs: 25,
    }));
    server.push(Reply::error(ErrorKind::Quota {
        reset_epoch_secs: 1_900_000_000,
        claim: Some("seven_day".into()),
    }));
    let turn = json!({"model": "claude-opus-4-8", "stream": true, "messages": [{"role": "user", "content": "go"}]});
    let (_, _, body) = post(server.addr(), "/v1/messages", &turn).await;
    let events = sse_events(&body);
    assert_eq!(events[1].1["content_block"]["name"], "Bash");
    let json_delta = events
        .iter()
        .find(|(n, _)| n == "content_block_delta")
        .unwrap();
    let input: Value =
        serde_json::from_str(json_delta.1["delta"]["partial_json"].as_str().unwrap()).unwrap();
    assert_eq!(input["command"], "echo fake-tool");
    let (status, headers, body) = post(server.addr(), "/v1/messages", &turn).await;
    assert_eq!(status, 429);
    assert!(headers.contains(&("retry-after".into(), "25".into())));
    assert!(body.contains("rate_limit_error"));
    let (status, headers, _) = post(server.addr(), "/v1/messages", &turn).await;
    assert_eq!(status, 429);
    assert!(headers.contains(&(
        "anthropic-ratelimit-unified-representative-claim".into(),
        "seven_day".into()
    )));
    // Queue empty: the default text.
    let (_, _, body) = post(
        server.addr(),
        "/v1/messages",
        &json!({"model": "m", "messages": []}),
    )
    .await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["content"][0]["text"],
        fake_model::DEFAULT_REPLY
    );
    let kinds: Vec<TurnKind> = server.requests().iter().map(|r| r.kind).collect();
    use TurnKind::*;
    assert_eq!(kinds, [Title, CountTokens, Main, Main, Main, Main]);
    assert!(!server.requests()[5].scripted);
}

#[tokio::test]
async fn openai_responses_stream_text_tool_call_title_and_context_error() {
    let server = FakeModelServer::start().await;
    server.push(Reply::text("Hello ✓ from Responses").times(2));
    server.push(Reply::shell_escalated("touch x"));
    server.push(Reply::error(ErrorKind::ContextTooLong));
    let turn = json!({"model": "gpt-5.5", "stream": true, "tools": [{"name": "exec_command"}],
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}]});
    for _ in 0..2 {
        let (status, _, body) = post(server.addr(), "/v1/responses", &turn).await;
        assert_eq!(status, 200);
        let events = sse_events(&body);
        let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names[0], "response.created");
        assert_eq!(
            names[names.len() - 2..],
            ["response.output_item.done", "response.completed"]
        );
        assert!(events.iter().all(|(n, d)| d["type"] == n.as_str()));
        let text: String = events
            .iter()
            .filter(|(n, _)| n == "response.output_text.delta")
            .map(|(_, d)| d["delta"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(text, "Hello ✓ from Responses");
    }
    let (_, _, body) = post(server.addr(), "/v1/responses", &turn).await;
    let events = sse_events(&body);
    let done = &events
        .iter()
        .find(|(n, _)| n == "response.output_item.done")
        .unwrap()
        .1["item"];
    assert_eq!(
        (done["type"].as_str(), done["name"].as_str()),
        (Some("function_call"), Some("exec_command"))
    );
    let args: Value = serde_json::from_str(done["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args["sandbox_permissions"], "require_escalated");
    let (_, _, body) = post(server.addr(), "/v1/responses", &turn).await;
    let failed = sse_events(&body).pop().unwrap();
    assert_eq!(failed.0, "response.failed");
    assert_eq!(
        failed.1["response"]["error"]["code"],
        "context_length_exceeded"
    );

    let title = json!({"model": "gpt-5.5", "stream": true, "input": [],
        "text": {"format": {"type": "json_schema", "name": "t", "strict": true,
            "schema": {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}}}});
    let (_, _, body) = post(server.addr(), "/v1/responses", &title).await;
    let done = sse_events(&body)
        .into_iter()
        .find(|(n, _)| n == "response.output_text.done")
        .unwrap();
    let value: Value = serde_json::from_str(done.1["text"].as_str().unwrap()).unwrap();
    assert_eq!(value["title"], fake_model::FAKE_TITLE);
    let records = server.requests();
    assert_eq!(records.last().unwrap().kind, TurnKind::Title);
    assert_eq!(server.main_turns().len(), 4);
    assert_eq!(records[0].user_text.as_deref(), Some("hi"));
    assert_eq!(server.pending(), 0);
}

#[tokio::test]
async fn gemini_router_stream_count_tokens_and_quota() {
    let server = FakeModelServer::start().await;
    server.push(
        Reply::text(LONG_UNICODE).slow(Duration::from_millis(400), Duration::from_millis(50)),
    );
    server.push(Reply::shell("touch fake-tool-file.txt"));
    server.push(Reply::error(ErrorKind::Quota {
        reset_epoch_secs: 1_900_000_000,
        claim: None,
    }));
    let router = json!({"contents": [{"role": "user", "parts": [{"text": "classify"}]}],
        "generationConfig": {"responseMimeType": "application/json", "responseJsonSchema": {"type": "object",
            "properties": {"reasoning": {"type": "string"}, "model_choice": {"type": "string", "enum": ["pro", "flash"]}}}}});
    let (_, _, body) = post(
        server.addr(),
        "/v1beta/models/gemini-3.5-flash-lite:generateContent",
        &router,
    )
    .await;
    let reply: Value = serde_json::from_str(&body).unwrap();
    let choice: Value = serde_json::from_str(
        reply["candidates"][0]["content"]["parts"][0]["text"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(choice["model_choice"], "flash");

    let turn = json!({"contents": [{"role": "user", "parts": [{"text": "hello"}]}],
        "tools": [{"functionDeclarations": [{"name": "run_shell_command"}, {"name": "read_file"}]}]});
    let started = Instant::now();
    let (status, _, body) = post(
        server.addr(),
        "/v1beta/models/gemini-3.8-flash:streamGenerateContent?alt=sse",
        &turn,
    )
    .await;
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "slow reply came too fast"
    );
    assert_eq!(status, 200);
    let chunks = sse_events(&body);
    assert!(
        chunks.iter().all(|(name, _)| name.is_empty()),
        "Gemini SSE has no event: lines"
    );
    let text: String = chunks
        .iter()
        .map(|(_, c)| {
            c["candidates"][0]["content"]["parts"][0]["text"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(text, LONG_UNICODE);
    let last = &chunks.last().unwrap().1;
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    let usage = server.main_turns()[0].usage.unwrap();
    assert_eq!(
        last["usageMetadata"]["candidatesTokenCount"],
        usage.output_tokens
    );

    let (_, _, body) = post(
        server.addr(),
        "/v1beta/models/gemini-3.8-flash:streamGenerateContent?alt=sse",
        &turn,
    )
    .await;
    let call = &sse_events(&body)[0].1["candidates"][0]["content"]["parts"][0]["functionCall"];
    assert_eq!(
        (call["name"].as_str(), call["args"]["command"].as_str()),
        (Some("run_shell_command"), Some("touch fake-tool-file.txt"))
    );
    let (status, _, body) = post(
        server.addr(),
        "/v1beta/models/gemini-3.8-flash:generateContent",
        &turn,
    )
    .await;
    assert_eq!(status, 429);
    assert!(body.contains("PerDay") && body.contains("RESOURCE_EXHAUSTED"));
    let (_, _, body) = post(
        server.addr(),
        "/v1beta/models/gemini-3.8-flash:countTokens",
        &turn,
    )
    .await;
    assert!(body.contains("totalTokens"));
    let (status, _, _) = post(server.addr(), "/v1/nothing-here", &json!({})).await;
    assert_eq!(status, 404);
    let kinds: Vec<TurnKind> = server.requests().iter().map(|r| r.kind).collect();
    use TurnKind::*;
    assert_eq!(kinds, [Router, Main, Main, Main, CountTokens, Unknown]);
    assert_eq!(server.requests()[1].tools, 2);
}

// ---- live: the real CLIs, offline, against the fake server ----

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
