//! The server's config file (TOML, `agentshim serve --config FILE`): its profiles, which
//! built-in profiles it offers and which one a request without a profile gets, how many events
//! it keeps, and the [`Limits`] an operator sets on what clients may ask for. Parsing is strict
//! (an unknown key is an error); what the values mean is checked by [`super::profiles`] when
//! the server starts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::profiles::Profile;
use crate::shim::events::{DEFAULT_LOG_BYTES, DEFAULT_LOG_CAPACITY, LogBounds};
use crate::shim::screen::DEFAULT_HISTORY_BYTES;
use crate::shim::{DEFAULT_SCROLLBACK, MessageLimits};

/// The server's config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
    /// The built-in profiles offered (default: all of them; `[]`: none). A profile of the
    /// same name in `profiles` replaces a built-in one either way.
    pub builtin_profiles: Option<Vec<String>>,
    /// The profile of a request that names none (default `shell`, when offered).
    pub default_profile: Option<String>,
    /// Events the server keeps for replay (default 10,000).
    pub event_log_capacity: Option<usize>,
    #[serde(default)]
    pub limits: Limits,
}

/// What clients may ask of the server (`[limits]`): every bound has a default and is
/// enforced with an error naming it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Shims hosted at once (dead ones count until deleted).
    pub max_shims: usize,
    /// Bytes of a message body.
    pub max_message_bytes: usize,
    /// Bytes of a message id or of its `from`.
    pub max_message_id_bytes: usize,
    /// The most rows of history a profile or a CreateShim may ask for.
    pub max_scrollback: usize,
    /// Bytes of history (scrollback) one shim keeps, whatever its rows and columns.
    pub history_bytes_per_shim: usize,
    /// Bytes of events the server keeps for replay (besides `event_log_capacity` events).
    pub event_log_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        let messages = MessageLimits::default();
        Self {
            max_shims: 256,
            max_message_bytes: messages.max_body_bytes,
            max_message_id_bytes: messages.max_id_bytes,
            max_scrollback: 20 * DEFAULT_SCROLLBACK,
            history_bytes_per_shim: DEFAULT_HISTORY_BYTES,
            event_log_bytes: DEFAULT_LOG_BYTES,
        }
    }
}

/// The length of the ids the shim generates (UUIDs) for messages sent without one.
const GENERATED_ID_BYTES: usize = 36;

impl Limits {
    /// Refuses limits that would refuse everything.
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.max_message_id_bytes < GENERATED_ID_BYTES {
            return Err(ConfigError::Invalid(format!(
                "limits.max_message_id_bytes must be at least {GENERATED_ID_BYTES} (the length of \
                 a generated message id), got {}",
                self.max_message_id_bytes
            )));
        }
        if self.max_shims == 0 || self.max_message_bytes == 0 {
            return Err(ConfigError::Invalid(
                "limits.max_shims and limits.max_message_bytes must be at least 1".into(),
            ));
        }
        Ok(())
    }

    pub fn messages(&self) -> MessageLimits {
        MessageLimits {
            max_body_bytes: self.max_message_bytes,
            max_id_bytes: self.max_message_id_bytes,
        }
    }
}

impl ConfigFile {
    /// The bounds of the server's event log.
    pub fn log_bounds(&self) -> LogBounds {
        LogBounds {
            events: self.event_log_capacity.unwrap_or(DEFAULT_LOG_CAPACITY),
            bytes: self.limits.event_log_bytes,
        }
    }
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
    fn limits_default_and_are_set_one_by_one() {
        let config: ConfigFile = toml::from_str("[limits]\nmax_shims = 3").unwrap();
        assert_eq!(config.limits.max_shims, 3);
        assert_eq!(
            config.limits.max_message_bytes,
            Limits::default().max_message_bytes
        );
        assert!(toml::from_str::<ConfigFile>("[limits]\nmax_shimz = 3").is_err());
        assert!(config.limits.check().is_ok());
        let short_ids: ConfigFile = toml::from_str("[limits]\nmax_message_id_bytes = 8").unwrap();
        let error = short_ids.limits.check().unwrap_err().to_string();
        assert!(error.contains("at least 36"), "{error}");
    }
}
