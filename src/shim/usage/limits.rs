//! Context windows of known models, for CLIs whose log does not state it (Claude Code, Gemini
//! CLI). Figures as the pinned CLIs use them: Claude Code 2.1.197's model table (1M tokens for
//! the Opus 4.7/4.8, Sonnet 5, Fable 5 and Mythos 5 families and any `[1m]` model, 200k for the
//! others) and Gemini CLI 0.61.0's `tokenLimit` (1,048,576 for Gemini models, 256k for Gemma 4).
//! Codex logs its window (`model_context_window`), so its row here is only a fallback.

use crate::shim::AgentKind;

/// The window when neither the log, the table nor the caller knows better.
pub const DEFAULT_CONTEXT_LIMIT: u64 = 200_000;

const ONE_MILLION: u64 = 1_000_000;
/// Gemini CLI's limit for Gemini models (and its default).
const GEMINI_LIMIT: u64 = 1_048_576;

/// Model name prefixes and their windows; the first match wins.
const WINDOWS: &[(&str, u64)] = &[
    ("claude-opus-4-7", ONE_MILLION),
    ("claude-opus-4-8", ONE_MILLION),
    ("claude-sonnet-5", ONE_MILLION),
    ("claude-fable-5", ONE_MILLION),
    ("claude-mythos-5", ONE_MILLION),
    ("claude-", 200_000),
    ("gemma-4", 256_000),
    ("gemini-", GEMINI_LIMIT),
    // What Codex 0.169.0 logs for gpt-5.5 (95 % of 272k).
    ("gpt-5", 258_400),
];

/// The context window of `model` as run by an agent of `kind`.
pub fn context_window(kind: AgentKind, model: Option<&str>) -> u64 {
    let model = model.unwrap_or_default().to_ascii_lowercase();
    if model.contains("[1m]") {
        return ONE_MILLION;
    }
    WINDOWS
        .iter()
        .find(|(prefix, _)| model.starts_with(prefix))
        .map(|&(_, window)| window)
        .unwrap_or(match kind {
            AgentKind::Gemini => GEMINI_LIMIT,
            _ => DEFAULT_CONTEXT_LIMIT,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_models_and_defaults() {
        let claude = |m| context_window(AgentKind::Claude, Some(m));
        assert_eq!(claude("claude-opus-4-8"), ONE_MILLION);
        assert_eq!(claude("claude-sonnet-5"), ONE_MILLION);
        assert_eq!(claude("claude-sonnet-4-5-20250929"), 200_000);
        assert_eq!(claude("claude-sonnet-4-5[1m]"), ONE_MILLION);
        assert_eq!(claude("claude-haiku-4-5-20251001"), 200_000);
        assert_eq!(
            context_window(AgentKind::Claude, None),
            DEFAULT_CONTEXT_LIMIT
        );
        let gemini = |m| context_window(AgentKind::Gemini, m);
        assert_eq!(gemini(Some("gemini-3.8-flash")), GEMINI_LIMIT);
        assert_eq!(gemini(Some("gemma-4-31b-it")), 256_000);
        assert_eq!(gemini(None), GEMINI_LIMIT);
        assert_eq!(context_window(AgentKind::Codex, Some("gpt-5.5")), 258_400);
        assert_eq!(
            context_window(AgentKind::Codex, Some("o9")),
            DEFAULT_CONTEXT_LIMIT
        );
    }
}
