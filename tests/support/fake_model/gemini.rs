//! The Gemini API as Gemini CLI uses it: `POST /v1beta/models/{model}:streamGenerateContent?alt=sse`
//! (main turns), `:generateContent` and `:countTokens`.
//!
//! Streamed chunks are bare `data: {...}` lines (no `event:` line: the SDK's line pattern only
//! accepts `data:` first), each a `GenerateContentResponse` with one candidate; the last one
//! carries `finishReason: STOP` and `usageMetadata`. A `generateContent` in JSON mode
//! (`responseMimeType: application/json`) is a side request: the router classifier (its schema
//! has `complexity_score`, or `model_choice` in older versions) or another check (next speaker, …); it gets JSON text fitting
//! `responseJsonSchema`/`responseSchema` and never touches the script. A non-JSON
//! `generateContent` is a main turn answered in one piece.
//!
//! Usage follows Gemini's convention: `promptTokenCount` counts all prompt tokens and
//! `cachedContentTokenCount` the cached part of them.

use serde_json::{Value, json};

use super::Api;
use super::dispatch::{Ctx, Handled, Incoming};
use super::schema;
use super::script::{ErrorKind, Reply, ReplyBody, Served, TurnKind, Usage};
use super::stream::{self, Frame, chunk_delays, chunk_text, sse};

/// Schema fields that mark the router classifier: 0.61 asks for a `complexity_score` (1–100;
/// the fill gives 1, "trivial", so the flash model is picked), older versions a `model_choice`.
const ROUTER_FIELDS: &[&str] = &["complexity_score", "model_choice"];

pub fn handle(ctx: &Ctx, req: &Incoming) -> Handled {
    let body = &req.body;
    let segment = req.path.rsplit('/').next().unwrap_or("");
    let (model, method) = segment.split_once(':').unwrap_or((segment, ""));
    let model = Some(model.to_string());
    let api = Api::Gemini;
    if method == "countTokens" {
        let tokens = (req.body_len / 4).max(1) as u64;
        let response = stream::json_response(200, &[], &json!({"totalTokens": tokens}));
        return Handled::new(
            api,
            TurnKind::CountTokens,
            model,
            Served::TokenCount(tokens),
            response,
        );
    }
    let is_stream = method == "streamGenerateContent";
    let tools: usize = body["tools"].as_array().map_or(0, |t| {
        t.iter()
            .map(|g| g["functionDeclarations"].as_array().map_or(0, Vec::len))
            .sum()
    });
    let user_text = last_user_text(body);
    let config = &body["generationConfig"];

    let (kind, reply, scripted, served) = if config["responseMimeType"] == "application/json" {
        let schema = config
            .get("responseJsonSchema")
            .or_else(|| config.get("responseSchema"))
            .cloned()
            .unwrap_or(json!({}));
        let router = ROUTER_FIELDS
            .iter()
            .any(|f| schema::has_property(&schema, f));
        let kind = if router {
            TurnKind::Router
        } else {
            TurnKind::JsonSide
        };
        let value = schema::fill(&schema, "");
        (
            kind,
            Reply::text(value.to_string()),
            false,
            Served::Json(value),
        )
    } else {
        let (reply, scripted) = ctx.next_reply();
        let served = reply.body.served();
        (TurnKind::Main, reply, scripted, served)
    };
    let usage = reply.usage_for(req.body_len);
    let reports_usage = reply.body.is_answer();
    let model_name = model.clone().unwrap_or_default();
    let mut delay = std::time::Duration::ZERO;
    let response = match &reply.body {
        ReplyBody::Error(kind) => error_response(kind),
        ReplyBody::Hang if is_stream => stream::hang_response("text/event-stream", ctx.shutdown()),
        ReplyBody::Hang => stream::hang_response("application/json", ctx.shutdown()),
        _ if is_stream => stream::paced_sse(
            frames(ctx, &model_name, &reply, usage),
            false,
            ctx.shutdown(),
        ),
        _ => {
            let chunks = pieces(&reply);
            delay = stream::total_delay(&reply.pacing, chunks.len());
            let parts: Vec<Value> = chunks.into_iter().map(|(part, _)| part).collect();
            let merged = merge_text_parts(parts);
            stream::json_response(200, &[], &chunk(ctx, &model_name, merged, Some(&usage)))
        }
    };
    let handled = Handled::new(api, kind, model, served, response);
    Handled {
        delay,
        stream: is_stream,
        tools,
        user_text,
        scripted,
        usage: reports_usage.then_some(usage),
        ..handled
    }
}

/// Text of the last user turn (function responses excluded).
pub fn last_user_text(body: &Value) -> Option<String> {
    let content = body["contents"]
        .as_array()?
        .iter()
        .rev()
        .find(|c| c["role"] == "user")?;
    let text = content["parts"]
        .as_array()?
        .iter()
        .filter_map(|p| p["text"].as_str())
        .collect::<Vec<_>>()
        .join("\n");
    (!text.is_empty()).then_some(text)
}

/// The `functionResponse` parts of the last content, as text (`response.output` when present).
pub fn tool_results(body: &Value) -> Vec<String> {
    let Some(last) = body["contents"].as_array().and_then(|c| c.last()) else {
        return Vec::new();
    };
    let parts = last["parts"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    parts
        .iter()
        .filter_map(|p| p.get("functionResponse"))
        .map(|r| {
            r["response"]["output"]
                .as_str()
                .map_or_else(|| r["response"].to_string(), String::from)
        })
        .collect()
}

fn usage_json(u: &Usage) -> Value {
    let prompt = u.input_tokens + u.cache_read_tokens + u.cache_creation_tokens;
    json!({
        "promptTokenCount": prompt,
        "candidatesTokenCount": u.output_tokens,
        "totalTokenCount": prompt + u.output_tokens,
        "cachedContentTokenCount": u.cache_read_tokens,
    })
}

/// The content parts of a reply, one per chunk, each with its chunk index.
fn pieces(reply: &Reply) -> Vec<(Value, usize)> {
    match &reply.body {
        ReplyBody::Text(text) => chunk_text(text, reply.pacing.words_per_chunk)
            .into_iter()
            .enumerate()
            .map(|(i, t)| (json!({"text": t}), i))
            .collect(),
        ReplyBody::ShellCall { command, .. } => vec![(
            json!({"functionCall": {"name": "run_shell_command",
                "args": {"command": command, "description": "Run the scripted command"}}}),
            0,
        )],
        ReplyBody::ToolCall { name, input } => {
            vec![(json!({"functionCall": {"name": name, "args": input}}), 0)]
        }
        _ => Vec::new(),
    }
}

/// Joins consecutive text parts into one (a whole, non-streamed answer).
fn merge_text_parts(parts: Vec<Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for part in parts {
        match (out.last_mut(), part["text"].as_str()) {
            (Some(last), Some(t)) if last["text"].is_string() => {
                let joined = format!("{}{}", last["text"].as_str().unwrap_or(""), t);
                last["text"] = json!(joined);
            }
            _ => out.push(part),
        }
    }
    out
}

/// One `GenerateContentResponse`; with `usage` it is the last one (`finishReason: STOP`).
fn chunk(ctx: &Ctx, model: &str, parts: Vec<Value>, usage: Option<&Usage>) -> Value {
    let mut candidate = json!({"content": {"role": "model", "parts": parts}, "index": 0});
    let mut out = json!({"candidates": [], "modelVersion": model, "responseId": format!("fake-response-{:06}", ctx.id)});
    if let Some(u) = usage {
        candidate["finishReason"] = json!("STOP");
        out["usageMetadata"] = usage_json(u);
    }
    out["candidates"] = json!([candidate]);
    out
}

fn frames(ctx: &Ctx, model: &str, reply: &Reply, usage: Usage) -> Vec<Frame> {
    let parts = pieces(reply);
    let n = parts.len();
    parts
        .into_iter()
        .zip(chunk_delays(&reply.pacing, n))
        .map(|((part, i), delay)| {
            let last = i + 1 == n;
            Frame::after(
                delay,
                sse(None, &chunk(ctx, model, vec![part], last.then_some(&usage))),
            )
        })
        .collect()
}

/// Errors in the Google API error format.
fn error_response(kind: &ErrorKind) -> axum::response::Response {
    let err = |code: u16, status: &str, message: &str, details: Value| {
        let mut error = json!({"code": code, "message": message, "status": status});
        if details.as_array().is_some_and(|d| !d.is_empty()) {
            error["details"] = details;
        }
        stream::json_response(code, &[], &json!({"error": error}))
    };
    match kind {
        ErrorKind::ContextTooLong => err(
            400,
            "INVALID_ARGUMENT",
            "The input token count (1234567) exceeds the maximum number of tokens allowed (1048576).",
            json!([]),
        ),
        ErrorKind::RateLimit { .. } => err(
            429,
            "RESOURCE_EXHAUSTED",
            "Resource has been exhausted (e.g. check quota).",
            json!([]),
        ),
        ErrorKind::Quota {
            reset_epoch_secs, ..
        } => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let metric = "generativelanguage.googleapis.com/generate_content_free_tier_requests";
            err(
                429,
                "RESOURCE_EXHAUSTED",
                &format!(
                    "You exceeded your current quota, please check your plan and billing details. \
                     Quota exceeded for metric: {metric}, limit: 250, model: gemini-3.8-flash"
                ),
                json!([
                    {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{
                        "quotaMetric": metric,
                        "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
                        "quotaDimensions": {"location": "global", "model": "gemini-3.8-flash"},
                        "quotaValue": "250"}]},
                    {"@type": "type.googleapis.com/google.rpc.Help", "links": [{
                        "description": "Learn more about Gemini API quotas",
                        "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo",
                     "retryDelay": format!("{}s", reset_epoch_secs.saturating_sub(now))},
                ]),
            )
        }
        ErrorKind::Overloaded => err(
            503,
            "UNAVAILABLE",
            "The model is overloaded. Please try again later.",
            json!([]),
        ),
        ErrorKind::Raw {
            status,
            headers,
            body,
        } => stream::json_response(*status, headers, body),
    }
}
