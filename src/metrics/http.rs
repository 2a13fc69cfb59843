//! The metrics endpoint of `agentshim serve --metrics-listen ADDR`: Prometheus text at
//! `GET /metrics` over plain HTTP/1.1. The socket is bound before serving starts, so the real
//! port is known when `:0` was asked for. Nothing here checks who asks: bind it where only the
//! scraper can reach it.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use super::MetricsError;

/// Where the metrics are served.
pub const METRICS_PATH: &str = "/metrics";

/// The Prometheus text exposition format.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// How often the recorder's upkeep runs: it folds histogram samples into their buckets, so
/// memory stays bounded however rarely the endpoint is scraped.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Pause after a failed accept (out of file descriptors, say) before the next one.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// A bound metrics endpoint with the global Prometheus recorder installed.
#[derive(Debug)]
pub struct MetricsEndpoint {
    listener: TcpListener,
    local_addr: SocketAddr,
    handle: PrometheusHandle,
}

impl MetricsEndpoint {
    /// Binds `addr` and installs the global recorder (see [`super::install`]).
    pub async fn bind(addr: SocketAddr) -> Result<Self, MetricsError> {
        let bind_error = |source| MetricsError::Bind { addr, source };
        let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
        let local_addr = listener.local_addr().map_err(bind_error)?;
        let handle = super::install()?;
        if !local_addr.ip().is_loopback() {
            tracing::warn!(
                %local_addr,
                "metrics are served without authentication to anyone who can reach this address"
            );
        }
        Ok(Self {
            listener,
            local_addr,
            handle,
        })
    }

    /// The bound address (the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves scrapes until the future is dropped, which also ends open connections.
    pub async fn serve(self) {
        let mut connections = JoinSet::new();
        let mut upkeep = tokio::time::interval(UPKEEP_EVERY);
        loop {
            tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        connections.spawn(serve_connection(stream, self.handle.clone()));
                    }
                    Err(error) => {
                        tracing::warn!(%error, "metrics endpoint: accept failed");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                    }
                },
                _ = upkeep.tick() => self.handle.run_upkeep(),
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
    }
}

async fn serve_connection(stream: TcpStream, handle: PrometheusHandle) {
    let service = hyper::service::service_fn(move |request| {
        let response = respond(&handle, &request);
        async move { Ok::<_, Infallible>(response) }
    });
    // The timer gives hyper its default timeout for reading request headers.
    let served = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(stream), service)
        .await;
    if let Err(error) = served {
        tracing::debug!(%error, "metrics connection ended");
    }
}

fn respond(handle: &PrometheusHandle, request: &Request<Incoming>) -> Response<String> {
    let (status, body) = match (request.method(), request.uri().path()) {
        (&Method::GET, METRICS_PATH) => (StatusCode::OK, handle.render()),
        (_, METRICS_PATH) => (StatusCode::METHOD_NOT_ALLOWED, "use GET\n".to_owned()),
        _ => (
            StatusCode::NOT_FOUND,
            format!("metrics are served at {METRICS_PATH}\n"),
        ),
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(TEXT_FORMAT));
    response
}
