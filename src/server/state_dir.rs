//! The server's state directory (`--state-dir`): one private directory per shim process the
//! server starts, holding what it takes to find that shim again after the server restarts
//! (the containerd-shim model) and to start its agent again once the processes are gone:
//!
//! ```text
//! STATE/                       0700
//! STATE/lock                   0600   locked by the one server using the directory
//! STATE/shims/KEY/             0700   KEY: 16 random hex digits, never a client's string
//! STATE/shims/KEY/spec.json    0600   the shim's whole spec, its id inside; written first
//! STATE/shims/KEY/hosted.json  0600   what the server adds: the profile, the creation time
//! STATE/shims/KEY/shim.sock    0600   the shim process's socket, while it runs
//! STATE/shims/KEY/shim.log     0600   the shim process's stderr
//! ```
//!
//! The default is `$XDG_STATE_HOME/agentshim`, else `~/.local/state/agentshim`: on disk, so the
//! specs survive a reboot or a pod restart (a Kubernetes volume keeps them). Every directory
//! must be private ([`crate::private_dir`]), and a state directory whose sockets would not fit
//! a Unix socket address is refused when it is opened, not when the first shim starts.

use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::private_dir::{
    PrivateDirError, check_private_dir, ensure_private_dir, io_error, write_private_file,
};
use crate::shim::ShimSpec;

/// The file a server holds locked.
const LOCK_FILE: &str = "lock";
/// The file of a shim's spec, in its directory.
const SPEC_FILE: &str = "spec.json";
/// What the server knows of a shim beside its spec, in its directory.
const HOSTED_FILE: &str = "hosted.json";
/// The shim process's stderr, in its directory.
const LOG_FILE: &str = "shim.log";
/// The shim process's socket, in its directory.
const SOCKET_FILE: &str = "shim.sock";
/// The agent CLI's session, as the shim process records it, in its directory.
const SESSION_FILE: &str = "session.json";
/// Hex digits of a shim directory's name.
const KEY_DIGITS: usize = 16;
/// The longest path a Unix socket address holds (`sun_path` less its terminating NUL).
const MAX_SOCKET_PATH: usize = 107;

/// Why the state directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StateDirError {
    #[error(transparent)]
    Dir(#[from] PrivateDirError),
    #[error(
        "the state directory {} is too deep: its shims' sockets would take {len} bytes, over \
         the {MAX_SOCKET_PATH} a Unix socket address holds; choose a shorter --state-dir",
        path.display()
    )]
    TooDeep { path: PathBuf, len: usize },
    #[error("no state directory: set --state-dir, XDG_STATE_HOME or HOME")]
    NoDefault,
    #[error("cannot encode the spec or record of shim {id}: {source}")]
    Encode {
        id: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot generate a shim directory name: {0}")]
    Random(getrandom::Error),
    #[error(
        "another agentshim server uses the state directory {}; give this one its own \
         --state-dir",
        path.display()
    )]
    Busy { path: PathBuf },
}

/// The state directory of one server, locked while it is open.
#[derive(Debug)]
pub struct StateDir {
    root: PathBuf,
    /// The locked `lock` file: the lock goes when it is closed.
    _lock: std::fs::File,
}

/// The directory of one shim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShimDir {
    path: PathBuf,
}

/// What the server knows of a shim beside its spec, kept so that a server that adopts the
/// shim after a restart reports it as the one that created it did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HostRecord {
    pub profile: String,
    pub created_unix_ms: u64,
}

/// What a shim directory holds, as [`StateDir::shims`] finds it.
#[derive(Debug)]
pub enum FoundShim {
    /// A shim whose spec and record read back.
    Spec {
        dir: ShimDir,
        spec: Box<ShimSpec>,
        hosted: HostRecord,
    },
    /// A directory whose spec or record is missing or does not parse (a crash while they were
    /// written, or a file someone changed): reported, never silently skipped.
    Unreadable { dir: ShimDir, reason: String },
}

impl StateDir {
    /// `$XDG_STATE_HOME/agentshim`, else `$HOME/.local/state/agentshim` (absolute paths only).
    pub fn default_path() -> Result<PathBuf, StateDirError> {
        let absolute = |name: &str| {
            std::env::var_os(name)
                .map(PathBuf::from)
                .filter(|path| path.is_absolute())
        };
        absolute("XDG_STATE_HOME")
            .or_else(|| absolute("HOME").map(|home| home.join(".local/state")))
            .map(|base| base.join("agentshim"))
            .ok_or(StateDirError::NoDefault)
    }

    /// Opens `root` (created 0700 with its parents when missing) and its `shims/`, and locks
    /// it: one server per state directory.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, StateDirError> {
        let root = root.into();
        let deepest = root
            .join("shims")
            .join("0".repeat(KEY_DIGITS))
            .join(SOCKET_FILE);
        let len = crate::unix_socket::bound_path_len(&deepest);
        if len > MAX_SOCKET_PATH {
            return Err(StateDirError::TooDeep { path: root, len });
        }
        if let Some(parent) = root.parent() {
            std::fs::create_dir_all(parent).map_err(io_error("create", parent))?;
        }
        ensure_private_dir(&root)?;
        let lock_path = root.join(LOCK_FILE);
        let lock = std::fs::File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&lock_path)
            .map_err(io_error("open", &lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StateDirError::Busy { path: root });
            }
            Err(std::fs::TryLockError::Error(error)) => {
                return Err(io_error("lock", &lock_path)(error).into());
            }
        }
        ensure_private_dir(&root.join("shims"))?;
        Ok(Self { root, _lock: lock })
    }

    pub fn path(&self) -> &Path {
        &self.root
    }

    /// Where recordings go by default (made private when first used).
    pub fn recordings(&self) -> PathBuf {
        self.root.join("recordings")
    }

    /// A new directory for the shim of `spec`, with the spec and `hosted` written in it.
    pub fn create_shim(
        &self,
        spec: &ShimSpec,
        hosted: &HostRecord,
    ) -> Result<ShimDir, StateDirError> {
        let hosted = serde_json::to_vec_pretty(hosted).map_err(|source| StateDirError::Encode {
            id: spec.id.clone(),
            source,
        })?;
        let mut key = [0u8; KEY_DIGITS / 2];
        getrandom::fill(&mut key).map_err(StateDirError::Random)?;
        let name: String = key.iter().map(|byte| format!("{byte:02x}")).collect();
        let dir = ShimDir {
            path: self.root.join("shims").join(name),
        };
        ensure_private_dir(&dir.path)?;
        dir.write_spec(spec)?;
        write_private_file(&dir.path.join(HOSTED_FILE), &hosted)?;
        Ok(dir)
    }

    /// Every shim directory, with its spec or why it has none readable, in name order.
    pub fn shims(&self) -> Result<Vec<FoundShim>, StateDirError> {
        let shims = self.root.join("shims");
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&shims).map_err(io_error("read", &shims))? {
            let entry = entry.map_err(io_error("read", &shims))?;
            let dir = ShimDir { path: entry.path() };
            if !check_private_dir(&dir.path)? {
                continue; // removed since it was listed
            }
            let read = dir
                .read_json(SPEC_FILE)
                .and_then(|spec| Ok((spec, dir.read_json(HOSTED_FILE)?)));
            found.push(match read {
                Ok((spec, hosted)) => FoundShim::Spec {
                    dir,
                    spec: Box::new(spec),
                    hosted,
                },
                Err(reason) => FoundShim::Unreadable { dir, reason },
            });
        }
        found.sort_by(|a, b| a.dir().path.cmp(&b.dir().path));
        Ok(found)
    }
}

impl FoundShim {
    pub fn dir(&self) -> &ShimDir {
        match self {
            Self::Spec { dir, .. } | Self::Unreadable { dir, .. } => dir,
        }
    }
}

impl ShimDir {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the shim process listens.
    pub fn socket(&self) -> PathBuf {
        self.path.join(SOCKET_FILE)
    }

    /// Where the shim process's stderr goes.
    pub fn log_file(&self) -> PathBuf {
        self.path.join(LOG_FILE)
    }

    /// Where the shim's spec is.
    pub fn spec_file(&self) -> PathBuf {
        self.path.join(SPEC_FILE)
    }

    /// Where the shim process records its agent's session ([`crate::shim::agent_session`]).
    pub fn session_record(&self) -> PathBuf {
        self.path.join(SESSION_FILE)
    }

    /// Replaces the shim's spec (a shim started again in its directory).
    pub fn write_spec(&self, spec: &ShimSpec) -> Result<(), StateDirError> {
        let json = serde_json::to_vec_pretty(spec).map_err(|source| StateDirError::Encode {
            id: spec.id.clone(),
            source,
        })?;
        Ok(write_private_file(&self.spec_file(), &json)?)
    }

    /// The JSON file `name` of the directory, or why it cannot be read.
    fn read_json<T: serde::de::DeserializeOwned>(&self, name: &str) -> Result<T, String> {
        let file = self.path.join(name);
        let json =
            std::fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        serde_json::from_slice(&json).map_err(|e| format!("{} does not parse: {e}", file.display()))
    }

    /// Removes the directory and what is in it (the shim is gone for good).
    pub fn remove(self) -> Result<(), PrivateDirError> {
        match std::fs::remove_dir_all(&self.path) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                Err(io_error("remove", &self.path)(error))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().mode() & 0o777
    }

    fn hosted() -> HostRecord {
        HostRecord {
            profile: "shell".into(),
            created_unix_ms: 1_700_000_000_000,
        }
    }

    #[test]
    fn a_shim_directory_is_private_and_holds_its_spec() {
        let scratch = tempfile::tempdir().unwrap();
        let state = StateDir::open(scratch.path().join("deep/state")).unwrap();
        assert_eq!(mode(state.path()), 0o700);
        // A hostile id never reaches a path: the directory is named by a random key.
        let spec = ShimSpec::new("../../etc/x", "bash", ["-i"]).size(24, 80);
        let dir = state.create_shim(&spec, &hosted()).unwrap();
        assert!(dir.path().starts_with(state.path().join("shims")));
        assert_eq!(dir.path().file_name().unwrap().len(), KEY_DIGITS);
        assert_eq!(mode(dir.path()), 0o700);
        assert_eq!(mode(&dir.spec_file()), 0o600);
        assert_eq!(dir.socket().parent(), Some(dir.path()));

        let other = state
            .create_shim(&ShimSpec::new("b", "sh", [] as [&str; 0]), &hosted())
            .unwrap();
        assert_ne!(other, dir);
        let found = state.shims().unwrap();
        assert_eq!(found.len(), 2);
        let ids: Vec<_> = found
            .iter()
            .map(|found| match found {
                FoundShim::Spec {
                    spec, hosted: h, ..
                } => {
                    assert_eq!(*h, hosted());
                    spec.id.clone()
                }
                FoundShim::Unreadable { reason, .. } => panic!("{reason}"),
            })
            .collect();
        assert!(ids.contains(&"../../etc/x".to_owned()) && ids.contains(&"b".to_owned()));

        other.remove().unwrap();
        assert_eq!(state.shims().unwrap().len(), 1);
    }

    #[test]
    fn a_shim_directory_without_a_readable_spec_or_record_is_reported() {
        let scratch = tempfile::tempdir().unwrap();
        let state = StateDir::open(scratch.path().join("state")).unwrap();
        let dir = state
            .create_shim(&ShimSpec::new("a", "sh", [] as [&str; 0]), &hosted())
            .unwrap();
        std::fs::remove_file(dir.path().join(HOSTED_FILE)).unwrap();
        match &state.shims().unwrap()[..] {
            [FoundShim::Unreadable { reason, .. }] => {
                assert!(
                    reason.contains("cannot read") && reason.contains(HOSTED_FILE),
                    "{reason}"
                )
            }
            other => panic!("{other:?}"),
        }
        std::fs::write(dir.spec_file(), b"{ half").unwrap();
        match &state.shims().unwrap()[..] {
            [FoundShim::Unreadable { reason, .. }] => {
                assert!(reason.contains("spec.json does not parse"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
        std::fs::remove_file(dir.spec_file()).unwrap();
        match &state.shims().unwrap()[..] {
            [FoundShim::Unreadable { reason, .. }] => {
                assert!(reason.contains("cannot read"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_unsafe_busy_or_too_deep_state_directory_is_refused() {
        let scratch = tempfile::tempdir().unwrap();
        let open = scratch.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        let error = StateDir::open(&open).unwrap_err().to_string();
        assert!(error.contains("0755"), "{error}");

        let state = scratch.path().join("state");
        let _open = StateDir::open(&state).unwrap();
        let error = StateDir::open(&state).unwrap_err().to_string();
        assert!(error.contains("another agentshim server"), "{error}");

        let deep = scratch.path().join("d".repeat(100));
        let error = StateDir::open(&deep).unwrap_err().to_string();
        assert!(error.contains("too deep"), "{error}");
        assert!(!deep.exists(), "nothing is created for a refused directory");
    }
}
