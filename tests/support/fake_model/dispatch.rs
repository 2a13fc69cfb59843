//! The server's one axum handler: reads a request, routes it by path to its API module
//! (`/v1/messages*` Anthropic, `/v1/responses` OpenAI, `/v1beta/models/*` Gemini, `HEAD /`
//! probes, anything else 404), records it with what was decided, and responds.
//!
//! The API modules are synchronous: they decide the whole answer (streams are fed by a spawned
//! task) and say how long a non-streamed answer waits, so the record exists while the answer is
//! still coming.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::State;
use axum::http::Request;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::script::{Api, Reply, RequestRecord, Served, TurnKind, Usage};
use super::{Shared, anthropic, gemini, openai, stream};

/// Largest request body accepted (Claude's main turns carry ~100 KB of tool schemas).
const MAX_BODY: usize = 64 * 1024 * 1024;

/// A request as the API modules see it.
pub(crate) struct Incoming {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
    pub body_len: usize,
}

/// What an API module decided: the response plus what to record about the request.
pub(crate) struct Handled {
    pub response: Response,
    /// Waited after recording and before responding (non-streamed slow replies).
    pub delay: Duration,
    pub api: Api,
    pub kind: TurnKind,
    pub model: Option<String>,
    pub stream: bool,
    pub tools: usize,
    pub user_text: Option<String>,
    pub served: Served,
    pub scripted: bool,
    pub usage: Option<Usage>,
}

impl Handled {
    /// A record skeleton for `api`: not streamed, no tools, nothing scripted, no usage.
    pub fn new(
        api: Api,
        kind: TurnKind,
        model: Option<String>,
        served: Served,
        response: Response,
    ) -> Self {
        Self {
            response,
            delay: Duration::ZERO,
            api,
            kind,
            model,
            stream: false,
            tools: 0,
            user_text: None,
            served,
            scripted: false,
            usage: None,
        }
    }
}

/// What the API modules may ask of the server.
pub(crate) struct Ctx<'a> {
    shared: &'a Shared,
    /// A number unique to this request, for response and call ids.
    pub id: usize,
}

impl Ctx<'_> {
    /// The next scripted reply (or the default text) and whether it was scripted.
    pub fn next_reply(&self) -> (Reply, bool) {
        self.shared.script.lock().unwrap().next()
    }

    /// A receiver that turns true when the server stops (ends paced and hung streams).
    pub fn shutdown(&self) -> watch::Receiver<bool> {
        self.shared.shutdown_rx.clone()
    }
}

/// The one handler: reads the request, hands it to its API module, records it, responds.
pub(super) async fn dispatch(
    State(shared): State<Arc<Shared>>,
    request: Request<Body>,
) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, MAX_BODY).await.unwrap_or_default();
    let (response, delay) = answer(&shared, &parts, &bytes);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    response
}

/// Decides the answer, records the request, and says how long to wait before responding.
fn answer(
    shared: &Shared,
    parts: &axum::http::request::Parts,
    bytes: &[u8],
) -> (Response, Duration) {
    let incoming = Incoming {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: serde_json::from_slice(bytes).unwrap_or(Value::Null),
        body_len: bytes.len(),
    };
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let ctx = Ctx { shared, id };
    let path = incoming.path.as_str();
    let handled = if path.starts_with("/v1/messages") {
        anthropic::handle(&ctx, &incoming)
    } else if path.starts_with("/v1/responses") {
        openai::handle(&ctx, &incoming)
    } else if path.starts_with("/v1beta/models/") || path.starts_with("/v1/models/") {
        gemini::handle(&ctx, &incoming)
    } else if path == "/" && (incoming.method == "HEAD" || incoming.method == "GET") {
        let response = (axum::http::StatusCode::OK, "").into_response();
        Handled::new(Api::Unknown, TurnKind::Probe, None, Served::Empty, response)
    } else {
        not_found(&incoming)
    };
    let uri = if incoming.query.is_empty() {
        incoming.path.clone()
    } else {
        format!("{}?{}", incoming.path, incoming.query)
    };
    let mut records = shared.records.lock().unwrap();
    let seq = records.len();
    records.push(RequestRecord {
        seq,
        at: shared.started.elapsed(),
        method: incoming.method,
        uri,
        api: handled.api,
        kind: handled.kind,
        model: handled.model,
        stream: handled.stream,
        tools: handled.tools,
        user_text: handled.user_text,
        tool_results: match handled.api {
            Api::Anthropic => anthropic::tool_results(&incoming.body),
            Api::OpenAiResponses => openai::tool_results(&incoming.body),
            Api::Gemini => gemini::tool_results(&incoming.body),
            Api::Unknown => Vec::new(),
        },
        headers: incoming.headers,
        body: incoming.body,
        served: handled.served,
        scripted: handled.scripted,
        usage: handled.usage,
    });
    let count = records.len();
    drop(records);
    shared.recorded_tx.send_replace(count);
    (handled.response, handled.delay)
}

fn not_found(req: &Incoming) -> Handled {
    let body = json!({"error": {"code": 404, "message": format!("fake model server: no route for {}", req.path)}});
    let response = stream::json_response(404, &[], &body);
    Handled::new(
        Api::Unknown,
        TurnKind::Unknown,
        None,
        Served::NotFound,
        response,
    )
}
