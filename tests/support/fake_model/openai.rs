//! The OpenAI Responses API as Codex uses it: `POST /v1/responses`, streamed as SSE (`event:`
//! line plus a `data:` JSON object whose `type` repeats the event name).
//!
//! A text answer streams `response.created`, `response.in_progress`,
//! `response.output_item.added` (message), `response.content_part.added`,
//! `response.output_text.delta`…, `response.output_text.done`, `response.content_part.done`,
//! `response.output_item.done` (the whole message) and `response.completed` with `usage`; Codex
//! takes the finished items from `output_item.done` and ends the turn on `response.completed`.
//! A shell call streams a `function_call` item named `exec_command` (arguments `cmd`, and
//! `sandbox_permissions: require_escalated` when escalated); a tool call one named as
//! scripted, its input as the arguments.
//!
//! Usage follows OpenAI's convention: `input_tokens` counts all prompt tokens and
//! `input_tokens_details.cached_tokens` the cached part of them.
//!
//! The thread title request (`text.format` json_schema with a `title` field) gets JSON text
//! that fits the schema and never touches the script.

use serde_json::{Value, json};

use super::Api;
use super::dispatch::{Ctx, Handled, Incoming};
use super::schema;
use super::script::{ErrorKind, Reply, ReplyBody, Served, TurnKind, Usage};
use super::stream::{self, Frame, chunk_delays, chunk_text, sse};

pub fn handle(ctx: &Ctx, req: &Incoming) -> Handled {
    let body = &req.body;
    let model = body["model"].as_str().map(String::from);
    let is_stream = body["stream"].as_bool().unwrap_or(false);
    let tools = body["tools"].as_array().map_or(0, Vec::len);
    let user_text = last_user_text(body);
    let model_name = model.clone().unwrap_or_else(|| "gpt-fake".into());

    let (kind, reply, scripted, served) = match output_schema(body) {
        Some(schema) => {
            let kind = if schema::has_property(schema, "title") {
                TurnKind::Title
            } else {
                TurnKind::JsonSide
            };
            let value = schema::fill(schema, "");
            (
                kind,
                Reply::text(value.to_string()),
                false,
                Served::Json(value),
            )
        }
        None => {
            let (reply, scripted) = ctx.next_reply();
            let served = reply.body.served();
            (TurnKind::Main, reply, scripted, served)
        }
    };
    let usage = reply.usage_for(req.body_len);
    let reports_usage = reply.body.is_answer();
    let response = match &reply.body {
        ReplyBody::Error(kind) => error_response(ctx, &model_name, kind),
        ReplyBody::Hang => stream::hang_response("text/event-stream", ctx.shutdown()),
        _ => stream::paced_sse(
            frames(ctx, &model_name, &reply, usage),
            false,
            ctx.shutdown(),
        ),
    };
    let handled = Handled::new(Api::OpenAiResponses, kind, model, served, response);
    Handled {
        stream: is_stream,
        tools,
        user_text,
        scripted,
        usage: reports_usage.then_some(usage),
        ..handled
    }
}

/// The json_schema of `text.format`, if the request asks for structured output.
fn output_schema(body: &Value) -> Option<&Value> {
    let format = body.pointer("/text/format")?;
    (format["type"] == "json_schema").then(|| format.get("schema").unwrap_or(format))
}

/// Text of the last user message in `input`.
pub fn last_user_text(body: &Value) -> Option<String> {
    let item = body["input"]
        .as_array()?
        .iter()
        .rev()
        .find(|i| i["role"] == "user")?;
    let text = match &item["content"] {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => return None,
    };
    (!text.is_empty()).then_some(text)
}

/// The `function_call_output` items at the end of `input` (after the last user message).
pub fn tool_results(body: &Value) -> Vec<String> {
    let items = body["input"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let start = items
        .iter()
        .rposition(|i| i["role"] == "user")
        .map_or(0, |p| p + 1);
    items[start..]
        .iter()
        .filter(|i| i["type"] == "function_call_output")
        .map(|i| {
            i["output"]
                .as_str()
                .map_or_else(|| i["output"].to_string(), String::from)
        })
        .collect()
}

fn usage_json(u: &Usage) -> Value {
    let input = u.input_tokens + u.cache_read_tokens + u.cache_creation_tokens;
    json!({
        "input_tokens": input,
        "input_tokens_details": {"cached_tokens": u.cache_read_tokens},
        "output_tokens": u.output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input + u.output_tokens,
    })
}

fn event(ty: &str, mut data: Value) -> bytes::Bytes {
    data["type"] = json!(ty);
    sse(Some(ty), &data)
}

fn response_object(id: &str, model: &str, status: &str, output: Value) -> Value {
    json!({"id": id, "object": "response", "created_at": 1_700_000_000, "status": status,
           "model": model, "output": output})
}

/// The function a reply calls, and its arguments: `exec_command` for a shell call (escalated:
/// with `sandbox_permissions: require_escalated`), the scripted tool for a tool call; `None`
/// for anything else.
fn function_call(body: &ReplyBody) -> Option<(&str, Value)> {
    match body {
        ReplyBody::ShellCall { command, escalate } => {
            let mut args = json!({"cmd": command});
            if *escalate {
                args["sandbox_permissions"] = json!("require_escalated");
                args["justification"] = json!("The fake model wants to run this command.");
            }
            Some(("exec_command", args))
        }
        ReplyBody::ToolCall { name, input } => Some((name, input.clone())),
        _ => None,
    }
}

/// The SSE frames of a text or function-call answer.
fn frames(ctx: &Ctx, model: &str, reply: &Reply, usage: Usage) -> Vec<Frame> {
    let resp_id = format!("resp_fake_{:06}", ctx.id);
    let item_id = format!("item_fake_{:06}", ctx.id);
    let mut frames = vec![
        Frame::now(event(
            "response.created",
            json!({"response": response_object(&resp_id, model, "in_progress", json!([]))}),
        )),
        Frame::now(event(
            "response.in_progress",
            json!({"response": response_object(&resp_id, model, "in_progress", json!([]))}),
        )),
    ];
    let done_item = match (&reply.body, function_call(&reply.body)) {
        (_, Some((name, args))) => {
            let args = args.to_string();
            let call_id = format!("call_fake_{:06}", ctx.id);
            let item = |status: &str, arguments: &str| {
                json!({"type": "function_call", "id": item_id, "call_id": call_id, "name": name,
                       "arguments": arguments, "status": status})
            };
            frames.push(Frame::after(
                reply.pacing.first_chunk_delay,
                event(
                    "response.output_item.added",
                    json!({"output_index": 0, "item": item("in_progress", "")}),
                ),
            ));
            frames.push(Frame::now(event(
                "response.function_call_arguments.delta",
                json!({"item_id": item_id, "output_index": 0, "delta": args}),
            )));
            frames.push(Frame::now(event(
                "response.function_call_arguments.done",
                json!({"item_id": item_id, "output_index": 0, "arguments": args}),
            )));
            item("completed", &args)
        }
        (ReplyBody::Text(text), None) => {
            let message = |status: &str, content: Value| json!({"type": "message", "id": item_id, "role": "assistant", "status": status, "content": content});
            let part = |text: &str| json!({"type": "output_text", "text": text, "annotations": []});
            let at = |extra: Value| {
                let mut v = json!({"item_id": item_id, "output_index": 0, "content_index": 0});
                v.as_object_mut()
                    .unwrap()
                    .extend(extra.as_object().unwrap().clone());
                v
            };
            frames.push(Frame::now(event(
                "response.output_item.added",
                json!({"output_index": 0, "item": message("in_progress", json!([]))}),
            )));
            frames.push(Frame::now(event(
                "response.content_part.added",
                at(json!({"part": part("")})),
            )));
            let chunks = chunk_text(text, reply.pacing.words_per_chunk);
            for (chunk, delay) in chunks.iter().zip(chunk_delays(&reply.pacing, chunks.len())) {
                frames.push(Frame::after(
                    delay,
                    event("response.output_text.delta", at(json!({"delta": chunk}))),
                ));
            }
            frames.push(Frame::now(event(
                "response.output_text.done",
                at(json!({"text": text})),
            )));
            frames.push(Frame::now(event(
                "response.content_part.done",
                at(json!({"part": part(text)})),
            )));
            message("completed", json!([part(text)]))
        }
        _ => unreachable!("errors and hangs are answered before"),
    };
    frames.push(Frame::now(event(
        "response.output_item.done",
        json!({"output_index": 0, "item": done_item}),
    )));
    let mut completed = response_object(&resp_id, model, "completed", json!([done_item]));
    completed["usage"] = usage_json(&usage);
    frames.push(Frame::now(event(
        "response.completed",
        json!({"response": completed}),
    )));
    frames
}

/// Errors as Codex sees them: the context error inside the stream (`response.failed`), the
/// others as HTTP statuses with an OpenAI error body.
fn error_response(ctx: &Ctx, model: &str, kind: &ErrorKind) -> axum::response::Response {
    let http = |status: u16, body: Value, headers: Vec<(String, String)>| {
        stream::json_response(status, &headers, &body)
    };
    match kind {
        ErrorKind::ContextTooLong => {
            let resp_id = format!("resp_fake_{:06}", ctx.id);
            let mut failed = response_object(&resp_id, model, "failed", json!([]));
            failed["error"] = json!({"code": "context_length_exceeded",
                "message": "Your input exceeds the context window of this model. Please adjust your input and try again."});
            let frames = vec![
                Frame::now(event(
                    "response.created",
                    json!({"response": response_object(&resp_id, model, "in_progress", json!([]))}),
                )),
                Frame::now(event("response.failed", json!({"response": failed}))),
            ];
            stream::paced_sse(frames, false, ctx.shutdown())
        }
        ErrorKind::RateLimit { retry_after_secs } => http(
            429,
            json!({"error": {"type": "requests", "code": "rate_limit_exceeded", "param": null,
                "message": format!("Rate limit reached for {model} on requests per min (RPM): Limit 50, Used 50, Requested 1. Please try again in {retry_after_secs}s.")}}),
            vec![("retry-after".into(), retry_after_secs.to_string())],
        ),
        ErrorKind::Quota {
            reset_epoch_secs, ..
        } => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            http(
                429,
                json!({"error": {"type": "usage_limit_reached", "message": "The usage limit has been reached",
                    "plan_type": "plus", "resets_at": reset_epoch_secs,
                    "resets_in_seconds": reset_epoch_secs.saturating_sub(now)}}),
                vec![],
            )
        }
        ErrorKind::Overloaded => http(
            503,
            json!({"error": {"type": "server_error", "code": "server_is_overloaded", "message": "The server is overloaded. Please try again later."}}),
            vec![],
        ),
        ErrorKind::Raw {
            status,
            headers,
            body,
        } => stream::json_response(*status, headers, body),
    }
}
