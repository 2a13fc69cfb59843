//! Server-side profiles: named recipes for shims (`[profiles.NAME]` in the TOML config), so a
//! remote client picks what runs instead of supplying a program. Built in: `shell` (the user's
//! `$SHELL`, else `bash`), which makes a server useful without any config, and one profile per
//! agent (`claude`, `codex`, `gemini`, `kiro`) running the command its module declares. The config
//! may keep only some built-ins (`builtin_profiles`) and name the default profile. A config
//! profile is checked when the server starts: its program must be found and its cwd exist.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::config::{ConfigError, ConfigFile, Limits};
use crate::shim::{AgentKind, DEFAULT_COLS, DEFAULT_ROWS, DEFAULT_SCROLLBACK, ShimSpec, Signals};

/// The profile used when a request names none, unless the config names another.
pub const DEFAULT_PROFILE: &str = "shell";

/// The environment variables a client may set for a profile that has no `env_allow`: locale,
/// time zone, terminal colours and git identity, none of which makes a program run other code
/// (unlike `LD_PRELOAD`, `NODE_OPTIONS`, `PATH`, `BASH_ENV`, ...). A trailing `*` matches any
/// suffix.
pub const DEFAULT_CLIENT_ENV: &[&str] = &[
    "LANG",
    "LANGUAGE",
    "LC_*",
    "TZ",
    "TERM",
    "COLORTERM",
    "NO_COLOR",
    "FORCE_COLOR",
    "GIT_AUTHOR_NAME",
    "GIT_AUTHOR_EMAIL",
    "GIT_COMMITTER_NAME",
    "GIT_COMMITTER_EMAIL",
];

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
    /// The variables a client may set in CreateShim `env` (names; a trailing `*` matches any
    /// suffix; default [`DEFAULT_CLIENT_ENV`]). A server with `--allow-any-command` lets its
    /// clients set any.
    pub env_allow: Option<Vec<String>>,
    pub rows: Option<u16>,
    pub cols: Option<u16>,
    /// Rows of history kept beyond the screen (default 5000; at most `limits.max_scrollback`).
    pub scrollback: Option<usize>,
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
    /// When a shim's process is gone as the server starts (the host or pod restarted), start
    /// its agent again on the conversation it had (its CLI's resume option, with the session
    /// id the shim read from the CLI's session log) instead of reporting it dead (default
    /// false; for the agents that can: claude, codex, gemini).
    pub resume: Option<bool>,
    /// Record every shim's terminal (default false; CreateShim `record` overrides it).
    pub record: Option<bool>,
    /// Where recordings go (default: `recordings/` in the state directory, where a recording
    /// is removed with its shim; one here is kept).
    pub record_dir: Option<PathBuf>,
    /// The most bytes one recording may take (default 64 MiB); it says where it was cut.
    pub record_max_bytes: Option<u64>,
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

    pub fn scrollback(&self) -> usize {
        self.scrollback.unwrap_or(DEFAULT_SCROLLBACK)
    }

    /// Whether a client may set the variable `key` for this profile.
    pub fn client_may_set(&self, key: &str) -> bool {
        let matches = |pattern: &str| match pattern.strip_suffix('*') {
            Some(prefix) => key.starts_with(prefix),
            None => key == pattern,
        };
        match &self.env_allow {
            Some(allowed) => allowed.iter().any(|pattern| matches(pattern)),
            None => DEFAULT_CLIENT_ENV.iter().any(|pattern| matches(pattern)),
        }
    }

    /// Whether the agent's driver can start the profile's command on an earlier session, when
    /// the profile asks for it.
    fn check_resume(&self, name: &str) -> Result<(), ConfigError> {
        if self.resume != Some(true) {
            return Ok(());
        }
        let kind = self.agent_kind()?;
        let (program, args) = self.command.split_first().expect("checked non-empty");
        let mut probe = ShimSpec::new(name, program, args).process;
        if kind.driver().resume_process(&mut probe, "session-id") {
            return Ok(());
        }
        Err(ConfigError::Invalid(format!(
            "profile `{name}`: resume = true, but the {kind} driver cannot resume `{program}` \
             (the claude, codex and gemini drivers resume their own CLI, run directly)"
        )))
    }

    /// Whether the profile can start here: its program is found (on `PATH`, the profile's own
    /// if it sets one, unless the program is a path) and its cwd is a directory.
    fn check_runnable(&self, name: &str) -> Result<(), ConfigError> {
        let invalid = |what: String| Err(ConfigError::Invalid(format!("profile `{name}`: {what}")));
        if let Some(cwd) = &self.cwd
            && !cwd.is_dir()
        {
            return invalid(format!("cwd {} is not a directory", cwd.display()));
        }
        let program = &self.command[0];
        let search_path = self
            .env
            .get("PATH")
            .cloned()
            .or_else(|| std::env::var("PATH").ok())
            .unwrap_or_default();
        if find_program(program, self.cwd.as_deref(), &search_path).is_none() {
            return invalid(format!(
                "program `{program}` is not an executable file{}",
                if program.contains('/') {
                    String::new()
                } else {
                    format!(" on PATH ({search_path})")
                }
            ));
        }
        Ok(())
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

/// Where `program` is found: itself when it names a path (relative to `cwd`), else the first
/// executable file of that name on `search_path`.
fn find_program(program: &str, cwd: Option<&Path>, search_path: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |path: &Path| {
        path.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let path = match cwd {
            Some(cwd) => cwd.join(program),
            None => PathBuf::from(program),
        };
        return executable(&path).then_some(path);
    }
    std::env::split_paths(search_path)
        .map(|dir| dir.join(program))
        .find(|path| executable(path))
}

/// The profiles a server offers: built-ins, overridden or extended by the config file.
#[derive(Debug, Clone)]
pub struct Profiles {
    by_name: BTreeMap<String, Profile>,
    /// The profile of a request that names none; `None`: such requests are refused.
    default: Option<String>,
}

impl Profiles {
    /// Only the built-in profiles.
    pub fn builtin() -> Self {
        let shell = std::env::var("SHELL")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "bash".to_owned());
        // `shell` for the generic kind; every agent's own command, from its module.
        let builtins = AgentKind::all().map(|kind| match kind.descriptor().builtin_command {
            Some(command) => (kind.name(), kind, command.to_vec()),
            None => (DEFAULT_PROFILE, kind, vec![shell.as_str()]),
        });
        let by_name = builtins
            .into_iter()
            .map(|(name, agent, command)| {
                let profile = Profile {
                    agent: agent.name().to_owned(),
                    command: command.into_iter().map(str::to_owned).collect(),
                    cwd: None,
                    env: BTreeMap::new(),
                    env_allow: None,
                    rows: None,
                    cols: None,
                    scrollback: None,
                    auto_resume: None,
                    quota_hold_secs: None,
                    context_warning_pct: None,
                    context_limit_tokens: None,
                    turn_signals: None,
                    resume: None,
                    record: None,
                    record_dir: None,
                    record_max_bytes: None,
                };
                (name.to_owned(), profile)
            })
            .collect();
        Self {
            by_name,
            default: Some(DEFAULT_PROFILE.to_owned()),
        }
    }

    /// The built-ins `config` keeps plus its profiles (a config profile replaces a built-in
    /// one), each checked: a profile that cannot start here is an error now, not at the first
    /// CreateShim.
    pub fn with_config(config: &ConfigFile) -> Result<Self, ConfigError> {
        config.limits.check()?;
        let mut profiles = Self::builtin();
        if let Some(kept) = &config.builtin_profiles {
            if let Some(unknown) = kept.iter().find(|name| profiles.get(name).is_none()) {
                let known: Vec<&str> = profiles.names().collect();
                return Err(ConfigError::Invalid(format!(
                    "builtin_profiles: there is no built-in profile `{unknown}` (built in: {})",
                    known.join(", ")
                )));
            }
            profiles.by_name.retain(|name, _| kept.contains(name));
        }
        for (name, profile) in &config.profiles {
            profile.signals()?;
            if profile.command.first().is_none_or(|p| p.is_empty()) {
                return Err(ConfigError::Invalid(format!(
                    "profile `{name}` needs a non-empty `command`"
                )));
            }
            profile.agent_kind()?;
            check_scrollback(profile.scrollback(), &config.limits)
                .map_err(|e| ConfigError::Invalid(format!("profile `{name}`: {e}")))?;
            profile.check_runnable(name)?;
            profile.check_resume(name)?;
            profiles.by_name.insert(name.clone(), profile.clone());
        }
        profiles.default = match &config.default_profile {
            Some(name) if profiles.get(name).is_none() => {
                return Err(ConfigError::Invalid(format!(
                    "default_profile `{name}` is not a profile of this server"
                )));
            }
            Some(name) => Some(name.clone()),
            None => profiles
                .get(DEFAULT_PROFILE)
                .map(|_| DEFAULT_PROFILE.to_owned()),
        };
        Ok(profiles)
    }

    pub fn get(&self, name: &str) -> Option<&Profile> {
        self.by_name.get(name)
    }

    /// The profile of a request that names none, if the server has one.
    pub fn default_name(&self) -> Option<&str> {
        self.default.as_deref()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }
}

/// Refuses more rows of history than `limits` allow.
pub fn check_scrollback(rows: usize, limits: &Limits) -> Result<(), String> {
    if rows > limits.max_scrollback {
        return Err(format!(
            "scrollback {rows} is over the limit of {} rows (limits.max_scrollback)",
            limits.max_scrollback
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

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

    fn profiles_of(toml_text: &str) -> Result<Profiles, ConfigError> {
        Profiles::with_config(&toml::from_str(toml_text).unwrap())
    }

    #[test]
    fn a_profile_that_cannot_start_is_refused_when_the_server_starts() {
        let error = profiles_of("[profiles.x]\ncommand = [\"agentshim-no-such-program\"]")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("program `agentshim-no-such-program` is not an executable file on PATH"),
            "{error}"
        );
        let error = profiles_of("[profiles.x]\ncommand = [\"/nonexistent/prog\"]")
            .unwrap_err()
            .to_string();
        assert!(error.contains("`/nonexistent/prog`"), "{error}");
        let error = profiles_of("[profiles.x]\ncommand = [\"sh\"]\ncwd = \"/nonexistent/dir\"")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("cwd /nonexistent/dir is not a directory"),
            "{error}"
        );
        let error = profiles_of("[profiles.x]\ncommand = [\"sh\"]\nscrollback = 999999999")
            .unwrap_err()
            .to_string();
        assert!(error.contains("limits.max_scrollback"), "{error}");
        assert!(profiles_of("[profiles.x]\ncommand = [\"sh\"]\ncwd = \"/\"").is_ok());
    }

    #[test]
    fn only_a_cli_that_resumes_its_sessions_may_have_a_profile_that_resumes() {
        let error = profiles_of("[profiles.x]\ncommand = [\"sh\"]\nresume = true")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("resume = true, but the generic driver cannot resume `sh`"),
            "{error}"
        );
        let wrapped = "[profiles.x]\nagent = \"claude\"\ncommand = [\"sh\"]\nresume = true";
        let error = profiles_of(wrapped).unwrap_err().to_string();
        assert!(
            error.contains("the claude driver cannot resume `sh`"),
            "{error}"
        );

        let dir = tempfile::tempdir().unwrap();
        let claude = dir.path().join("claude");
        std::fs::write(&claude, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&claude, std::fs::Permissions::from_mode(0o755)).unwrap();
        let direct = format!(
            "[profiles.x]\nagent = \"claude\"\ncommand = [{:?}]\nresume = true",
            claude.display().to_string()
        );
        assert_eq!(
            profiles_of(&direct).unwrap().get("x").unwrap().resume,
            Some(true)
        );
    }

    #[test]
    fn the_operator_chooses_the_builtins_and_the_default() {
        let none = profiles_of("builtin_profiles = []").unwrap();
        assert_eq!(none.names().count(), 0);
        assert_eq!(none.default_name(), None);
        let agents = profiles_of(
            "builtin_profiles = [\"claude\"]\ndefault_profile = \"py\"\n\
             [profiles.py]\ncommand = [\"sh\"]",
        )
        .unwrap();
        assert_eq!(agents.names().collect::<Vec<_>>(), ["claude", "py"]);
        assert_eq!(agents.default_name(), Some("py"));
        let error = profiles_of("builtin_profiles = [\"nope\"]")
            .unwrap_err()
            .to_string();
        assert!(error.contains("no built-in profile `nope`"), "{error}");
        let error = profiles_of("builtin_profiles = []\ndefault_profile = \"shell\"")
            .unwrap_err()
            .to_string();
        assert!(error.contains("default_profile `shell`"), "{error}");
    }

    #[test]
    fn a_profiles_env_allow_replaces_the_default_list() {
        let profiles = profiles_of(
            "[profiles.x]\ncommand = [\"sh\"]\nenv_allow = [\"ANTHROPIC_API_KEY\", \"MY_*\"]",
        )
        .unwrap();
        let x = profiles.get("x").unwrap();
        assert!(x.client_may_set("ANTHROPIC_API_KEY"));
        assert!(x.client_may_set("MY_SETTING"));
        assert!(!x.client_may_set("LANG"));
        assert!(profiles.get("shell").unwrap().client_may_set("LANG"));
    }
}
