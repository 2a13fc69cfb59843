//! Helpers for integration tests of the gRPC server: an in-process server on `127.0.0.1:0`
//! with a bash profile that has a fixed prompt, the crate's typed client connected to it (its
//! `rpc()` stub for tests of the wire messages themselves), an event stream reader that waits
//! on events (never on fixed sleeps) with generous timeouts, and status assertions.
//! (`serve_process.rs` runs the binary.)

use std::path::PathBuf;
use std::time::{Duration, Instant};

use agentshim::client::{
    BearerAuth, ClientError, ConnectOptions, EventStream, NewShim, SendOptions, Target,
    open_channel,
};
use agentshim::rpc::event_envelope::Event as Pb;
use agentshim::rpc::{self, CreateShimRequest, EventEnvelope, ShimInfo};
use agentshim::server::config::ConfigFile;
use agentshim::server::profiles::Profiles;
use agentshim::server::{Auth, ListenAddr, ServerError, ServerOptions, bind};
use tokio::sync::oneshot;

use super::reader::{EventSource, Reader};
use tokio::task::JoinHandle;
use tonic::{Code, Status};

/// Upper bound for any single wait in a test; a loaded 2-core machine stays well inside it.
pub use super::eventually::TIMEOUT;
use super::eventually::eventually_async;

/// The prompt of the test shells.
pub const PROMPT: &str = "srv-test$ ";

/// The name of the test profile.
pub const BASH: &str = "bash";

/// A config file with the `bash` test profile: no startup files, no history, a fixed prompt.
pub const CONFIG_TOML: &str = r#"
[profiles.bash]
command = ["bash", "--norc", "--noprofile", "-i"]
env = { PS1 = "srv-test$ ", HISTFILE = "/dev/null", LANG = "C.UTF-8" }
"#;

pub type Client = agentshim::client::Client;

/// Built-in profiles plus `bash` from [`CONFIG_TOML`].
pub fn test_profiles() -> Profiles {
    let config: ConfigFile = toml::from_str(CONFIG_TOML).expect("test config parses");
    Profiles::with_config(&config).expect("test profiles are valid")
}

/// Loopback on an ephemeral port with the test profiles, and no token: these servers live
/// inside the test process, for tests of everything but auth (`server_auth.rs` and
/// `security_default_auth.rs` test auth, the default included). Their shims run in real
/// `agentshim shim` processes, in a state directory of their own.
pub fn test_options() -> ServerOptions {
    let mut options = ServerOptions::new(ListenAddr::Tcp("127.0.0.1:0".parse().unwrap()));
    options.profiles = test_profiles();
    options.auth = Auth::Disabled;
    options.state_dir = Some(fresh_state_dir());
    options.shim_program = Some(env!("CARGO_BIN_EXE_agentshim").into());
    options
}

/// A state directory path no other server uses (not created: the server creates it).
pub fn fresh_state_dir() -> PathBuf {
    std::env::temp_dir().join(format!(
        "agentshim-state-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ))
}

/// A real server serving in the test's runtime until [`TestServer::stop_within`] (or drop).
pub struct TestServer {
    /// `IP:PORT` or `unix:PATH`.
    pub addr: String,
    /// The link that opens its web console, when it serves one.
    pub web_url: Option<String>,
    /// Resolves the server's stop future; taken by `stop_within` or drop.
    stop_tx: Option<oneshot::Sender<()>>,
    served: Option<JoinHandle<Result<(), ServerError>>>,
    /// The server's state directory, removed on drop.
    state_dir: Option<PathBuf>,
}

impl TestServer {
    pub async fn start(options: ServerOptions) -> Self {
        let state_dir = options.state_dir.clone();
        let server = bind(options).await.expect("bind test server");
        let addr = server.local_addr().to_owned();
        let web_url = server.web_url();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let served = tokio::spawn(server.serve(async move {
            let _ = stop_rx.await;
        }));
        Self {
            addr,
            web_url,
            stop_tx: Some(stop_tx),
            served: Some(served),
            state_dir,
        }
    }

    /// The server's state directory.
    pub fn state_dir(&self) -> &std::path::Path {
        self.state_dir
            .as_deref()
            .expect("a test server has a state directory")
    }

    /// A server with [`test_options`].
    pub async fn start_default() -> Self {
        Self::start(test_options()).await
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn client(&self) -> Client {
        connect(&self.url()).await
    }

    /// Triggers the stop future and waits (bounded by `within`) for `serve()` to return;
    /// returns how long that took. Panics if it fails or takes longer.
    pub async fn stop_within(&mut self, within: Duration) -> Duration {
        let started = Instant::now();
        if let Some(stop_tx) = self.stop_tx.take() {
            let _ = stop_tx.send(());
        }
        let served = self.served.take().expect("server already stopped");
        let result = tokio::time::timeout(within, served)
            .await
            .unwrap_or_else(|_| panic!("serve() did not return within {within:?} of the stop"));
        result
            .expect("serve task panicked")
            .expect("serve() failed");
        started.elapsed()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop_tx) = self.stop_tx.take() {
            let _ = stop_tx.send(());
        }
        if let Some(dir) = &self.state_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A client of `url` (`http://IP:PORT` or `unix:PATH`), retrying until the server accepts.
pub async fn connect(url: &str) -> Client {
    // The listener is bound before `serve` starts, so this only retries under load.
    // An owned copy: a check borrowing `url` would make the wait not `Send` for spawned tasks.
    let owned = url.to_owned();
    let connected = async move || {
        Client::connect(&owned, ConnectOptions::default())
            .await
            .ok()
    };
    eventually_async(|| format!("cannot connect to {url}"), connected).await
}

/// A client of `url` presenting `token`.
pub async fn connect_with_token(url: &str, token: &str) -> Client {
    Client::connect(url, ConnectOptions::with_token(token))
        .await
        .unwrap_or_else(|error| panic!("cannot connect to {url}: {error}"))
}

/// A client of `url` that sends no token, whatever token file this host has for it.
pub async fn connect_anonymous(url: &str) -> Client {
    let target: Target = url.parse().expect("a server URL");
    let channel = open_channel(&target, &ConnectOptions::default())
        .await
        .unwrap_or_else(|error| panic!("cannot connect to {url}: {error}"));
    Client::from_channel(channel, BearerAuth::new(None).expect("no token"))
}

/// A client of `server` on a connection of its own with 64 KiB flow-control windows, so a
/// stream it stops reading stalls quickly.
pub async fn small_window_client(server: &TestServer) -> Client {
    let channel = tonic::transport::Endpoint::from_shared(server.url())
        .expect("a server URL")
        .initial_stream_window_size(65_535)
        .initial_connection_window_size(65_535)
        .connect()
        .await
        .expect("connect");
    Client::from_channel(channel, BearerAuth::new(None).expect("no token"))
}

/// The seq of the newest event of `shim_id`.
pub async fn last_seq(client: &mut Client, shim_id: &str) -> u64 {
    client
        .get_shim(shim_id)
        .await
        .expect("GetShim")
        .last_event_seq
}

/// A `bash` shim with `id` (empty: generated).
pub fn bash_shim(id: &str) -> NewShim {
    let shim = NewShim::profile(BASH);
    if id.is_empty() { shim } else { shim.id(id) }
}

/// The wire request of [`bash_shim`], for tests that set its fields as the proto has them.
pub fn bash_request(id: &str) -> CreateShimRequest {
    bash_shim(id).into_request()
}

/// Creates a bash shim and waits for its `Ready`.
pub async fn create_ready(client: &mut Client, id: &str) -> ShimInfo {
    create_ready_with(client, bash_request(id)).await
}

/// Creates a shim as `request` says and waits for its `Ready`.
pub async fn create_ready_with(client: &mut Client, request: CreateShimRequest) -> ShimInfo {
    let info = client
        .rpc()
        .create_shim(request)
        .await
        .expect("CreateShim")
        .into_inner()
        .shim
        .expect("a shim");
    let mut events = Events::open(client, &info.id, 0).await;
    events
        .wait_for("Ready", |e| matches!(e, Pb::Ready(_)))
        .await;
    info
}

/// Sends `body` with `wait=true` and returns the completion's response.
pub async fn send_wait(client: &mut Client, shim_id: &str, body: &str) -> String {
    let options = SendOptions {
        from: Some("test".to_owned()),
        wait: true,
        ..SendOptions::default()
    };
    let response = tokio::time::timeout(TIMEOUT, client.send_message(shim_id, body, options))
        .await
        .unwrap_or_else(|_| panic!("no answer to {body:?} within {TIMEOUT:?}"))
        .unwrap_or_else(|error| panic!("{body:?} refused: {error}"));
    response
        .completion
        .expect("wait=true carries a completion")
        .response
}

/// Sends `body` without waiting, as message `message_id`; returns the accepted id.
pub async fn send(client: &mut Client, shim_id: &str, body: &str, message_id: &str) -> String {
    let options = SendOptions {
        from: Some("test".to_owned()),
        message_id: (!message_id.is_empty()).then(|| message_id.to_owned()),
        wait: false,
    };
    client
        .send_message(shim_id, body, options)
        .await
        .unwrap_or_else(|error| panic!("{body:?} refused: {error}"))
        .message_id
}

/// The event of an envelope (every envelope the server sends has one).
pub fn event_of(envelope: &EventEnvelope) -> &Pb {
    envelope.event.as_ref().expect("envelope without event")
}

/// A short name of an event, for failure messages and comparisons.
pub fn kind(envelope: &EventEnvelope) -> String {
    let event = format!("{:?}", event_of(envelope));
    event.split('(').next().unwrap_or_default().to_owned()
}

/// A `StreamEvents` call, as the one [`Reader`] reads it. A stream error is a panic.
pub struct StreamedEvents(EventStream);

impl EventSource for StreamedEvents {
    type Item = EventEnvelope;

    async fn next_item(&mut self) -> Option<EventEnvelope> {
        self.0
            .next_event()
            .await
            .unwrap_or_else(|error| panic!("stream failed: {error}"))
    }

    fn line(envelope: &EventEnvelope) -> String {
        format!("{} {} {}", envelope.seq, envelope.shim_id, kind(envelope))
    }
}

/// The reader of a `StreamEvents` call.
pub type Events = Reader<StreamedEvents>;

impl Reader<StreamedEvents> {
    /// Opens `StreamEvents{shim_id, after_seq}` (empty `shim_id`: every shim).
    pub async fn open(client: &mut Client, shim_id: &str, after_seq: u64) -> Self {
        let shim_id = (!shim_id.is_empty()).then_some(shim_id);
        let stream = client
            .stream_events(shim_id, after_seq)
            .await
            .expect("StreamEvents");
        Self::from_stream(stream)
    }

    pub fn from_stream(stream: EventStream) -> Self {
        Self::from_source(StreamedEvents(stream))
    }

    /// The next envelope; panics naming what was seen if none comes or the stream ends.
    pub async fn next(&mut self) -> EventEnvelope {
        self.next_item().await
    }

    /// Skips envelopes until one whose event matches `wanted`.
    pub async fn wait_for(&mut self, what: &str, wanted: impl Fn(&Pb) -> bool) -> EventEnvelope {
        self.wait_for_item(what, |envelope| wanted(event_of(envelope)))
            .await
    }

    /// Skips envelopes until the one with `seq`, or the `EventsLost` whose range holds it
    /// (panics if it is passed silently).
    pub async fn read_through(&mut self, seq: u64) {
        while self.seen.last().is_none_or(|e| e.seq < seq) {
            self.next().await;
        }
        let accounted = |e: &EventEnvelope| match &e.event {
            Some(Pb::EventsLost(range)) => (range.first_seq..=range.last_seq).contains(&seq),
            _ => e.seq == seq,
        };
        assert!(
            self.seen.iter().any(accounted),
            "seq {seq} skipped: {:?}",
            self.seqs()
        );
    }

    /// Waits for the Completion of message `id`.
    pub async fn completion_of(&mut self, id: &str) -> rpc::Completion {
        let envelope = self
            .wait_for(
                &format!("Completion of {id}"),
                |e| matches!(e, Pb::Completion(c) if c.message_id.as_deref() == Some(id)),
            )
            .await;
        match envelope.event {
            Some(Pb::Completion(completion)) => completion,
            _ => unreachable!(),
        }
    }

    /// Waits for the next Warning; returns its message.
    pub async fn warning(&mut self) -> String {
        let envelope = self
            .wait_for("a Warning", |e| matches!(e, Pb::Warning(_)))
            .await;
        match envelope.event {
            Some(Pb::Warning(warning)) => warning.message,
            _ => unreachable!(),
        }
    }

    pub fn seqs(&self) -> Vec<u64> {
        self.seen.iter().map(|e| e.seq).collect()
    }

    /// The shim seq of each envelope read.
    pub fn shim_seqs(&self) -> Vec<u64> {
        self.seen.iter().map(|e| e.shim_seq).collect()
    }

    /// One line per envelope read (as failure messages show them).
    pub fn kinds(&self) -> Vec<String> {
        self.seen.iter().map(StreamedEvents::line).collect()
    }
}

/// An error that carries a gRPC status: the generated stub's, or the typed client's.
pub trait AsStatus: std::fmt::Debug {
    fn as_status(&self) -> &Status;
}

impl AsStatus for Status {
    fn as_status(&self) -> &Status {
        self
    }
}

impl AsStatus for ClientError {
    fn as_status(&self) -> &Status {
        match self {
            ClientError::Status(status) => status,
            other => panic!("not a status: {other:?}"),
        }
    }
}

/// Asserts that `result` failed with `code` and a message containing every one of `parts`.
#[track_caller]
pub fn assert_status<T: std::fmt::Debug, E: AsStatus>(
    result: Result<T, E>,
    code: Code,
    parts: &[&str],
) {
    let error = result.expect_err("the call must fail");
    let status = error.as_status();
    assert_eq!(status.code(), code, "{status:?}");
    for part in parts {
        assert!(
            status.message().contains(part),
            "message of {code:?} lacks {part:?}: {:?}",
            status.message()
        );
    }
}
