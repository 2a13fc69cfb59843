//! Real token counts from each agent CLI's own session log.
//!
//! [`SessionLogReader`] finds the log the CLI writes for this session, reads only what was
//! appended since the last [`SessionLogReader::poll`] and returns a [`UsageSnapshot`]: token
//! totals, the last request's figures and how full the context window is. Parsing is pure
//! (each agent's `session_log` module, under [`crate::shim::agents`]: one log line in, one
//! `Record` out); each agent's module also says where its files are ([`SessionLogs`]); they are
//! read by `tail`.
//!
//! | CLI | log | figures |
//! |---|---|---|
//! | Claude Code | `~/.claude/projects/<cwd with non-alphanumerics as ->/<session>.jsonl` | `message.usage` per assistant line (the last line of each `message.id`) |
//! | Codex | `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-*.jsonl` (local date), bound by `session_meta.cwd` | `token_count` events: the CLI's running totals, last request, context window |
//! | Gemini CLI | `~/.gemini/tmp/<project>/chats/session-*.jsonl`, project dir bound by its `.project_root` | `tokens` per `gemini` message |
//!
//! **One meaning per figure, whatever the CLI calls it** ([`TokenCounts`]): `input_tokens` is
//! every prompt token, counted once (Anthropic's `input_tokens + cache_creation_input_tokens +
//! cache_read_input_tokens`; OpenAI's and Gemini's `input_tokens`/`input`, which already
//! include the cached part, plus Gemini's tool-use prompt); `cache_read_input_tokens` and
//! `cache_creation_input_tokens` are parts of it (OpenAI's `cached_input_tokens` and Gemini's
//! `cached` are cache reads). `output_tokens` is everything generated, reasoning included
//! (Gemini's `thoughts` are added to its `output`); `reasoning_output_tokens` is part of it.
//!
//! **Context**: `context_used_tokens` is what the last main-chain request put in the window, its
//! prompt plus its output (`input_tokens + output_tokens` of that request; for Codex this is
//! its `last_token_usage.total_tokens`). Claude Code's and Gemini CLI's own gauges count the
//! prompt only, so they read lower by one answer. `context_limit_tokens` is, in order: the
//! caller's override, the window the log states (Codex's `model_context_window`), the
//! per-model table in `limits`.

mod discovery;
pub mod limits;
mod reader;
mod tail;

use std::collections::HashMap;
use std::ops::{Add, AddAssign};

pub(crate) use discovery::{LocateLogs, SessionLogs, SessionPlace, files_in, same_path};
pub use reader::SessionLogReader;

/// Token figures, with the meanings given in the module doc.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenCounts {
    /// Every prompt token, cached or not, counted once.
    pub input_tokens: u64,
    /// The part of `input_tokens` read from a prompt cache.
    pub cache_read_input_tokens: u64,
    /// The part of `input_tokens` written to a prompt cache.
    pub cache_creation_input_tokens: u64,
    /// Every generated token, reasoning included.
    pub output_tokens: u64,
    /// The part of `output_tokens` spent on reasoning.
    pub reasoning_output_tokens: u64,
}

impl TokenCounts {
    /// What a request leaves in the context window: its prompt and its output.
    pub fn context_tokens(&self) -> u64 {
        self.input_tokens + self.output_tokens
    }
}

impl Add for TokenCounts {
    type Output = Self;

    fn add(self, other: Self) -> Self {
        Self {
            input_tokens: self.input_tokens + other.input_tokens,
            cache_read_input_tokens: self.cache_read_input_tokens + other.cache_read_input_tokens,
            cache_creation_input_tokens: self.cache_creation_input_tokens
                + other.cache_creation_input_tokens,
            output_tokens: self.output_tokens + other.output_tokens,
            reasoning_output_tokens: self.reasoning_output_tokens + other.reasoning_output_tokens,
        }
    }
}

impl AddAssign for TokenCounts {
    fn add_assign(&mut self, other: Self) {
        *self = *self + other;
    }
}

/// The usage of a session as its CLI logged it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageSnapshot {
    /// The model of the last request.
    pub model: Option<String>,
    /// Totals over every request logged since the reader was created (across session files,
    /// when the CLI started a new session, e.g. after `/clear`).
    pub totals: TokenCounts,
    /// The last main-chain request of the current session file.
    pub last_request: Option<TokenCounts>,
    /// Tokens in the context window as of the last request (its prompt and output).
    pub context_used_tokens: u64,
    /// The model's context window.
    pub context_limit_tokens: u64,
}

impl UsageSnapshot {
    /// How full the context window is, in percent (rounded, at most 100).
    pub fn usage_pct(&self) -> u8 {
        if self.context_limit_tokens == 0 {
            return 0;
        }
        let pct = (self.context_used_tokens as f64 * 100.0 / self.context_limit_tokens as f64)
            .round()
            .min(100.0);
        pct as u8
    }
}

/// What one log line tells about usage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Record {
    /// One model request. Lines with the same `id` describe the same request (Claude writes a
    /// line per content block of a message, Gemini rewrites a message): the last one counts.
    Request {
        id: String,
        model: Option<String>,
        counts: TokenCounts,
        /// `false` for a subagent's request (Claude sidechains): counted in totals, but it is
        /// not the main conversation's context.
        main_chain: bool,
    },
    /// The CLI's own running totals and its last request (Codex `token_count`).
    Running {
        totals: TokenCounts,
        last: TokenCounts,
        context_window: Option<u64>,
    },
    /// The model in use from now on (Codex `turn_context`).
    Model(String),
}

/// Usage read from one session file.
#[derive(Debug, Default)]
struct Accumulator {
    /// Per-request figures by request id (the last line of each request wins).
    requests: HashMap<String, TokenCounts>,
    /// Running totals that the CLI logged itself (they replace the per-request sum).
    running: Option<TokenCounts>,
    last: Option<TokenCounts>,
    model: Option<String>,
    context_window: Option<u64>,
}

impl Accumulator {
    fn apply(&mut self, record: Record) {
        match record {
            Record::Request {
                id,
                model,
                counts,
                main_chain,
            } => {
                self.requests.insert(id, counts);
                if main_chain {
                    self.last = Some(counts);
                    if model.is_some() {
                        self.model = model;
                    }
                }
            }
            Record::Running {
                totals,
                last,
                context_window,
            } => {
                self.running = Some(totals);
                self.last = Some(last);
                self.context_window = context_window.or(self.context_window);
            }
            Record::Model(model) => self.model = Some(model),
        }
    }

    fn totals(&self) -> TokenCounts {
        self.running.unwrap_or_else(|| {
            self.requests
                .values()
                .fold(TokenCounts::default(), |a, b| a + *b)
        })
    }

    fn is_empty(&self) -> bool {
        self.requests.is_empty() && self.running.is_none()
    }
}

#[cfg(test)]
mod reader_tests;
#[cfg(test)]
mod tests;
