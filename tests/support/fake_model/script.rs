//! What a test scripts and what the fake model server records.
//!
//! A test pushes [`Reply`] values onto the server's queue; each main turn (and each Claude
//! compaction turn) takes the next one, in order, whatever API it arrives on. When the queue is
//! empty the server answers with [`DEFAULT_REPLY`] (or the text set with
//! `FakeModelServer::set_default_text`). Side requests (titles, Gemini's router classifier and
//! other JSON-mode checks, token counting) never touch the queue: they get schema-fitting JSON.
//!
//! Every request the server receives becomes a [`RequestRecord`], which also says what was sent
//! back, including the token usage figures reported to the CLI.

use std::collections::VecDeque;
use std::time::Duration;

use serde_json::Value;

/// The text of a main turn when nothing is queued.
pub const DEFAULT_REPLY: &str = "Hello from the fake model.";

/// The title every title request gets (inside the JSON the schema asks for).
pub const FAKE_TITLE: &str = "Fake session title";

/// Token figures reported back to the CLI for one response.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Prompt tokens not read from cache.
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Prompt tokens read from cache (Anthropic `cache_read_input_tokens`, OpenAI
    /// `cached_tokens`, Gemini `cachedContentTokenCount`).
    pub cache_read_tokens: u64,
    /// Prompt tokens written to cache (Anthropic `cache_creation_input_tokens` only).
    pub cache_creation_tokens: u64,
}

impl Usage {
    pub fn new(input_tokens: u64, output_tokens: u64) -> Self {
        Self {
            input_tokens,
            output_tokens,
            ..Self::default()
        }
    }

    /// All prompt tokens, cached or not, counted once.
    pub fn prompt_total(&self) -> u64 {
        self.input_tokens + self.cache_read_tokens + self.cache_creation_tokens
    }
}

/// Errors, rendered the way each API reports them (see REAL_AGENTS.md).
#[derive(Clone, Debug, PartialEq)]
pub enum ErrorKind {
    /// Prompt too long / context window exceeded.
    ContextTooLong,
    /// A transient rate limit (429), with a `retry-after` in seconds where the API has one.
    RateLimit { retry_after_secs: u64 },
    /// A usage quota is exhausted until `reset_epoch_secs`. `claim` is Anthropic's
    /// representative claim (`five_hour`, `seven_day`) for subscription (OAuth) mode; `None`
    /// gives the API-key "credit balance is too low" error.
    Quota {
        reset_epoch_secs: u64,
        claim: Option<String>,
    },
    /// 503 overloaded / at capacity.
    Overloaded,
    /// Anything else: this status, these extra headers and this JSON body, verbatim.
    Raw {
        status: u16,
        headers: Vec<(String, String)>,
        body: Value,
    },
}

/// What a scripted reply does.
#[derive(Clone, Debug, PartialEq)]
pub enum ReplyBody {
    /// Assistant text (any length, lines, unicode).
    Text(String),
    /// A shell tool call: Claude `Bash` tool_use, Codex `exec_command` function_call, Gemini
    /// `run_shell_command` functionCall. `escalate` adds Codex's
    /// `sandbox_permissions: require_escalated` (which makes Codex ask for approval).
    ShellCall { command: String, escalate: bool },
    /// A call of the tool `name` with the arguments `input`, as the API calls its tools: a
    /// Claude `tool_use` block, a Codex `function_call` item (`arguments` the JSON text), a
    /// Gemini `functionCall` part. For a tool the CLI has besides its own, such as an MCP
    /// server's (Claude Code names them `mcp__SERVER__TOOL`).
    ToolCall { name: String, input: Value },
    /// An error response.
    Error(ErrorKind),
    /// Status 200 and headers, then nothing until the server stops: a hung model.
    Hang,
}

impl ReplyBody {
    /// What the server records it sent.
    pub fn served(&self) -> Served {
        match self {
            ReplyBody::Text(text) => Served::Text(text.clone()),
            ReplyBody::ShellCall { command, .. } => Served::ShellCall(command.clone()),
            ReplyBody::ToolCall { name, input } => Served::ToolCall {
                name: name.clone(),
                input: input.clone(),
            },
            ReplyBody::Error(kind) => Served::Error(kind.clone()),
            ReplyBody::Hang => Served::Hang,
        }
    }

    /// Whether it is an answer (text or a tool call, which report usage), not an error or a
    /// hang.
    pub fn is_answer(&self) -> bool {
        matches!(
            self,
            ReplyBody::Text(_) | ReplyBody::ShellCall { .. } | ReplyBody::ToolCall { .. }
        )
    }
}

/// How many turns a reply answers before it leaves the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repeat {
    Times(u32),
    Forever,
}

/// Timing of a streamed reply: headers and the stream preamble go out at once; the first
/// content chunk after `first_chunk_delay`, each further chunk after `chunk_delay`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pacing {
    pub first_chunk_delay: Duration,
    pub chunk_delay: Duration,
    /// Words per text chunk (at least 1).
    pub words_per_chunk: usize,
}

impl Default for Pacing {
    fn default() -> Self {
        Self {
            first_chunk_delay: Duration::ZERO,
            chunk_delay: Duration::ZERO,
            words_per_chunk: 4,
        }
    }
}

/// One scripted answer, built with the constructors and the chained setters.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    pub body: ReplyBody,
    pub pacing: Pacing,
    /// Usage to report; `None` derives figures from the request and reply sizes.
    pub usage: Option<Usage>,
    pub repeat: Repeat,
}

impl Reply {
    fn of(body: ReplyBody) -> Self {
        Self {
            body,
            pacing: Pacing::default(),
            usage: None,
            repeat: Repeat::Times(1),
        }
    }

    pub fn text(text: impl Into<String>) -> Self {
        Self::of(ReplyBody::Text(text.into()))
    }

    pub fn shell(command: impl Into<String>) -> Self {
        Self::of(ReplyBody::ShellCall {
            command: command.into(),
            escalate: false,
        })
    }

    /// A shell call that Codex must ask approval for (`require_escalated`).
    pub fn shell_escalated(command: impl Into<String>) -> Self {
        Self::of(ReplyBody::ShellCall {
            command: command.into(),
            escalate: true,
        })
    }

    /// A call of the tool `name` with `input` (see [`ReplyBody::ToolCall`]).
    pub fn tool_call(name: impl Into<String>, input: Value) -> Self {
        Self::of(ReplyBody::ToolCall {
            name: name.into(),
            input,
        })
    }

    pub fn error(kind: ErrorKind) -> Self {
        Self::of(ReplyBody::Error(kind))
    }

    pub fn hang() -> Self {
        Self::of(ReplyBody::Hang)
    }

    /// First content after `first`, then one chunk every `per_chunk`.
    pub fn slow(mut self, first: Duration, per_chunk: Duration) -> Self {
        self.pacing.first_chunk_delay = first;
        self.pacing.chunk_delay = per_chunk;
        self
    }

    pub fn words_per_chunk(mut self, words: usize) -> Self {
        self.pacing.words_per_chunk = words.max(1);
        self
    }

    pub fn usage(mut self, usage: Usage) -> Self {
        self.usage = Some(usage);
        self
    }

    pub fn times(mut self, n: u32) -> Self {
        self.repeat = Repeat::Times(n.max(1));
        self
    }

    pub fn forever(mut self) -> Self {
        self.repeat = Repeat::Forever;
        self
    }

    /// The usage to report for a request of `request_bytes` bytes.
    pub fn usage_for(&self, request_bytes: usize) -> Usage {
        self.usage.unwrap_or_else(|| {
            let output = match &self.body {
                ReplyBody::Text(t) => t.chars().count().div_ceil(4).max(1),
                ReplyBody::ShellCall { command, .. } => command.len().div_ceil(4) + 10,
                ReplyBody::ToolCall { name, input } => {
                    (name.len() + input.to_string().len()).div_ceil(4) + 10
                }
                _ => 0,
            };
            Usage::new((request_bytes / 4).max(1) as u64, output as u64)
        })
    }
}

/// The queue of scripted replies plus the default text.
#[derive(Debug)]
pub struct Script {
    queue: VecDeque<Reply>,
    default_text: String,
}

impl Default for Script {
    fn default() -> Self {
        Self {
            queue: VecDeque::new(),
            default_text: DEFAULT_REPLY.to_string(),
        }
    }
}

impl Script {
    pub fn push(&mut self, reply: Reply) {
        self.queue.push_back(reply);
    }

    pub fn set_default_text(&mut self, text: impl Into<String>) {
        self.default_text = text.into();
    }

    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// The reply for the next main turn, and whether it came from the queue.
    pub fn next(&mut self) -> (Reply, bool) {
        let Some(front) = self.queue.front_mut() else {
            return (Reply::text(self.default_text.clone()), false);
        };
        let reply = front.clone();
        match &mut front.repeat {
            Repeat::Forever => {}
            Repeat::Times(n) if *n > 1 => *n -= 1,
            Repeat::Times(_) => {
                self.queue.pop_front();
            }
        }
        (reply, true)
    }
}

/// Which wire API a request belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    Anthropic,
    OpenAiResponses,
    Gemini,
    Unknown,
}

/// What a request was for, as far as the server can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TurnKind {
    /// A user turn: takes the next scripted reply.
    Main,
    /// Claude's auto-compaction summary turn; also takes the next scripted reply.
    Compact,
    /// A session/thread title request (json_schema with a `title` field).
    Title,
    /// Gemini's model router classifier (JSON mode).
    Router,
    /// Another structured (JSON-mode) side request, answered from its schema.
    JsonSide,
    /// A token count.
    CountTokens,
    /// A connectivity check: `HEAD /` or `GET /` (Claude Code sends `HEAD /` first).
    Probe,
    /// A path the server does not know (answered 404).
    Unknown,
}

/// What the server sent back, in short.
#[derive(Clone, Debug, PartialEq)]
pub enum Served {
    Text(String),
    ShellCall(String),
    /// A [`ReplyBody::ToolCall`]: the tool's name and arguments.
    ToolCall {
        name: String,
        input: Value,
    },
    Json(Value),
    Error(ErrorKind),
    Hang,
    TokenCount(u64),
    /// 200 with an empty body (connectivity probes).
    Empty,
    NotFound,
}

/// One request as received, and what it was answered with.
#[derive(Clone, Debug)]
pub struct RequestRecord {
    /// 0-based arrival order.
    pub seq: usize,
    /// Since the server started.
    pub at: Duration,
    pub method: String,
    /// Path and query, as sent.
    pub uri: String,
    pub api: Api,
    pub kind: TurnKind,
    pub model: Option<String>,
    pub stream: bool,
    /// Number of tools offered to the model.
    pub tools: usize,
    /// Text of the last user message (without Claude's `<system-reminder>` blocks).
    pub user_text: Option<String>,
    /// Tool results the CLI sent back in this request's final user turn (Claude `tool_result`,
    /// Codex `function_call_output`, Gemini `functionResponse`), as text.
    pub tool_results: Vec<String>,
    /// Request headers (lower-case names).
    pub headers: Vec<(String, String)>,
    /// The parsed JSON body (`Null` when there was none or it was not JSON).
    pub body: Value,
    pub served: Served,
    /// Whether the answer came from the scripted queue (false: default or side answer).
    pub scripted: bool,
    /// Token usage reported back, when the response carried any.
    pub usage: Option<Usage>,
}

impl RequestRecord {
    pub fn is_main(&self) -> bool {
        self.kind == TurnKind::Main
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}
