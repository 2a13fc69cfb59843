//! A fake model server for tests: one loopback port that answers the Anthropic Messages API
//! (Claude Code), the OpenAI Responses API (Codex) and the Gemini API (Gemini CLI), from a
//! per-test script of replies, and records every request it receives.
//!
//! ```ignore
//! let server = FakeModelServer::start().await;
//! server.push(Reply::text("Hi there ✓").slow(Duration::from_secs(2), Duration::from_millis(300)));
//! // point the CLI at server.anthropic_base_url() / openai_base_url() / gemini_base_url()
//! let turn = server.wait_for(|r| r.is_main(), Duration::from_secs(60)).await.unwrap();
//! assert_eq!(turn.served, Served::Text("Hi there ✓".into()));
//! ```
//!
//! The server runs on the test's tokio runtime, bound to `127.0.0.1:0`, and stops when the
//! [`FakeModelServer`] is dropped. Files: `script.rs` (replies, queue, records), `dispatch.rs`
//! (the one handler: route, record, respond), `schema.rs` (JSON for structured side requests),
//! `stream.rs` (SSE and pacing), and one file per API.

mod anthropic;
mod dispatch;
mod gemini;
mod openai;
pub mod schema;
pub mod script;
mod stream;

use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use serde_json::json;
use tokio::sync::watch;

use script::Script;
#[allow(unused_imports)] // each test binary uses its own subset
pub use script::{
    Api, DEFAULT_REPLY, ErrorKind, FAKE_TITLE, Reply, RequestRecord, Served, TurnKind, Usage,
};

/// A running fake model server. Dropping it stops the server and ends hung streams.
pub struct FakeModelServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    /// Held here; every paced stream and the serve loop hold receivers.
    shutdown_tx: watch::Sender<bool>,
    serve_task: tokio::task::JoinHandle<()>,
}

/// State shared by the handlers and the test-facing handle.
struct Shared {
    started: Instant,
    script: Mutex<Script>,
    records: Mutex<Vec<RequestRecord>>,
    /// Bumped to the number of records after each push; tests wait on it.
    recorded_tx: watch::Sender<usize>,
    /// Source of `dispatch::Ctx::id`.
    next_id: AtomicUsize,
    shutdown_rx: watch::Receiver<bool>,
}

impl FakeModelServer {
    /// Binds `127.0.0.1:0` and serves on the current tokio runtime.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            started: Instant::now(),
            script: Mutex::new(Script::default()),
            records: Mutex::new(Vec::new()),
            recorded_tx: watch::channel(0).0,
            next_id: AtomicUsize::new(1),
            shutdown_rx: shutdown_rx.clone(),
        });
        let app = Router::new()
            .fallback(dispatch::dispatch)
            .with_state(shared.clone());
        let mut stop = shutdown_rx;
        let serve_task = tokio::spawn(async move {
            let serve = axum::serve(listener, app)
                .with_graceful_shutdown(async move { drop(stop.wait_for(|s| *s).await) });
            if let Err(err) = serve.await {
                eprintln!("fake model server: {err}");
            }
        });
        Self {
            addr,
            shared,
            shutdown_tx,
            serve_task,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`: `ANTHROPIC_BASE_URL` and `GOOGLE_GEMINI_BASE_URL`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn anthropic_base_url(&self) -> String {
        self.base_url()
    }

    /// `http://127.0.0.1:PORT/v1`: Codex's `model_providers.<id>.base_url`.
    pub fn openai_base_url(&self) -> String {
        format!("{}/v1", self.base_url())
    }

    pub fn gemini_base_url(&self) -> String {
        self.base_url()
    }

    /// Queues a reply for the next main turn.
    pub fn push(&self, reply: Reply) {
        self.shared.script.lock().unwrap().push(reply);
    }

    /// The text main turns get when the queue is empty.
    pub fn set_default_text(&self, text: impl Into<String>) {
        self.shared.script.lock().unwrap().set_default_text(text);
    }

    /// Scripted replies not yet used up.
    pub fn pending(&self) -> usize {
        self.shared.script.lock().unwrap().pending()
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.records.lock().unwrap().clone()
    }

    /// The main turns so far.
    pub fn main_turns(&self) -> Vec<RequestRecord> {
        self.requests()
            .into_iter()
            .filter(RequestRecord::is_main)
            .collect()
    }

    /// Sum of the usage reported on all requests so far.
    pub fn usage_sent(&self) -> Usage {
        self.requests()
            .iter()
            .filter_map(|r| r.usage)
            .fold(Usage::default(), |a, u| Usage {
                input_tokens: a.input_tokens + u.input_tokens,
                output_tokens: a.output_tokens + u.output_tokens,
                cache_read_tokens: a.cache_read_tokens + u.cache_read_tokens,
                cache_creation_tokens: a.cache_creation_tokens + u.cache_creation_tokens,
            })
    }

    /// Waits until a request matching `pred` has been recorded (looking at all requests so far
    /// first); `None` after `timeout`.
    pub async fn wait_for(
        &self,
        pred: impl Fn(&RequestRecord) -> bool,
        timeout: Duration,
    ) -> Option<RequestRecord> {
        self.wait_for_nth(1, pred, timeout).await
    }

    /// Waits until `n` requests match `pred`; returns the `n`th.
    pub async fn wait_for_nth(
        &self,
        n: usize,
        pred: impl Fn(&RequestRecord) -> bool,
        timeout: Duration,
    ) -> Option<RequestRecord> {
        let mut rx = self.shared.recorded_tx.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let found = self
                .requests()
                .into_iter()
                .filter(|r| pred(r))
                .nth(n.saturating_sub(1));
            if found.is_some() {
                return found;
            }
            tokio::select! {
                changed = rx.changed() => if changed.is_err() { return None },
                _ = tokio::time::sleep_until(deadline) => return None,
            }
        }
    }

    /// Writes every request so far to `dir` as `NN-kind.json` (uri, headers, body, what was
    /// served), for looking at exactly what a CLI sent.
    pub fn dump_requests(&self, dir: &std::path::Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        for r in self.requests() {
            let doc = json!({
                "uri": r.uri, "method": r.method, "kind": format!("{:?}", r.kind),
                "headers": r.headers.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>(),
                "served": format!("{:?}", r.served), "usage": format!("{:?}", r.usage), "body": r.body,
            });
            let name = format!("{:02}-{:?}.json", r.seq, r.kind).to_lowercase();
            std::fs::write(dir.join(name), serde_json::to_string_pretty(&doc)?)?;
        }
        Ok(())
    }

    /// A one-line-per-request summary, for test failure messages and reports.
    pub fn summary(&self) -> String {
        self.requests()
            .iter()
            .map(|r| {
                format!(
                    "#{} +{:.2}s {} {} {:?} model={} stream={} tools={} scripted={} served={:?} usage={:?}\n",
                    r.seq,
                    r.at.as_secs_f64(),
                    r.method,
                    r.uri,
                    r.kind,
                    r.model.as_deref().unwrap_or("-"),
                    r.stream,
                    r.tools,
                    r.scripted,
                    short(&r.served),
                    r.usage,
                )
            })
            .collect()
    }
}

fn short(served: &Served) -> String {
    let text = format!("{served:?}");
    if text.chars().count() > 80 {
        format!("{}…", text.chars().take(80).collect::<String>())
    } else {
        text
    }
}

impl Drop for FakeModelServer {
    fn drop(&mut self) {
        let _ = self.shutdown_tx.send(true);
        self.serve_task.abort();
    }
}
