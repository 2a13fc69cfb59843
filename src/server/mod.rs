//! The gRPC server: hosts many shims behind the `agentshim.v1.AgentShim` service, with
//! `grpc.health.v1` health, server reflection (v1 and v1alpha, so grpcurl 1.8.6 works),
//! optional bearer-token auth and TLS, on TCP or a Unix socket. Each serving process has a boot
//! id (`identity.rs`) that tells clients whether it restarted.
//!
//! Stopping is graceful: health turns NOT_SERVING, new shims are refused, every shim is shut
//! down (reason `daemon_stop`) within the deadline so its final events reach open streams, the
//! event log is closed (ending those streams), and the transport drains.
//!
//! With `metrics_listen`, Prometheus metrics are served over HTTP on their own address for as
//! long as the server runs (see [`crate::metrics`]).

pub mod auth;
pub mod convert;
pub mod identity;
pub mod profiles;
pub mod registry;
mod service;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, UnixListener};
use tokio_stream::wrappers::{TcpListenerStream, UnixListenerStream};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Identity, Server, ServerTlsConfig};

use crate::metrics::MetricsError;
use crate::metrics::http::MetricsEndpoint;
use crate::metrics::shims::LogMetrics;
use crate::rpc::agent_shim_server::AgentShimServer;
use crate::shim::ShimError;
use crate::shim::events::{DEFAULT_LOG_CAPACITY, EventLog};
use auth::TokenCheck;
use identity::ServerIdentity;
use profiles::Profiles;
use registry::Registry;
use service::AgentShimService;

/// How long open connections get to finish once every shim has stopped and the event log is
/// closed. The transport waits for every connection, so without this bound a client that
/// stopped reading its event stream (HTTP/2 window full) would hold the server forever.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a request failed; converted to a gRPC status in `convert.rs`.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("shim `{0}` not found")]
    NotFound(String),
    #[error("shim `{0}` already exists")]
    AlreadyExists(String),
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
            None => text.parse().map(Self::Tcp).map_err(|_| {
                format!("`{text}` is neither HOST:PORT (an IP address) nor unix:PATH")
            }),
        }
    }
}

/// Everything `agentshim serve` is configured with.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub listen: ListenAddr,
    /// Bearer token every RPC must present (health excepted).
    pub token: Option<String>,
    /// PEM certificate chain and private key for TLS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Allow a non-loopback listener without a token.
    pub insecure: bool,
    pub profiles: Profiles,
    /// Let clients choose the program of a shim.
    pub allow_any_command: bool,
    pub event_log_capacity: usize,
    /// How long shims get to exit when the server stops.
    pub shutdown_timeout: Duration,
    /// Serve Prometheus metrics over HTTP here (unauthenticated); installs the process's
    /// global metrics recorder, so one server per process can have it.
    pub metrics_listen: Option<SocketAddr>,
    /// How often the server pings each client over HTTP/2, and how long an answer may take:
    /// a client that vanished without closing its connection (a cut link, a frozen host) is
    /// disconnected after about twice this, and its event streams end.
    pub keepalive: Duration,
}

impl ServerOptions {
    /// Loopback TCP on `listen`, built-in profiles, no token, no TLS.
    pub fn new(listen: ListenAddr) -> Self {
        Self {
            listen,
            token: None,
            tls: None,
            insecure: false,
            profiles: Profiles::builtin(),
            allow_any_command: false,
            event_log_capacity: DEFAULT_LOG_CAPACITY,
            shutdown_timeout: Duration::from_secs(10),
            keepalive: Duration::from_secs(30),
            metrics_listen: None,
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
}

enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener, PathBuf),
}

/// A server whose socket is bound (so its address is known) but not yet serving.
pub struct BoundServer {
    listener: Listener,
    local_addr: String,
    metrics: Option<MetricsEndpoint>,
    options: ServerOptions,
}

/// Binds the listening socket, refusing an unprotected non-loopback address, and the metrics
/// endpoint if one is asked for.
pub async fn bind(options: ServerOptions) -> Result<BoundServer, ServerError> {
    let bind_error = |addr: String| move |source| ServerError::Bind { addr, source };
    let (listener, local_addr) = match &options.listen {
        ListenAddr::Tcp(addr) => {
            if !addr.ip().is_loopback() && options.token.is_none() && !options.insecure {
                return Err(ServerError::InsecureListen(*addr));
            }
            let listener = TcpListener::bind(addr)
                .await
                .map_err(bind_error(addr.to_string()))?;
            let local = listener
                .local_addr()
                .map_err(bind_error(addr.to_string()))?;
            (Listener::Tcp(listener), local.to_string())
        }
        ListenAddr::Unix(path) => {
            let shown = format!("unix:{}", path.display());
            let listener = crate::unix_socket::bind_replacing_stale(path)
                .map_err(bind_error(shown.clone()))?;
            (Listener::Unix(listener, path.clone()), shown)
        }
    };
    let metrics = match options.metrics_listen {
        Some(addr) => Some(MetricsEndpoint::bind(addr).await?),
        None => None,
    };
    Ok(BoundServer {
        listener,
        local_addr,
        metrics,
        options,
    })
}

impl BoundServer {
    /// `IP:PORT` (the real port when 0 was asked for) or `unix:PATH`.
    pub fn local_addr(&self) -> &str {
        &self.local_addr
    }

    /// Where metrics are served (the real port when 0 was asked for), if they are.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(MetricsEndpoint::local_addr)
    }

    /// Serves until `stop` resolves, then stops gracefully (see the module docs).
    pub async fn serve(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let options = self.options;
        let metrics = Arc::new(LogMetrics::default());
        let events = EventLog::observed(options.event_log_capacity, metrics.clone());
        let registry = Arc::new(Registry::new(
            options.profiles.clone(),
            Arc::clone(&events),
            metrics,
            options.allow_any_command,
        ));
        let identity = Arc::new(ServerIdentity::new());
        tracing::info!(boot_id = identity.boot_id(), "server identity");
        let auth = TokenCheck::new(options.token.as_deref());
        let (health, health_service) = tonic_health::server::health_reporter();
        health
            .set_serving::<AgentShimServer<AgentShimService>>()
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
        let router = builder
            .add_service(health_service)
            .add_service(InterceptedService::new(
                AgentShimServer::new(AgentShimService::new(Arc::clone(&registry), identity)),
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
            stop.await;
            tracing::info!("stopping: shutting every shim down");
            health
                .set_not_serving::<AgentShimServer<AgentShimService>>()
                .await;
            // The whole server (service name ""), which is what probes usually check.
            health
                .set_service_status("", tonic_health::ServingStatus::NotServing)
                .await;
            registry.shutdown_all(shutdown_timeout).await;
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
            tokio::select! {
                () = deadline => {}
                () = serve_metrics => {}
            }
        };
        match self.listener {
            Listener::Tcp(listener) => {
                let serving =
                    router.serve_with_incoming_shutdown(TcpListenerStream::new(listener), graceful);
                tokio::select! {
                    served = serving => served?,
                    () = drain_deadline => {}
                }
            }
            Listener::Unix(listener, path) => {
                let serving = router
                    .serve_with_incoming_shutdown(UnixListenerStream::new(listener), graceful);
                let served = tokio::select! {
                    served = serving => served,
                    () = drain_deadline => Ok(()),
                };
                let _ = std::fs::remove_file(path);
                served?;
            }
        }
        tracing::info!("server stopped");
        Ok(())
    }
}
