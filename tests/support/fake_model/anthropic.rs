//! The Anthropic Messages API as Claude Code uses it: `POST /v1/messages` (Claude Code adds
//! `?beta=true`), streamed as SSE or answered as one JSON message, and
//! `POST /v1/messages/count_tokens`.
//!
//! Main turns take the next scripted reply. The session title request (an
//! `output_config.format` json_schema with a `title` field, no tools) gets JSON text that fits
//! the schema. A turn whose last user message asks for the conversation summary
//! (auto-compaction) is recorded as [`TurnKind::Compact`] and also takes a scripted reply.
//!
//! Stream order: `message_start` (usage with the prompt figures), `content_block_start`,
//! `ping`, `content_block_delta`s (`text_delta` or `input_json_delta`), `content_block_stop`,
//! `message_delta` (`stop_reason`, final usage), `message_stop`.

use serde_json::{Value, json};

use super::Api;
use super::dispatch::{Ctx, Handled, Incoming};
use super::schema;
use super::script::{ErrorKind, Reply, ReplyBody, Served, TurnKind, Usage};
use super::stream::{self, Frame, chunk_delays, chunk_text, sse};

/// Words in the last user message that mark Claude's compaction (summary) turn.
const COMPACT_MARKERS: &[&str] = &[
    "CRITICAL: Respond with TEXT ONLY",
    "detailed summary of the conversation",
];

pub fn handle(ctx: &Ctx, req: &Incoming) -> Handled {
    let body = &req.body;
    let model = body["model"].as_str().map(String::from);
    let api = Api::Anthropic;
    if req.path.ends_with("/count_tokens") {
        let tokens = (req.body_len / 4).max(1) as u64;
        let response = stream::json_response(200, &[], &json!({"input_tokens": tokens}));
        return Handled::new(
            api,
            TurnKind::CountTokens,
            model,
            Served::TokenCount(tokens),
            response,
        );
    }
    let is_stream = body["stream"].as_bool().unwrap_or(false);
    let tools = body["tools"].as_array().map_or(0, Vec::len);
    let user_text = last_user_text(body);
    let model_name = model.clone().unwrap_or_else(|| "claude-fake".into());

    if let Some(schema) = output_schema(body) {
        let kind = if schema::has_property(schema, "title") {
            TurnKind::Title
        } else {
            TurnKind::JsonSide
        };
        let value = schema::fill(schema, "");
        let reply = Reply::text(value.to_string());
        let usage = reply.usage_for(req.body_len);
        let response = respond(ctx, &model_name, is_stream, &reply, usage);
        let mut handled = Handled::new(api, kind, model, Served::Json(value), response.0);
        handled.delay = response.1;
        return Handled {
            stream: is_stream,
            tools,
            user_text,
            usage: Some(usage),
            ..handled
        };
    }

    let kind = match &user_text {
        Some(t) if COMPACT_MARKERS.iter().any(|m| t.contains(m)) => TurnKind::Compact,
        _ => TurnKind::Main,
    };
    let (reply, scripted) = ctx.next_reply();
    let usage = reply
        .body
        .is_answer()
        .then(|| reply.usage_for(req.body_len));
    let served = reply.body.served();
    let (response, delay) = match &reply.body {
        ReplyBody::Error(kind) => (error_response(kind), std::time::Duration::ZERO),
        ReplyBody::Hang => (
            stream::hang_response("text/event-stream", ctx.shutdown()),
            std::time::Duration::ZERO,
        ),
        _ => respond(
            ctx,
            &model_name,
            is_stream,
            &reply,
            usage.unwrap_or_default(),
        ),
    };
    let handled = Handled::new(api, kind, model, served, response);
    Handled {
        delay,
        stream: is_stream,
        tools,
        user_text,
        scripted,
        usage,
        ..handled
    }
}

/// The json_schema of a structured-output request (`output_config.format`, or the older
/// `response_format`), if any.
fn output_schema(body: &Value) -> Option<&Value> {
    let format = body
        .pointer("/output_config/format")
        .or_else(|| body.get("response_format"))?;
    (format["type"] == "json_schema").then(|| format.get("schema").unwrap_or(format))
}

/// Text of the last user message, without `<system-reminder>` blocks and tool results.
pub fn last_user_text(body: &Value) -> Option<String> {
    let message = body["messages"]
        .as_array()?
        .iter()
        .rev()
        .find(|m| m["role"] == "user")?;
    let text = match &message["content"] {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter(|b| b["type"] == "text")
            .filter_map(|b| b["text"].as_str())
            .filter(|t| !t.trim_start().starts_with("<system-reminder>"))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => return None,
    };
    (!text.is_empty()).then_some(text)
}

/// The `tool_result` blocks of the last user message, as text.
pub fn tool_results(body: &Value) -> Vec<String> {
    let Some(message) = body["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
    else {
        return Vec::new();
    };
    let blocks = message["content"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    blocks
        .iter()
        .filter(|b| b["type"] == "tool_result")
        .map(|b| match &b["content"] {
            Value::String(s) => s.clone(),
            Value::Array(parts) => parts
                .iter()
                .filter_map(|p| p["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            other => other.to_string(),
        })
        .collect()
}

fn usage_json(u: &Usage) -> Value {
    json!({
        "input_tokens": u.input_tokens,
        "output_tokens": u.output_tokens,
        "cache_creation_input_tokens": u.cache_creation_tokens,
        "cache_read_input_tokens": u.cache_read_tokens,
    })
}

/// The tool a reply calls, and its input: `Bash` for a shell call, the scripted tool for a
/// tool call; `None` for anything else.
fn tool_use(body: &ReplyBody) -> Option<(&str, Value)> {
    match body {
        ReplyBody::ShellCall { command, .. } => Some((
            "Bash",
            json!({"command": command, "description": "Run the scripted command"}),
        )),
        ReplyBody::ToolCall { name, input } => Some((name, input.clone())),
        _ => None,
    }
}

/// A text or tool_use answer, streamed or whole; the second value is the delay before a
/// non-streamed answer.
fn respond(
    ctx: &Ctx,
    model: &str,
    is_stream: bool,
    reply: &Reply,
    usage: Usage,
) -> (axum::response::Response, std::time::Duration) {
    let id = format!("msg_fake_{:06}", ctx.id);
    let (block, chunks, stop_reason) = match (&reply.body, tool_use(&reply.body)) {
        (_, Some((name, input))) => {
            let block = json!({"type": "tool_use", "id": format!("toolu_fake_{:06}", ctx.id), "name": name, "input": {}});
            (block, vec![input.to_string()], "tool_use")
        }
        (ReplyBody::Text(text), None) => (
            json!({"type": "text", "text": ""}),
            chunk_text(text, reply.pacing.words_per_chunk),
            "end_turn",
        ),
        _ => unreachable!("errors and hangs are answered before"),
    };
    if !is_stream {
        let content = if stop_reason == "tool_use" {
            let mut block = block.clone();
            block["input"] = serde_json::from_str(&chunks[0]).unwrap_or(Value::Null);
            block
        } else {
            json!({"type": "text", "text": chunks.concat()})
        };
        let message = json!({
            "id": id, "type": "message", "role": "assistant", "model": model,
            "content": [content], "stop_reason": stop_reason, "stop_sequence": null,
            "usage": usage_json(&usage),
        });
        return (
            stream::json_response(200, &[], &message),
            stream::total_delay(&reply.pacing, chunks.len()),
        );
    }
    let start_usage = Usage {
        output_tokens: 1,
        ..usage
    };
    let mut frames = vec![
        Frame::now(sse(
            Some("message_start"),
            &json!({"type": "message_start", "message": {
            "id": id, "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": null, "stop_sequence": null, "usage": usage_json(&start_usage)}}),
        )),
        Frame::now(sse(
            Some("content_block_start"),
            &json!({"type": "content_block_start", "index": 0, "content_block": block}),
        )),
        Frame::now(sse(Some("ping"), &json!({"type": "ping"}))),
    ];
    let delta_type = if stop_reason == "tool_use" {
        "input_json_delta"
    } else {
        "text_delta"
    };
    for (chunk, delay) in chunks.iter().zip(chunk_delays(&reply.pacing, chunks.len())) {
        let delta = if stop_reason == "tool_use" {
            json!({"type": delta_type, "partial_json": chunk})
        } else {
            json!({"type": delta_type, "text": chunk})
        };
        let event = json!({"type": "content_block_delta", "index": 0, "delta": delta});
        frames.push(Frame::after(
            delay,
            sse(Some("content_block_delta"), &event),
        ));
    }
    frames.push(Frame::now(sse(
        Some("content_block_stop"),
        &json!({"type": "content_block_stop", "index": 0}),
    )));
    frames.push(Frame::now(sse(
        Some("message_delta"),
        &json!({"type": "message_delta",
        "delta": {"stop_reason": stop_reason, "stop_sequence": null}, "usage": usage_json(&usage)}),
    )));
    frames.push(Frame::now(sse(
        Some("message_stop"),
        &json!({"type": "message_stop"}),
    )));
    (
        stream::paced_sse(frames, false, ctx.shutdown()),
        std::time::Duration::ZERO,
    )
}

/// Errors as the Messages API reports them (see REAL_AGENTS.md for the screens they make).
fn error_response(kind: &ErrorKind) -> axum::response::Response {
    let err = |status: u16, ty: &str, message: &str, headers: Vec<(String, String)>| {
        let body = json!({"type": "error", "error": {"type": ty, "message": message}, "request_id": "req_fake_error"});
        let mut headers = headers;
        headers.push(("request-id".into(), "req_fake_error".into()));
        stream::json_response(status, &headers, &body)
    };
    match kind {
        ErrorKind::ContextTooLong => err(
            400,
            "invalid_request_error",
            "prompt is too long: 212345 tokens > 200000 maximum",
            vec![],
        ),
        ErrorKind::RateLimit { retry_after_secs } => err(
            429,
            "rate_limit_error",
            "This request would exceed the rate limit for your organization of 50 requests per minute. \
             For details, refer to: https://docs.claude.com/en/api/rate-limits.",
            vec![("retry-after".into(), retry_after_secs.to_string())],
        ),
        ErrorKind::Quota { claim: None, .. } => err(
            429,
            "invalid_request_error",
            "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.",
            vec![],
        ),
        ErrorKind::Quota {
            reset_epoch_secs,
            claim: Some(claim),
        } => err(
            429,
            "rate_limit_error",
            "This request would exceed your account's rate limit. Please try again later.",
            vec![
                (
                    "anthropic-ratelimit-unified-status".into(),
                    "rejected".into(),
                ),
                (
                    "anthropic-ratelimit-unified-reset".into(),
                    reset_epoch_secs.to_string(),
                ),
                (
                    "anthropic-ratelimit-unified-representative-claim".into(),
                    claim.clone(),
                ),
            ],
        ),
        ErrorKind::Overloaded => err(529, "overloaded_error", "Overloaded", vec![]),
        ErrorKind::Raw {
            status,
            headers,
            body,
        } => stream::json_response(*status, headers, body),
    }
}
