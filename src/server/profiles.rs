//! Server-side profiles: named recipes for shims (`[profiles.NAME]` in the TOML config), so a
//! remote client picks what runs instead of supplying a program. Built in: `shell` (the user's
//! `$SHELL`, else `bash`), which makes a server useful without any config, and one profile per
//! agent driver (`claude`, `codex`, `gemini`, `kiro`) running that CLI from `PATH`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::shim::{AgentKind, DEFAULT_COLS, DEFAULT_ROWS, Signals};

/// The profile used when a request names none.
pub const DEFAULT_PROFILE: &str = "shell";

/// One profile as written in the config file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Agent kind (`generic`, ...); decides classification and typing.
    #[serde(default = "default_agent")]
    pub agent: String,
    /// Program and arguments.
    pub command: Vec<String>,
    /// Working directory (default: the server's).
    pub cwd: Option<PathBuf>,
    /// Environment variables added for the agent.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    pub rows: Option<u16>,
    pub cols: Option<u16>,
    /// Deliver messages held by a used-up usage quota by itself once it resets (default
    /// true); false: they fail, and new ones are refused until then.
    pub auto_resume: Option<bool>,
    /// Hold this long when a usage-limit message shows no reset time (default 900 s).
    pub quota_hold_secs: Option<u64>,
    /// `ContextWarning` when context usage crosses this percentage (default 80).
    pub context_warning_pct: Option<u8>,
    /// The agent's context window in tokens (default: known per model).
    pub context_limit_tokens: Option<u64>,
    /// Use what the agent tells about its own turns (a shell's semantic prompt marks) besides
    /// the screen (default true); false: the screen alone decides.
    pub turn_signals: Option<bool>,
}

fn default_agent() -> String {
    AgentKind::Generic.name().to_owned()
}

impl Profile {
    /// The agent kind, validated.
    pub fn agent_kind(&self) -> Result<AgentKind, ConfigError> {
        self.agent
            .parse()
            .map_err(|e: crate::shim::UnknownAgentKind| ConfigError::Invalid(e.to_string()))
    }

    pub fn rows(&self) -> u16 {
        self.rows.unwrap_or(DEFAULT_ROWS)
    }

    pub fn cols(&self) -> u16 {
        self.cols.unwrap_or(DEFAULT_COLS)
    }

    /// How the shim acts on limits the agent reports, defaults filled in.
    pub fn signals(&self) -> Result<Signals, ConfigError> {
        let defaults = Signals::default();
        let context_warning_pct = self
            .context_warning_pct
            .unwrap_or(defaults.context_warning_pct);
        if !(1..=100).contains(&context_warning_pct) {
            return Err(ConfigError::Invalid(format!(
                "context_warning_pct must be between 1 and 100 (got {context_warning_pct})"
            )));
        }
        Ok(Signals {
            auto_resume: self.auto_resume.unwrap_or(defaults.auto_resume),
            unknown_reset_hold: self
                .quota_hold_secs
                .map_or(defaults.unknown_reset_hold, Duration::from_secs),
            context_warning_pct,
            context_limit_tokens: self.context_limit_tokens,
        })
    }
}

/// The server's config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
    /// Events the server keeps for replay (default 10,000).
    pub event_log_capacity: Option<usize>,
}

/// A config that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid config {path}: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: Box<toml::de::Error>,
    },
    #[error("invalid config: {0}")]
    Invalid(String),
}

/// The profiles a server offers: built-ins, overridden or extended by the config file.
#[derive(Debug, Clone)]
pub struct Profiles {
    by_name: BTreeMap<String, Profile>,
}

impl Profiles {
    /// Only the built-in profiles.
    pub fn builtin() -> Self {
        let shell = std::env::var("SHELL")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "bash".to_owned());
        let builtins = [
            (DEFAULT_PROFILE, AgentKind::Generic, vec![shell.as_str()]),
            (AgentKind::Claude.name(), AgentKind::Claude, vec!["claude"]),
            // Inline mode: Codex's transcript scrolls into the terminal's scrollback (on the
            // alternate screen an answer longer than the screen would be cut to its last page).
            // No shared `codex app-server` daemon: it would outlive the agent.
            (
                AgentKind::Codex.name(),
                AgentKind::Codex,
                vec!["codex", "--no-alt-screen", "--no-daemon"],
            ),
            (AgentKind::Gemini.name(), AgentKind::Gemini, vec!["gemini"]),
            // `kiro-cli` alone is short for `kiro-cli chat`; the subcommand is spelled out.
            (
                AgentKind::Kiro.name(),
                AgentKind::Kiro,
                vec!["kiro-cli", "chat"],
            ),
        ];
        let by_name = builtins
            .into_iter()
            .map(|(name, agent, command)| {
                let profile = Profile {
                    agent: agent.name().to_owned(),
                    command: command.into_iter().map(str::to_owned).collect(),
                    cwd: None,
                    env: BTreeMap::new(),
                    rows: None,
                    cols: None,
                    auto_resume: None,
                    quota_hold_secs: None,
                    context_warning_pct: None,
                    context_limit_tokens: None,
                    turn_signals: None,
                };
                (name.to_owned(), profile)
            })
            .collect();
        Self { by_name }
    }

    /// Built-ins plus the profiles of `config` (a config profile replaces a built-in one).
    pub fn with_config(config: &ConfigFile) -> Result<Self, ConfigError> {
        let mut profiles = Self::builtin();
        for (name, profile) in &config.profiles {
            profile.signals()?;
            if profile.command.first().is_none_or(|p| p.is_empty()) {
                return Err(ConfigError::Invalid(format!(
                    "profile `{name}` needs a non-empty `command`"
                )));
            }
            profile.agent_kind()?;
            profiles.by_name.insert(name.clone(), profile.clone());
        }
        Ok(profiles)
    }

    pub fn get(&self, name: &str) -> Option<&Profile> {
        self.by_name.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }
}

/// Reads and parses a config file.
pub fn load_config(path: &Path) -> Result<ConfigFile, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str(&text).map_err(|source| ConfigError::Parse {
        path: path.to_owned(),
        source: Box::new(source),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_profiles_extend_and_override_builtins() {
        let config: ConfigFile = toml::from_str(
            r#"
            event_log_capacity = 50
            [profiles.py]
            command = ["python3", "-q"]
            env = { PYTHONUNBUFFERED = "1" }
            rows = 30
            [profiles.shell]
            command = ["sh"]
            "#,
        )
        .unwrap();
        let profiles = Profiles::with_config(&config).unwrap();
        let py = profiles.get("py").unwrap();
        assert_eq!(py.agent_kind().unwrap(), AgentKind::Generic);
        assert_eq!((py.rows(), py.cols()), (30, DEFAULT_COLS));
        assert_eq!(profiles.get("shell").unwrap().command, vec!["sh"]);
        assert_eq!(config.event_log_capacity, Some(50));
    }

    #[test]
    fn bad_profiles_are_refused_with_a_reason() {
        let unknown_agent: ConfigFile =
            toml::from_str("[profiles.x]\ncommand = [\"sh\"]\nagent = \"nope\"").unwrap();
        let error = Profiles::with_config(&unknown_agent).unwrap_err();
        assert!(
            error.to_string().contains("unknown agent kind `nope`"),
            "{error}"
        );
        let empty: ConfigFile = toml::from_str("[profiles.x]\ncommand = []").unwrap();
        assert!(Profiles::with_config(&empty).is_err());
        assert!(
            toml::from_str::<ConfigFile>("[profiles.x]\ncommand = [\"sh\"]\ntypo = 1").is_err()
        );
    }
}
