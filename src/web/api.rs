//! The console's JSON calls (`/api/...`): each is one call of the gRPC service, made
//! in-process, answered in the JSON the CLI's `--json` prints, and its error as
//! `{"error", "code"}` with the HTTP status that matches the gRPC code.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};
use tonic::{Code, Request, Status};

use super::Console;
use crate::cli::output::{capture_json, shim_json, status_code_name};
use crate::rpc::{self, agent_shim_service_server::AgentShimService as _};
use crate::unix_time::timestamp_unix_ms;

/// The largest request body a call takes (a message's body is at most the framed protocol's
/// frame, 1 MiB).
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// A failed call, as the page gets it.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: String,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: Code, message: impl Into<String>) -> Self {
        Self {
            status,
            code: status_code_name(code),
            message: message.into(),
        }
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            Code::Unauthenticated,
            "sign in first: open the link the server printed",
        )
    }

    pub fn forbidden_origin() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            Code::PermissionDenied,
            "this call must come from the console's own page (its Origin is not this server)",
        )
    }

    pub fn internal(message: String) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, Code::Internal, message)
    }

    /// The error as a JSON object (also what the terminal's WebSocket sends before closing).
    pub fn to_json(&self) -> Value {
        json!({"error": self.message, "code": self.code})
    }
}

impl From<Status> for ApiError {
    fn from(status: Status) -> Self {
        let http = match status.code() {
            Code::InvalidArgument | Code::OutOfRange => StatusCode::BAD_REQUEST,
            Code::Unauthenticated => StatusCode::UNAUTHORIZED,
            Code::PermissionDenied => StatusCode::FORBIDDEN,
            Code::NotFound => StatusCode::NOT_FOUND,
            Code::AlreadyExists | Code::FailedPrecondition | Code::Aborted => StatusCode::CONFLICT,
            Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
            Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self::new(http, status.code(), status.message())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.to_json())).into_response()
    }
}

type Answer = Result<Json<Value>, ApiError>;

/// Unknown paths under `/api`.
pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, Code::NotFound, "no such call")
}

pub async fn server_info(State(console): State<Console>) -> Answer {
    let request = Request::new(rpc::GetServerInfoRequest {});
    let info = console.service.get_server_info(request).await?.into_inner();
    Ok(Json(json!({
        "boot_id": info.boot_id,
        "version": info.version,
        "started_unix_ms": timestamp_unix_ms(info.started_at.as_ref()),
    })))
}

pub async fn list_shims(State(console): State<Console>) -> Answer {
    let listed = console
        .service
        .list_shims(Request::new(rpc::ListShimsRequest {}))
        .await?;
    let shims: Vec<Value> = listed.into_inner().shims.iter().map(shim_json).collect();
    Ok(Json(json!({ "shims": shims })))
}

pub async fn get_shim(State(console): State<Console>, Path(shim_id): Path<String>) -> Answer {
    let request = Request::new(rpc::GetShimRequest { shim_id });
    let shim = console.service.get_shim(request).await?.into_inner().shim;
    Ok(Json(shim.as_ref().map(shim_json).unwrap_or_default()))
}

#[derive(Deserialize)]
pub struct NewMessage {
    body: String,
}

/// Sends without waiting: the answer comes on the event stream as the message's Completion.
pub async fn send_message(
    State(console): State<Console>,
    Path(shim_id): Path<String>,
    Json(message): Json<NewMessage>,
) -> Answer {
    let request = Request::new(rpc::SendMessageRequest {
        shim_id,
        sender: "web console".to_owned(),
        body: message.body,
        message_id: String::new(),
        wait: false,
    });
    let sent = console.service.send_message(request).await?.into_inner();
    Ok(Json(
        json!({"message_id": sent.message_id, "queued": sent.queued}),
    ))
}

#[derive(Deserialize)]
pub struct Choice {
    option: u32,
}

pub async fn answer(
    State(console): State<Console>,
    Path(shim_id): Path<String>,
    Json(choice): Json<Choice>,
) -> Answer {
    let request = Request::new(rpc::AnswerRequest {
        shim_id,
        option: choice.option,
    });
    console.service.answer(request).await?;
    Ok(Json(json!({})))
}

pub async fn kill(State(console): State<Console>, Path(shim_id): Path<String>) -> Answer {
    let killed = console
        .service
        .kill(Request::new(rpc::KillRequest { shim_id }))
        .await?;
    Ok(Json(json!({"exit_code": killed.into_inner().exit_code})))
}

pub async fn screen(State(console): State<Console>, Path(shim_id): Path<String>) -> Answer {
    let request = Request::new(rpc::CaptureScreenRequest {
        shim_id,
        last_n_lines: 0,
        include_scrollback: false,
    });
    let captured = console.service.capture_screen(request).await?.into_inner();
    Ok(Json(
        captured
            .screen
            .as_ref()
            .map(capture_json)
            .unwrap_or_default(),
    ))
}

/// The shim's asciicast as it is so far, streamed as the file is read.
pub async fn recording(
    State(console): State<Console>,
    Path(shim_id): Path<String>,
) -> Result<Response, ApiError> {
    let request = Request::new(rpc::GetRecordingRequest { shim_id });
    let chunks = console.service.get_recording(request).await?.into_inner();
    let body = Body::from_stream(chunks.map(|chunk| {
        chunk
            .map(|chunk| chunk.data)
            .map_err(|status| std::io::Error::other(status.message().to_owned()))
    }));
    Ok(([(header::CONTENT_TYPE, "application/x-asciicast")], body).into_response())
}
