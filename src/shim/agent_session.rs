//! The agent CLI's own session (its conversation): the id its resume option takes, and the log
//! file it was read from. A shim that is given a record file writes the session it follows
//! there (private, written whole) each time it learns a new one, so that a host can start the
//! agent again on that conversation once the shim's process is gone ([`super::ShimSpec::resume`]).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::private_dir::{PrivateDirError, write_private_file};

/// One session of an agent CLI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentSession {
    /// The CLI's id of the session.
    pub id: String,
    /// The session log it was read from.
    pub log: PathBuf,
}

/// Why a session record could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SessionRecordError {
    #[error("cannot read the session record {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the session record {} does not parse: {source}", path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    Write(#[from] PrivateDirError),
}

impl AgentSession {
    /// The session recorded in `path`; `None` when nothing was recorded (no such file).
    pub fn read_record(path: &Path) -> Result<Option<Self>, SessionRecordError> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(SessionRecordError::Read {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| SessionRecordError::Parse {
                path: path.to_owned(),
                source,
            })
    }

    /// Records this session in `path`, replacing what it held.
    pub fn write_record(&self, path: &Path) -> Result<(), SessionRecordError> {
        let json = serde_json::to_vec(self).expect("a session serialises");
        Ok(write_private_file(path, &json)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_back_and_a_missing_one_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("session.json");
        assert!(AgentSession::read_record(&path).unwrap().is_none());
        let session = AgentSession {
            id: "4f0c".to_owned(),
            log: dir.path().join("4f0c.jsonl"),
        };
        session.write_record(&path).unwrap();
        assert_eq!(AgentSession::read_record(&path).unwrap(), Some(session));
        std::fs::write(&path, b"{").unwrap();
        let error = AgentSession::read_record(&path).unwrap_err().to_string();
        assert!(error.contains("does not parse"), "{error}");
    }
}
