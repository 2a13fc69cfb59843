//! A typed Rust client for an `agentshim serve` server, over the generated gRPC stubs
//! ([`crate::rpc`]). The `agentshim` CLI's client commands use it; so can an orchestrator.
//!
//! ```no_run
//! # async fn demo() -> Result<(), agentshim::client::ClientError> {
//! use agentshim::client::{Client, ConnectOptions, NewShim, SendOptions};
//!
//! let mut client = Client::connect("127.0.0.1:50051", ConnectOptions::default()).await?;
//! let shim = client.create_shim(NewShim::profile("shell")).await?;
//! let sent = client
//!     .send_message(&shim.id, "echo hi", SendOptions { wait: true, ..Default::default() })
//!     .await?;
//! println!("{}", sent.completion.map(|c| c.response).unwrap_or_default());
//! # Ok(()) }
//! ```
//!
//! Addresses are `http://host:port`, `host:port`, `https://host:port` or `unix:/path`
//! ([`Target`]). A token in [`ConnectOptions`] is sent as `authorization: Bearer <token>` on
//! every request; without one, a server on loopback that generated its token gets that token,
//! read from the user's runtime directory. Failures are [`ClientError`]s; a server refusal keeps its `tonic::Status`.
//! [`Client`] is cheap to clone: clones share one HTTP/2 connection, which reconnects by
//! itself on the next call after it broke.
//!
//! For many servers (`examples/fleet.rs`): one [`Client`] per server, with
//! [`ConnectOptions::keepalive`] so a cut link is noticed, and one [`ResumableEvents`] per
//! server, which reconnects with backoff, resumes by `seq`, and tells a resumed stream from a
//! restarted server by the server's boot id ([`Client::server_info`]).

mod causes;
mod connect;
mod events;
mod resume;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tonic::codegen::InterceptedService;
use tonic::transport::Channel;

pub use causes::with_causes;
pub use connect::{
    BearerAuth, ConnectOptions, DEFAULT_CONNECT_TIMEOUT, Target, bearer_auth, open_channel,
};
pub use events::EventStream;
pub use resume::{ResumableEvents, ResumeItem, ResumeOptions};

use crate::rpc::agent_shim_service_client::AgentShimServiceClient;
use crate::rpc::{
    AnswerRequest, AttachRequest, AttachResponse, AttachStart, CaptureScreenRequest,
    CreateShimRequest, DeleteShimRequest, ExplainRequest, ExplainResponse, GetRecordingRequest,
    GetRecordingResponse, GetServerInfoRequest, GetServerInfoResponse, GetShimRequest,
    GetStateRequest, GetStateResponse, KillRequest, ListShimsRequest, PingRequest, ResizeRequest,
    ScreenCapture, SendKeysRequest, SendMessageRequest, SendMessageResponse, ShimInfo,
    ShutdownReason, ShutdownRequest, StreamEventsRequest, attach_request,
};
use crate::runtime_dir::RuntimeDirError;

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server address could not be understood.
    #[error("invalid server address `{target}`: {reason}")]
    InvalidTarget { target: String, reason: String },
    /// The token cannot be sent in an HTTP header (it is not shown here on purpose).
    #[error("invalid token: it must be printable ASCII")]
    InvalidToken,
    /// The runtime directory, where a local server's generated token would be, is unusable.
    #[error(transparent)]
    TokenFile(#[from] RuntimeDirError),
    /// The TLS CA certificate file could not be read.
    #[error("cannot read TLS CA file {}", path.display())]
    TlsCaFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// No connection could be made to the server.
    #[error("cannot connect to {target}")]
    Connect {
        target: String,
        #[source]
        source: tonic::transport::Error,
    },
    /// The server (or the transport, mid-call) answered with an error status.
    #[error("{}", describe_status(.0))]
    Status(tonic::Status),
    /// The server ended an event stream (it does so when it stops).
    #[error("the server ended the event stream")]
    StreamEnded,
}

impl From<tonic::Status> for ClientError {
    fn from(status: tonic::Status) -> Self {
        Self::Status(status)
    }
}

impl ClientError {
    /// The gRPC status code, when the failure is a status.
    pub fn code(&self) -> Option<tonic::Code> {
        match self {
            Self::Status(status) => Some(status.code()),
            _ => None,
        }
    }
}

/// `"<server's message> (<Code>)"`, e.g. `shim "x" not found (NotFound)`.
fn describe_status(status: &tonic::Status) -> String {
    format!("{} ({:?})", status_text(status), status.code())
}

/// The server's message of `status` (its code's description when it has none). A transport
/// failure adds its causes, each once: `tcp connect error: Network is unreachable (os error
/// 101)`.
pub fn status_text(status: &tonic::Status) -> String {
    let text = match status.message().trim() {
        "" => status.code().description().to_owned(),
        message => message.to_owned(),
    };
    with_causes(text, std::error::Error::source(status))
}

/// The part `what` of a response, which a server always sets.
pub(crate) fn part_of<T>(part: Option<T>, what: &str) -> Result<T, ClientError> {
    part.ok_or_else(|| {
        ClientError::Status(tonic::Status::internal(format!(
            "the server's response has no {what}"
        )))
    })
}

/// What to create: a server-side profile plus the overrides a client may make.
#[derive(Clone, Debug, Default)]
pub struct NewShim {
    /// Profile name (`shell` is built in); empty means the server's default profile.
    pub profile: String,
    /// The shim's id; the server generates one when `None`.
    pub id: Option<String>,
    /// Working directory override.
    pub cwd: Option<String>,
    /// Environment variables added to the profile's.
    pub env: HashMap<String, String>,
    /// Terminal size override (rows, cols).
    pub size: Option<(u16, u16)>,
    /// Rows of history override.
    pub scrollback: Option<u32>,
    /// Program and arguments replacing the profile's (the server must allow it).
    pub command: Vec<String>,
    /// Record the shim's terminal (or not), replacing the profile's `record`.
    pub record: Option<bool>,
}

impl NewShim {
    /// A shim of `profile` with the profile's settings.
    pub fn profile(profile: impl Into<String>) -> Self {
        Self {
            profile: profile.into(),
            ..Self::default()
        }
    }

    /// Sets the shim's id.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Records the shim's terminal (GetRecording reads it back).
    pub fn recorded(mut self) -> Self {
        self.record = Some(true);
        self
    }

    /// Adds an environment variable.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    /// The wire request this asks for.
    pub fn into_request(self) -> CreateShimRequest {
        let (rows, cols) = self.size.unwrap_or((0, 0));
        CreateShimRequest {
            id: self.id.unwrap_or_default(),
            profile: self.profile,
            cwd: self.cwd.unwrap_or_default(),
            env: self.env,
            rows: rows.into(),
            cols: cols.into(),
            command: self.command,
            scrollback: self.scrollback,
            record: self.record,
        }
    }
}

/// Options of [`Client::send_message`].
#[derive(Clone, Debug, Default)]
pub struct SendOptions {
    /// Who sends it (logged by the server, not typed).
    pub from: Option<String>,
    /// The message's id; the server generates one when `None`.
    pub message_id: Option<String>,
    /// Return only after the agent answered this message (the response then carries the
    /// `Completion`).
    pub wait: bool,
}

/// Options of [`Client::capture_screen`].
#[derive(Clone, Copy, Debug, Default)]
pub struct CaptureOptions {
    /// Only the last N lines (`None`: the whole visible screen).
    pub last_n_lines: Option<u32>,
    /// With `last_n_lines`, reach into the scrollback; without, the whole scrollback too.
    pub include_scrollback: bool,
}

/// A connected client. Every method is one RPC.
#[derive(Clone, Debug)]
pub struct Client {
    rpc: AgentShimServiceClient<InterceptedService<Channel, BearerAuth>>,
}

impl Client {
    /// Connects to `target` (see [`Target`] for the accepted forms).
    pub async fn connect(target: &str, options: ConnectOptions) -> Result<Self, ClientError> {
        let target: Target = target.parse()?;
        Self::connect_to(&target, &options).await
    }

    /// Connects to an already parsed [`Target`].
    pub async fn connect_to(
        target: &Target,
        options: &ConnectOptions,
    ) -> Result<Self, ClientError> {
        let auth = bearer_auth(target, options)?;
        let channel = open_channel(target, options).await?;
        Ok(Self::from_channel(channel, auth))
    }

    /// Wraps a channel opened elsewhere (e.g. an in-process test server).
    pub fn from_channel(channel: Channel, auth: BearerAuth) -> Self {
        Self {
            rpc: AgentShimServiceClient::with_interceptor(channel, auth),
        }
    }

    /// The generated stub on the same connection (and token), for requests this client does
    /// not shape: every field of the wire messages as the proto has them.
    pub fn rpc(&mut self) -> &mut AgentShimServiceClient<InterceptedService<Channel, BearerAuth>> {
        &mut self.rpc
    }

    /// Starts a new shim; returns what the server knows about it.
    pub async fn create_shim(&mut self, new: NewShim) -> Result<ShimInfo, ClientError> {
        let response = self.rpc.create_shim(new.into_request()).await?;
        part_of(response.into_inner().shim, "shim")
    }

    /// Every shim the server knows, dead or alive.
    pub async fn list_shims(&mut self) -> Result<Vec<ShimInfo>, ClientError> {
        let response = self.rpc.list_shims(ListShimsRequest {}).await?;
        Ok(response.into_inner().shims)
    }

    /// One shim.
    pub async fn get_shim(&mut self, shim_id: &str) -> Result<ShimInfo, ClientError> {
        let request = GetShimRequest {
            shim_id: shim_id.to_owned(),
        };
        part_of(self.rpc.get_shim(request).await?.into_inner().shim, "shim")
    }

    /// Kills the shim's agent if it is alive and forgets the shim.
    pub async fn delete_shim(&mut self, shim_id: &str) -> Result<(), ClientError> {
        let request = DeleteShimRequest {
            shim_id: shim_id.to_owned(),
        };
        self.rpc.delete_shim(request).await?;
        Ok(())
    }

    /// Sends a message (delivered now, or queued behind the agent's current work). With
    /// `options.wait`, returns after the agent's answer, in `completion`.
    pub async fn send_message(
        &mut self,
        shim_id: &str,
        body: &str,
        options: SendOptions,
    ) -> Result<SendMessageResponse, ClientError> {
        let request = SendMessageRequest {
            shim_id: shim_id.to_owned(),
            sender: options.from.unwrap_or_default(),
            body: body.to_owned(),
            message_id: options.message_id.unwrap_or_default(),
            wait: options.wait,
        };
        Ok(self.rpc.send_message(request).await?.into_inner())
    }

    /// The agent's screen as text.
    pub async fn capture_screen(
        &mut self,
        shim_id: &str,
        options: CaptureOptions,
    ) -> Result<ScreenCapture, ClientError> {
        let request = CaptureScreenRequest {
            shim_id: shim_id.to_owned(),
            last_n_lines: options.last_n_lines.unwrap_or(0),
            include_scrollback: options.include_scrollback,
        };
        let response = self.rpc.capture_screen(request).await?;
        part_of(response.into_inner().screen, "screen")
    }

    /// The shim's state and how long it has lasted.
    pub async fn get_state(&mut self, shim_id: &str) -> Result<GetStateResponse, ClientError> {
        let request = GetStateRequest {
            shim_id: shim_id.to_owned(),
        };
        Ok(self.rpc.get_state(request).await?.into_inner())
    }

    /// Picks `option` (1-based, in the order of the `InputRequested` event) of the question
    /// the agent waits on, the way its CLI expects; returns the option's text. Refused with
    /// `FAILED_PRECONDITION` when no question is open, `INVALID_ARGUMENT` (naming the valid
    /// range) for an option that is not a choice.
    pub async fn answer(&mut self, shim_id: &str, option: u32) -> Result<String, ClientError> {
        let request = AnswerRequest {
            shim_id: shim_id.to_owned(),
            option,
        };
        Ok(self.rpc.answer(request).await?.into_inner().chosen)
    }

    /// Types raw input into the agent: text with named keys such as `<Enter>`, `<Esc>`, `<Up>`,
    /// `<Down>`, `<Tab>`, `<C-c>` (`<lt>` is a literal `<`). An unknown key name is refused
    /// with `INVALID_ARGUMENT` and nothing is typed.
    pub async fn send_keys(&mut self, shim_id: &str, keys: &str) -> Result<(), ClientError> {
        let request = SendKeysRequest {
            shim_id: shim_id.to_owned(),
            keys: keys.to_owned(),
        };
        self.rpc.send_keys(request).await?;
        Ok(())
    }

    /// Resizes the agent's terminal.
    pub async fn resize(&mut self, shim_id: &str, rows: u16, cols: u16) -> Result<(), ClientError> {
        let request = ResizeRequest {
            shim_id: shim_id.to_owned(),
            rows: rows.into(),
            cols: cols.into(),
        };
        self.rpc.resize(request).await?;
        Ok(())
    }

    /// Asks the agent to exit (SIGTERM at half of `timeout`, SIGKILL at `timeout`); returns its
    /// exit code once it is gone.
    pub async fn shutdown(
        &mut self,
        shim_id: &str,
        timeout: Duration,
        reason: ShutdownReason,
    ) -> Result<Option<i32>, ClientError> {
        let request = ShutdownRequest {
            shim_id: shim_id.to_owned(),
            timeout_secs: Some(u32::try_from(timeout.as_secs()).unwrap_or(u32::MAX)),
            reason: reason.into(),
        };
        Ok(self.rpc.shutdown(request).await?.into_inner().exit_code)
    }

    /// SIGKILLs the agent and everything it started; returns its exit code once it is gone.
    pub async fn kill(&mut self, shim_id: &str) -> Result<Option<i32>, ClientError> {
        let request = KillRequest {
            shim_id: shim_id.to_owned(),
        };
        Ok(self.rpc.kill(request).await?.into_inner().exit_code)
    }

    /// Pings the shim's actor; returns the round-trip time.
    pub async fn ping(&mut self, shim_id: &str) -> Result<Duration, ClientError> {
        let request = PingRequest {
            shim_id: shim_id.to_owned(),
        };
        let started = Instant::now();
        self.rpc.ping(request).await?;
        Ok(started.elapsed())
    }

    /// Attaches to a shim's terminal as `start` says; `requests` are the client's requests
    /// after it (input, resizes, detach), the returned stream is the server's side.
    pub async fn attach(
        &mut self,
        start: AttachStart,
        requests: impl futures_util::Stream<Item = AttachRequest> + Send + 'static,
    ) -> Result<tonic::Streaming<AttachResponse>, ClientError> {
        use futures_util::StreamExt;
        let first = AttachRequest {
            request: Some(attach_request::Request::Start(start)),
        };
        let outbound = futures_util::stream::iter([first]).chain(requests);
        Ok(self.rpc.attach(outbound).await?.into_inner())
    }

    /// The recording of a recorded shim as it is now (asciicast v2), in chunks.
    pub async fn get_recording(
        &mut self,
        shim_id: &str,
    ) -> Result<tonic::Streaming<GetRecordingResponse>, ClientError> {
        let request = GetRecordingRequest {
            shim_id: shim_id.to_owned(),
        };
        Ok(self.rpc.get_recording(request).await?.into_inner())
    }

    /// Why the shim is in its state: its last state changes with their evidence.
    pub async fn explain(&mut self, shim_id: &str) -> Result<ExplainResponse, ClientError> {
        let request = ExplainRequest {
            shim_id: shim_id.to_owned(),
        };
        Ok(self.rpc.explain(request).await?.into_inner())
    }

    /// Streams events of one shim (or of every shim with `None`): the retained ones with a
    /// seq greater than `after_seq` first, then live ones.
    pub async fn stream_events(
        &mut self,
        shim_id: Option<&str>,
        after_seq: u64,
    ) -> Result<EventStream, ClientError> {
        self.stream_events_as(StreamEventsRequest {
            shim_id: shim_id.unwrap_or_default().to_owned(),
            after_seq,
            ..StreamEventsRequest::default()
        })
        .await
    }

    /// Streams events as `request` says: with `after_shim_seqs`, after the last `shim_seq`
    /// seen of each shim, which is how a stream resumes on a restarted server.
    pub async fn stream_events_as(
        &mut self,
        request: StreamEventsRequest,
    ) -> Result<EventStream, ClientError> {
        Ok(EventStream::new(self.rpc.stream_events(request).await?))
    }

    /// Who the server is: its boot id (new at every restart), start time and version.
    pub async fn server_info(&mut self) -> Result<GetServerInfoResponse, ClientError> {
        let response = self.rpc.get_server_info(GetServerInfoRequest {}).await?;
        Ok(response.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_shows_its_message_its_causes_once_and_its_code() {
        let found = tonic::Status::not_found("shim `x` not found");
        assert_eq!(describe_status(&found), "shim `x` not found (NotFound)");
        let empty = tonic::Status::unavailable("");
        assert_eq!(
            describe_status(&empty),
            "The service is currently unavailable (Unavailable)"
        );
        let mut transport = tonic::Status::unavailable("tcp connect error");
        let cause = std::io::Error::other("Network is unreachable");
        transport.set_source(std::sync::Arc::new(cause));
        assert_eq!(
            describe_status(&transport),
            "tcp connect error: Network is unreachable (Unavailable)"
        );
    }
}
