//! The fake model server's wire formats, checked over raw HTTP/1.1: requests shaped like each
//! CLI's (Anthropic Messages, OpenAI Responses, Gemini) get the scripted answers (text, shell
//! calls, calls of any tool, errors) in the formats the CLIs parse, and the server records
//! what it saw and sent (turn kind, model, usage). The real CLIs against the same server are in
//! `live_fake_model.rs`.

use crate::support::fake_model;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use fake_model::{ErrorKind, FakeModelServer, Reply, Served, TurnKind, Usage};
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

/// The input of the scripted tool calls (an `agentshim mcp` `send`).
fn tool_input() -> Value {
    json!({"shim_id": "worker", "text": "echo mcp-$((6*7))", "timeout_secs": 60})
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
    server.push(Reply::tool_call("mcp__agentshim__send", tool_input()).times(2));
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
    // A tool call, streamed and whole: a tool_use block of the tool with the input.
    let (_, _, body) = post(server.addr(), "/v1/messages", &turn).await;
    let events = sse_events(&body);
    assert_eq!(events[1].1["content_block"]["name"], "mcp__agentshim__send");
    let json_delta = events
        .iter()
        .find(|(n, _)| n == "content_block_delta")
        .unwrap();
    let input: Value =
        serde_json::from_str(json_delta.1["delta"]["partial_json"].as_str().unwrap()).unwrap();
    assert_eq!(input, tool_input());
    let delta = &events.iter().find(|(n, _)| n == "message_delta").unwrap().1;
    assert_eq!(delta["delta"]["stop_reason"], "tool_use");
    let mut whole = turn.clone();
    whole["stream"] = json!(false);
    let (_, _, body) = post(server.addr(), "/v1/messages", &whole).await;
    let message: Value = serde_json::from_str(&body).unwrap();
    let block = &message["content"][0];
    assert_eq!(
        (&block["type"], &block["name"], &block["input"]),
        (
            &json!("tool_use"),
            &json!("mcp__agentshim__send"),
            &tool_input()
        )
    );
    assert_eq!(message["stop_reason"], "tool_use");
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
    assert_eq!(
        kinds,
        [Title, CountTokens, Main, Main, Main, Main, Main, Main]
    );
    assert_eq!(
        server.requests()[3].served,
        Served::ToolCall {
            name: "mcp__agentshim__send".into(),
            input: tool_input()
        }
    );
    assert!(!server.requests()[7].scripted);
}

#[tokio::test]
async fn openai_responses_stream_text_tool_call_title_and_context_error() {
    let server = FakeModelServer::start().await;
    server.push(Reply::text("Hello ✓ from Responses").times(2));
    server.push(Reply::shell_escalated("touch x"));
    server.push(Reply::tool_call("mcp__agentshim__send", tool_input()));
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
    let events = sse_events(&body);
    let done = &events
        .iter()
        .find(|(n, _)| n == "response.output_item.done")
        .unwrap()
        .1["item"];
    assert_eq!(
        (done["type"].as_str(), done["name"].as_str()),
        (Some("function_call"), Some("mcp__agentshim__send"))
    );
    let args: Value = serde_json::from_str(done["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, tool_input());
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
    assert_eq!(server.main_turns().len(), 5);
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
    server.push(Reply::tool_call("mcp__agentshim__send", tool_input()));
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
    let (_, _, body) = post(
        server.addr(),
        "/v1beta/models/gemini-3.8-flash:streamGenerateContent?alt=sse",
        &turn,
    )
    .await;
    let call = &sse_events(&body)[0].1["candidates"][0]["content"]["parts"][0]["functionCall"];
    assert_eq!(
        (&call["name"], &call["args"]),
        (&json!("mcp__agentshim__send"), &tool_input())
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
    assert_eq!(
        kinds,
        [Router, Main, Main, Main, Main, CountTokens, Unknown]
    );
    assert_eq!(server.requests()[1].tools, 2);
}

// ---- live: the real CLIs, offline, against the fake server ----
