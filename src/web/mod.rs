//! The web console (`agentshim serve --web-listen ADDR`): one page showing every shim of the
//! server live, a live terminal for any of them, and the calls a person makes from there
//! (send, answer, kill, take over, play the recording). It is served over HTTP beside the gRPC
//! listener, by the same process, and calls the same service in-process, so what the page
//! shows and does is exactly what a gRPC client would see and get.
//!
//! Owns: the listening socket and its URL (`WebConsole`), the routes (`api.rs` for the JSON
//! calls, `events.rs` for the Server-Sent Events stream, `terminal.rs` for the WebSocket
//! terminal), sessions and their checks (`session.rs`) and the page's files, embedded in the
//! binary (`assets.rs`). The page itself is `assets/` (plain HTML, CSS and JavaScript, with a
//! vendored xterm.js and asciinema-player: no build step, nothing fetched at run time).
//!
//! Auth is the gRPC server's: the printed link carries its token (`/?token=...`, as Jupyter
//! does), which the page exchanges for an HttpOnly, SameSite=Strict session cookie; calls may
//! also present `Authorization: Bearer <token>`. Nothing of the fleet is served without one of
//! them, and a non-loopback address without a token is refused, as gRPC refuses it.

mod api;
mod assets;
mod events;
mod session;
mod terminal;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;

use crate::server::service::AgentShimService;
pub use session::MAX_SESSIONS;
use session::Sessions;

/// Why the web console cannot start.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error(
        "refusing to serve the web console on {0} without a token: anyone who can reach it \
         could run programs here. Give the server a token, or pass --insecure"
    )]
    InsecureListen(SocketAddr),
    #[error("cannot serve the web console on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// The console's listening socket, bound (so its URL is known) but not serving yet.
pub struct WebConsole {
    listener: TcpListener,
    local_addr: SocketAddr,
    token: Option<String>,
}

impl WebConsole {
    /// Binds `addr`. With `token`, the page and every call need it (or a session made from
    /// it); without one, only a loopback address is allowed unless `insecure`.
    pub async fn bind(
        addr: SocketAddr,
        token: Option<String>,
        insecure: bool,
    ) -> Result<Self, WebError> {
        if token.is_none() && !addr.ip().is_loopback() && !insecure {
            return Err(WebError::InsecureListen(addr));
        }
        let bind_error = |source| WebError::Bind { addr, source };
        let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
        let local_addr = listener.local_addr().map_err(bind_error)?;
        Ok(Self {
            listener,
            local_addr,
            token,
        })
    }

    /// Where it listens (the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The link that opens the console: with the token, which the page trades for a session.
    pub fn url(&self) -> String {
        match &self.token {
            Some(token) => format!("http://{}/?token={token}", self.local_addr),
            None => format!("http://{}/", self.local_addr),
        }
    }

    /// Serves the console over `service` until `stop` resolves.
    pub async fn serve(
        self,
        service: AgentShimService,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let console = Console {
            service,
            sessions: Arc::new(Sessions::new(self.token)),
        };
        axum::serve(self.listener, routes(console))
            .with_graceful_shutdown(stop)
            .await
    }
}

/// What every handler has: the service it calls and the sessions it checks.
#[derive(Clone)]
struct Console {
    service: AgentShimService,
    sessions: Arc<Sessions>,
}

fn routes(console: Console) -> Router {
    let api = Router::new()
        .route("/server", get(api::server_info))
        .route("/shims", get(api::list_shims))
        .route("/shims/{id}", get(api::get_shim))
        .route("/shims/{id}/messages", post(api::send_message))
        .route("/shims/{id}/answer", post(api::answer))
        .route("/shims/{id}/kill", post(api::kill))
        .route("/shims/{id}/screen", get(api::screen))
        .route("/shims/{id}/recording", get(api::recording))
        .route("/shims/{id}/terminal", get(terminal::attach))
        .route("/events", get(events::stream))
        .fallback(api::not_found)
        .route_layer(axum::middleware::from_fn_with_state(
            console.clone(),
            session::require,
        ));
    Router::new()
        .route("/", get(session::front_door))
        .route("/assets/{*path}", get(assets::serve))
        .nest("/api", api)
        .layer(axum::middleware::map_response(assets::security_headers))
        .layer(axum::extract::DefaultBodyLimit::max(api::MAX_BODY_BYTES))
        .with_state(console)
}
