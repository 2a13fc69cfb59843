//! Context windows, for CLIs whose log does not state it (Claude Code, Gemini CLI): each
//! agent's module lists the windows of the models it runs ([`crate::shim::agents::Agent`]);
//! Codex logs its window (`model_context_window`), so its row is only a fallback.

use crate::shim::AgentKind;
use crate::shim::agents::ONE_MILLION;

/// The context window of `model` as run by an agent of `kind`: a `[1m]` model (Claude Code's
/// notation for the long-context variant) has one million tokens, others what the agent's
/// table says, else the agent's default.
pub fn context_window(kind: AgentKind, model: Option<&str>) -> u64 {
    let agent = kind.descriptor();
    let model = model.unwrap_or_default().to_ascii_lowercase();
    if model.contains("[1m]") {
        return ONE_MILLION;
    }
    agent
        .context_windows
        .iter()
        .find(|(prefix, _)| model.starts_with(prefix))
        .map_or(agent.default_context_window, |&(_, window)| window)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shim::agents::DEFAULT_CONTEXT_WINDOW;

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
            DEFAULT_CONTEXT_WINDOW
        );
        let gemini = |m| context_window(AgentKind::Gemini, m);
        assert_eq!(gemini(Some("gemini-3.8-flash")), 1_048_576);
        assert_eq!(gemini(Some("gemma-4-31b-it")), 256_000);
        assert_eq!(gemini(None), 1_048_576);
        assert_eq!(context_window(AgentKind::Codex, Some("gpt-5.5")), 258_400);
        assert_eq!(
            context_window(AgentKind::Codex, Some("o9")),
            DEFAULT_CONTEXT_WINDOW
        );
    }
}
