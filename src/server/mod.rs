//! The gRPC server: hosts many shims behind the `agentshim.v1.AgentShimService` service, with
//! `grpc.health.v1` health, server reflection (v1 and v1alpha, so grpcurl 1.8.6 works),
//! bearer-token auth and optional TLS, on TCP or a Unix socket. Each serving process has a boot
//! id (`identity.rs`) that tells clients whether it restarted.
//!
//! Nobody but the server's own user gets in by default ([`Auth::Generated`]): on loopback TCP
//! a token is generated into the runtime directory, a Unix socket is created 0600
//! ([`crate::unix_socket`]), and a network address needs a token. Connections on a Unix socket
//! are read through `authority_repair.rs`, so grpcurl and gRPC C-core clients work there too.
//!
//! Stopping is graceful: health turns NOT_SERVING, new shims are refused, every shim is shut
//! down (reason `daemon_stop`) within the deadline so its final events reach open streams (or,
//! with [`Stop::LeaveShimsRunning`], every shim process is let go, running, for the next
//! server to adopt), the event log is closed (ending those streams), and the transport drains.
//!
//! With `metrics_listen`, Prometheus metrics are served over HTTP on their own address for as
//! long as the server runs (see [`crate::metrics`]).

mod admission;
pub(crate) mod attach;
pub mod auth;
mod authority_repair;
pub mod config;
pub mod convert;
pub mod identity;
pub mod link;
pub mod profiles;
pub mod recordings;
pub mod registry;
pub(crate) mod service;
pub mod shim_process;
pub mod state_dir;

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, UnixListener};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::{TcpListenerStream, UnixListenerStream};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Identity, Server, ServerTlsConfig};

use crate::metrics::MetricsError;
use crate::metrics::http::MetricsEndpoint;
use crate::metrics::shims::LogMetrics;
use crate::owned_path::OwnedPath;
use crate::rpc::agent_shim_service_server::AgentShimServiceServer;
use crate::runtime_dir::RuntimeDirError;
use crate::shim::ShimError;
use crate::shim::events::{DEFAULT_LOG_CAPACITY, EventLog, LogBounds};
use crate::unix_socket::UnixSocketError;
use crate::untrusted::Untrusted;
use crate::web::WebConsole;
pub use auth::Auth;
use auth::TokenCheck;
use authority_repair::RepairedStream;
use config::Limits;
use identity::ServerIdentity;
use profiles::Profiles;
use registry::Registry;
use service::AgentShimService;
use shim_process::{LaunchError, ShimLauncher};
use state_dir::{StateDir, StateDirError};

/// How long open connections get to finish once every shim has stopped and the event log is
/// closed. The transport waits for every connection, so without this bound a client that
/// stopped reading its event stream (HTTP/2 window full) would hold the server forever.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a request failed; converted to a gRPC status in `convert.rs`.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("shim {} not found", Untrusted(.0))]
    NotFound(String),
    #[error("shim {} already exists", Untrusted(.0))]
    AlreadyExists(String),
    #[error("{0}")]
    ResourceExhausted(String),
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Shim(#[from] ShimError),
    /// The shim process could not be started (its agent's own failure is a [`Self::Shim`]).
    #[error(transparent)]
    Launch(LaunchError),
}

impl From<LaunchError> for ServiceError {
    fn from(error: LaunchError) -> Self {
        match error {
            LaunchError::Agent(error) => Self::Shim(error),
            other => Self::Launch(other),
        }
    }
}

/// How the server stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Every shim is shut down first (reason `daemon_stop`).
    ShutDownShims,
    /// Every shim process is left running, its agent, queue and log as they are, for the next
    /// server on the state directory to adopt (an upgrade, a configuration change).
    LeaveShimsRunning,
}

/// Where the server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenAddr {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

impl std::str::FromStr for ListenAddr {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.strip_prefix("unix:") {
            Some(path) if !path.is_empty() => Ok(Self::Unix(PathBuf::from(path))),
            Some(_) => Err("`unix:` needs a path, e.g. unix:/run/agentshim.sock".into()),
            // `localhost` is the loopback address clients reach it by (IPv4, as the default).
            None => match text.strip_prefix("localhost:") {
                Some(port) => format!("127.0.0.1:{port}").parse(),
                None => text.parse(),
            }
            .map(Self::Tcp)
            .map_err(|_| {
                format!("`{text}` is neither HOST:PORT (an IP address or localhost) nor unix:PATH")
            }),
        }
    }
}

/// Everything `agentshim serve` is configured with.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub listen: ListenAddr,
    /// Who may call (health excepted); by default only the server's own user.
    pub auth: Auth,
    /// PEM certificate chain and private key for TLS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Allow a non-loopback listener with [`Auth::Disabled`].
    pub insecure: bool,
    pub profiles: Profiles,
    /// Let clients choose the program of a shim.
    pub allow_any_command: bool,
    pub limits: Limits,
    pub event_log: LogBounds,
    /// How long shims get to exit when the server stops.
    pub shutdown_timeout: Duration,
    /// Where the shims' state lives (see [`state_dir`]); `None`: [`StateDir::default_path`].
    pub state_dir: Option<PathBuf>,
    /// The `agentshim` binary that runs each shim process (`agentshim shim`); `None`: this
    /// process's own executable.
    pub shim_program: Option<PathBuf>,
    /// Serve Prometheus metrics over HTTP here (unauthenticated); installs the process's
    /// global metrics recorder, so one server per process can have it.
    pub metrics_listen: Option<SocketAddr>,
    /// Serve the web console ([`crate::web`]) here, with the same token as gRPC (a server on
    /// a Unix socket, which has none, generates one for it).
    pub web_listen: Option<SocketAddr>,
    /// How often the server pings each client over HTTP/2, and how long an answer may take:
    /// a client that vanished without closing its connection (a cut link, a frozen host) is
    /// disconnected after about twice this, and its event streams end.
    pub keepalive: Duration,
}

impl ServerOptions {
    /// Serving on `listen` with built-in profiles, [`Auth::Generated`], no TLS.
    pub fn new(listen: ListenAddr) -> Self {
        Self {
            listen,
            auth: Auth::Generated,
            tls: None,
            insecure: false,
            profiles: Profiles::builtin(),
            allow_any_command: false,
            limits: Limits::default(),
            event_log: LogBounds::events(DEFAULT_LOG_CAPACITY),
            shutdown_timeout: Duration::from_secs(10),
            state_dir: None,
            shim_program: None,
            keepalive: Duration::from_secs(30),
            metrics_listen: None,
            web_listen: None,
        }
    }
}

/// Why the server cannot start or failed.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(
        "refusing to listen on {0} without a token: anyone who can reach it could run \
         programs here. Set AGENTSHIM_TOKEN or --token-file, or pass --insecure"
    )]
    InsecureListen(SocketAddr),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    UnixSocket(#[from] UnixSocketError),
    #[error(transparent)]
    TokenFile(#[from] RuntimeDirError),
    #[error("cannot read TLS file {path}: {source}")]
    TlsFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("reflection setup failed: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error(transparent)]
    Transport(#[from] tonic::transport::Error),
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    #[error(transparent)]
    Web(#[from] crate::web::WebError),
    #[error(transparent)]
    StateDir(#[from] StateDirError),
    #[error("cannot tell which program runs shim processes: {0}")]
    ShimProgram(#[source] std::io::Error),
}

enum Listener {
    Tcp(TcpListener),
    /// With the socket file, removed when serving ends.
    Unix(UnixListener, OwnedPath),
}

/// A server whose socket is bound (so its address is known) but not yet serving.
pub struct BoundServer {
    listener: Listener,
    local_addr: String,
    /// The token calls must present, if any.
    token: Option<String>,
    /// The generated token's file, removed when the server stops (or is dropped unserved).
    token_file: Option<OwnedPath>,
    metrics: Option<MetricsEndpoint>,
    web: Option<WebConsole>,
    launcher: ShimLauncher,
    options: ServerOptions,
}

/// Binds the listening socket, refusing an unprotected non-loopback address, generates the
/// token of [`Auth::Generated`], binds the metrics endpoint if one is asked for, and opens
/// (and locks) the state directory.
pub async fn bind(options: ServerOptions) -> Result<BoundServer, ServerError> {
    let bind_error = |addr: String| move |source| ServerError::Bind { addr, source };
    let (listener, local_addr, token, token_file) = match &options.listen {
        ListenAddr::Tcp(addr) => {
            let open_network = !addr.ip().is_loopback()
                && match options.auth {
                    Auth::Generated => true,
                    Auth::Disabled => !options.insecure,
                    Auth::Token(_) => false,
                };
            if open_network {
                return Err(ServerError::InsecureListen(*addr));
            }
            let listener = TcpListener::bind(addr)
                .await
                .map_err(bind_error(addr.to_string()))?;
            let local = listener
                .local_addr()
                .map_err(bind_error(addr.to_string()))?;
            let (token, token_file) = tcp_token(&options.auth, local)?;
            (
                Listener::Tcp(listener),
                local.to_string(),
                token,
                token_file,
            )
        }
        ListenAddr::Unix(path) => {
            let (listener, socket_file) = crate::unix_socket::listen_private(path)?;
            let token = match &options.auth {
                Auth::Token(token) => Some(token.clone()),
                Auth::Generated | Auth::Disabled => None,
            };
            let shown = format!("unix:{}", path.display());
            (Listener::Unix(listener, socket_file), shown, token, None)
        }
    };
    let metrics = match options.metrics_listen {
        Some(addr) => Some(MetricsEndpoint::bind(addr).await?),
        None => None,
    };
    let web = match options.web_listen {
        Some(addr) => Some(
            WebConsole::bind(addr, web_token(&options, token.as_ref())?, options.insecure).await?,
        ),
        None => None,
    };
    let state = match &options.state_dir {
        Some(path) => StateDir::open(path)?,
        None => StateDir::open(StateDir::default_path()?)?,
    };
    let shim_program = match &options.shim_program {
        Some(program) => program.clone(),
        None => std::env::current_exe().map_err(ServerError::ShimProgram)?,
    };
    Ok(BoundServer {
        listener,
        local_addr,
        token,
        token_file,
        metrics,
        web,
        launcher: ShimLauncher::new(shim_program, state),
        options,
    })
}

/// The token of the web console: the gRPC listener's, else (a Unix socket's server) one of its
/// own, unless auth is off.
fn web_token(
    options: &ServerOptions,
    token: Option<&String>,
) -> Result<Option<String>, ServerError> {
    Ok(match (token, &options.auth) {
        (Some(token), _) => Some(token.clone()),
        (None, Auth::Disabled) => None,
        (None, _) => Some(crate::runtime_dir::generate_token()?),
    })
}

/// The token calls to a TCP listener on `local` must present, and the file of a generated one.
fn tcp_token(
    auth: &Auth,
    local: SocketAddr,
) -> Result<(Option<String>, Option<OwnedPath>), ServerError> {
    Ok(match auth {
        Auth::Token(token) => (Some(token.clone()), None),
        Auth::Generated => {
            let token = crate::runtime_dir::generate_token()?;
            let file = crate::runtime_dir::write_token(local, &token)?;
            tracing::info!(file = %file.path().display(), "generated the bearer token");
            (Some(token), Some(file))
        }
        Auth::Disabled => {
            tracing::warn!(
                addr = %local,
                "AUTHENTICATION IS OFF: every local user (and anyone who reaches this address) \
                 can run programs as this server's user"
            );
            (None, None)
        }
    })
}

impl BoundServer {
    /// `IP:PORT` (the real port when 0 was asked for) or `unix:PATH`.
    pub fn local_addr(&self) -> &str {
        &self.local_addr
    }

    /// The file holding the token this server generated ([`Auth::Generated`] on TCP).
    pub fn token_file(&self) -> Option<&Path> {
        self.token_file.as_ref().map(OwnedPath::path)
    }

    /// The link that opens the web console (token included), if it is served.
    pub fn web_url(&self) -> Option<String> {
        self.web.as_ref().map(WebConsole::url)
    }

    /// Where metrics are served (the real port when 0 was asked for), if they are.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(MetricsEndpoint::local_addr)
    }

    /// Serves until `stop` resolves, then stops gracefully, shutting every shim down (see the
    /// module docs).
    pub async fn serve(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        self.serve_until(async move {
            stop.await;
            Stop::ShutDownShims
        })
        .await
    }

    /// Serves until `stop` resolves, then stops gracefully as it says.
    pub async fn serve_until(
        self,
        stop: impl Future<Output = Stop> + Send + 'static,
    ) -> Result<(), ServerError> {
        let options = self.options;
        // Removed when serving is over, whichever way it ends.
        let _token_file = self.token_file;
        let metrics = Arc::new(LogMetrics::default());
        let events = EventLog::observed(options.event_log, metrics.clone());
        let registry = Arc::new(Registry::new(
            options.profiles.clone(),
            Arc::clone(&events),
            metrics,
            options.allow_any_command,
            options.limits,
            self.launcher,
        ));
        registry.adopt_leftovers().await;
        let identity = Arc::new(ServerIdentity::new());
        tracing::info!(boot_id = identity.boot_id(), "server identity");
        let auth = TokenCheck::new(self.token.as_deref());
        let (health, health_service) = tonic_health::server::health_reporter();
        health
            .set_serving::<AgentShimServiceServer<AgentShimService>>()
            .await;
        let reflection = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(crate::rpc::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        };
        let mut builder = Server::builder()
            .http2_keepalive_interval(Some(options.keepalive))
            .http2_keepalive_timeout(Some(options.keepalive));
        if let Some((cert, key)) = &options.tls {
            let read = |path: &PathBuf| {
                std::fs::read(path).map_err(|source| ServerError::TlsFile {
                    path: path.clone(),
                    source,
                })
            };
            let identity = Identity::from_pem(read(cert)?, read(key)?);
            builder = builder.tls_config(ServerTlsConfig::new().identity(identity))?;
        }
        let service = AgentShimService::new(Arc::clone(&registry), identity);
        let web = self.web.map(|console| (console, service.clone()));
        let router = builder
            .add_service(health_service)
            .add_service(InterceptedService::new(
                AgentShimServiceServer::new(service),
                auth.clone(),
            ))
            .add_service(InterceptedService::new(
                reflection().build_v1()?,
                auth.clone(),
            ))
            .add_service(InterceptedService::new(reflection().build_v1alpha()?, auth));
        let shutdown_timeout = options.shutdown_timeout;
        let (stopped_tx, stopped_rx) = tokio::sync::oneshot::channel::<()>();
        let graceful = async move {
            let how = stop.await;
            health
                .set_not_serving::<AgentShimServiceServer<AgentShimService>>()
                .await;
            // The whole server (service name ""), which is what probes usually check.
            health
                .set_service_status("", tonic_health::ServingStatus::NotServing)
                .await;
            match how {
                Stop::ShutDownShims => {
                    tracing::info!("stopping: shutting every shim down");
                    registry.shutdown_all(shutdown_timeout).await;
                }
                Stop::LeaveShimsRunning => {
                    tracing::info!("stopping: leaving every shim running for the next server");
                    registry.leave_all();
                }
            }
            events.close();
            let _ = stopped_tx.send(());
        };
        let metrics = self.metrics;
        // Resolves DRAIN_TIMEOUT after the graceful part is done (never, if it never is), and
        // serves the metrics until then.
        let drain_deadline = async move {
            let serve_metrics = async move {
                match metrics {
                    Some(endpoint) => endpoint.serve().await,
                    None => std::future::pending().await,
                }
            };
            let deadline = async move {
                if stopped_rx.await.is_ok() {
                    tokio::time::sleep(DRAIN_TIMEOUT).await;
                    tracing::warn!(
                        "connections still open {DRAIN_TIMEOUT:?} after the stop; closing"
                    );
                } else {
                    std::future::pending::<()>().await;
                }
            };
            let serve_web = async move {
                if let Some((console, service)) = web
                    && let Err(error) = console.serve(service, std::future::pending()).await
                {
                    tracing::error!(%error, "the web console stopped");
                }
                std::future::pending::<()>().await;
            };
            tokio::select! {
                () = deadline => {}
                () = serve_metrics => {}
                () = serve_web => {}
            }
        };
        match self.listener {
            Listener::Tcp(listener) => {
                let connections = TcpListenerStream::new(listener).map(without_delay);
                let serving = router.serve_with_incoming_shutdown(connections, graceful);
                tokio::select! {
                    served = serving => served?,
                    () = drain_deadline => {}
                }
            }
            Listener::Unix(listener, socket_file) => {
                let connections = UnixListenerStream::new(listener)
                    .map(|accepted| accepted.map(RepairedStream::new));
                let serving = router.serve_with_incoming_shutdown(connections, graceful);
                let served = tokio::select! {
                    served = serving => served,
                    () = drain_deadline => Ok(()),
                };
                drop(socket_file);
                served?;
            }
        }
        tracing::info!("server stopped");
        Ok(())
    }
}

/// An accepted TCP connection with Nagle's algorithm off: a reply written in several small
/// pieces (headers, message, trailers) goes out at once instead of waiting for the client's
/// delayed acknowledgement (about 40 ms).
fn without_delay(
    accepted: std::io::Result<tokio::net::TcpStream>,
) -> std::io::Result<tokio::net::TcpStream> {
    let stream = accepted?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn accepted_connections_send_without_delay() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = tokio::net::TcpStream::connect(addr);
        let (accepted, _client) = tokio::join!(listener.accept(), client);
        let stream = without_delay(accepted.map(|(stream, _)| stream)).unwrap();
        assert!(stream.nodelay().unwrap());
    }
}
