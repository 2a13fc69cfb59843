//! Files an agent is given for its run, for a CLI that reads some setting only from a file
//! (Gemini CLI's hooks, from its system-defaults settings file): each is written before the
//! agent starts, mode 0600, into `agent-files/` of a private directory (0700, refused unless
//! private; see [`Places`]), under a name no other agent of any shim uses, and its path is put
//! in the agent's environment. The agent's process owns them
//! ([`super::process::AgentProcess`]): they are removed once it is gone. A file whose variable
//! the agent's environment already sets is not given, so the user's own choice stays in
//! effect, nor one that would hide a file the agent reads ([`AgentFile::shadows`]), one that
//! cannot be written, or one the CLI would not read (a [`AgentFile::root_owned`] one, when the
//! shim does not run as root); each is logged, and the
//! agent runs without what the file adds (its driver's turn signals: the screen alone decides).

use std::ffi::OsString;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::owned_path::OwnedPath;
use crate::private_dir::{PrivateDirError, ensure_private_dir, io_error, write_private_file};

/// A file for the agent, as its driver asks for it ([`super::AgentDriver::prepare_process`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AgentFile {
    /// The environment variable that tells the agent the file's path.
    pub variable: String,
    /// The end of the file's name (after a prefix that makes it unique).
    pub name: String,
    pub contents: String,
    /// The CLI reads the file only when root owns it and every directory above it, none of
    /// them writable by its group or others (Gemini CLI's rule for its system settings files):
    /// it is given only by a shim running as root, from [`Places::root_owned`].
    #[serde(default)]
    pub root_owned: bool,
    /// The file the agent reads when the variable is not set, which this one would hide from
    /// it (Gemini CLI's `/etc/gemini-cli/system-defaults.json`): while it exists, this one is
    /// not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadows: Option<PathBuf>,
}

/// Where the files go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Places {
    /// The per-user runtime directory ([`crate::runtime_dir`]).
    pub runtime: PathBuf,
    /// A directory whose ancestors keep the rule of [`AgentFile::root_owned`], when this
    /// process runs as root: the first candidate runtime directory that does
    /// (`$XDG_RUNTIME_DIR/agentshim`; not `/tmp`, which everyone may write), else
    /// `/run/agentshim`.
    pub root_owned: Option<PathBuf>,
}

/// Where a root shim puts root-owned files when no runtime directory keeps the rule.
const ROOT_RUNTIME: &str = "/run/agentshim";

impl Places {
    /// The places of this process.
    pub fn of_this_process() -> Self {
        let candidates = crate::runtime_dir::candidate_dirs();
        let root_owned = (crate::private_dir::effective_uid() == 0)
            .then(|| {
                candidates
                    .iter()
                    .cloned()
                    .chain([PathBuf::from(ROOT_RUNTIME)])
                    .find(|dir| root_owned_chain(dir))
            })
            .flatten();
        Self {
            runtime: candidates[0].clone(),
            root_owned,
        }
    }
}

/// Whether root owns `dir` and every directory above it and none of them may be written by
/// its group or others (a symlink among them owned by root too), as far as they exist.
fn root_owned_chain(dir: &Path) -> bool {
    dir.ancestors().all(|ancestor| {
        let (Ok(link), Ok(target)) = (
            std::fs::symlink_metadata(ancestor),
            std::fs::metadata(ancestor),
        ) else {
            // Not there (yet): created by root, 0700.
            return !ancestor.exists();
        };
        link.uid() == 0 && target.uid() == 0 && target.mode() & 0o022 == 0
    })
}

/// The subdirectory of the runtime directory that holds agents' files.
const SUBDIR: &str = "agent-files";

/// Agent files this process has written: with the pid, part of each file's name.
static WRITTEN: AtomicU64 = AtomicU64::new(0);

/// The files given to one agent; removed when dropped.
#[derive(Debug, Default)]
pub struct GivenFiles {
    files: Vec<OwnedPath>,
}

impl GivenFiles {
    /// Writes those of `files` whose variable `already_set` says the agent's environment does
    /// not set, in their place of `places`, and returns them with the variables that name them
    /// to the agent.
    pub fn write(
        places: &Places,
        files: &[AgentFile],
        already_set: impl Fn(&str) -> bool,
    ) -> (Self, Vec<(OsString, OsString)>) {
        let mut given = Self::default();
        let mut env = Vec::new();
        for file in files {
            let (variable, name) = (&file.variable, &file.name);
            if already_set(variable) {
                tracing::info!(
                    %variable,
                    "the agent's environment sets {variable} already: {name} is not given \
                     (the user's choice stays; turn signals that need the file stay off)"
                );
                continue;
            }
            if let Some(shadowed) = file.shadows.as_deref().filter(|path| path.exists()) {
                let shadowed = shadowed.display();
                tracing::info!(
                    %variable,
                    "{name} is not given: it would hide {shadowed}, which the agent reads \
                     (turn signals that need the file stay off)"
                );
                continue;
            }
            let place = match (file.root_owned, &places.root_owned) {
                (false, _) => &places.runtime,
                (true, Some(place)) => place,
                (true, None) => {
                    tracing::info!(
                        %variable,
                        "{name} is not given: the agent reads it only from a file root owns, \
                         in directories only root may write, and this shim does not run as \
                         root (turn signals that need the file stay off)"
                    );
                    continue;
                }
            };
            match write_one(place, file) {
                Ok(owned) => {
                    env.push((variable.into(), owned.path().into()));
                    given.files.push(owned);
                }
                Err(error) => tracing::warn!(
                    %variable,
                    %error,
                    "cannot write {name} for the agent: it runs without it (turn signals that \
                     need the file stay off)"
                ),
            }
        }
        (given, env)
    }

    /// Where the files are.
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.files.iter().map(OwnedPath::path)
    }
}

fn write_one(place: &Path, file: &AgentFile) -> Result<OwnedPath, PrivateDirError> {
    ensure_private_dir(place)?;
    let dir = place.join(SUBDIR);
    ensure_private_dir(&dir)?;
    let number = WRITTEN.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!("{}-{number}-{}", std::process::id(), file.name));
    write_private_file(&path, file.contents.as_bytes())?;
    OwnedPath::claim(path.clone()).map_err(io_error("inspect", &path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn settings() -> AgentFile {
        AgentFile {
            variable: "AGENT_SETTINGS".into(),
            name: "settings.json".into(),
            contents: "{\"hooks\": {}}".into(),
            root_owned: false,
            shadows: None,
        }
    }

    fn places(runtime: &Path) -> Places {
        Places {
            runtime: runtime.to_owned(),
            root_owned: None,
        }
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_file_is_written_privately_named_by_its_variable_and_removed_with_its_owner() {
        let runtime = tempfile::tempdir().unwrap();
        let runtime = runtime.path().join("agentshim");
        let (given, env) = GivenFiles::write(&places(&runtime), &[settings()], |_| false);
        let path = given.paths().next().unwrap().to_owned();
        assert_eq!(env, [("AGENT_SETTINGS".into(), path.clone().into())]);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), settings().contents);
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert_eq!(mode(&runtime), 0o700);
        // Two agents never share a file.
        let (other, _) = GivenFiles::write(&places(&runtime), &[settings()], |_| false);
        assert_ne!(other.paths().next().unwrap(), path);
        drop(given);
        assert!(!path.exists());
    }

    #[test]
    fn a_file_whose_variable_is_set_already_is_not_given() {
        let runtime = tempfile::tempdir().unwrap();
        let (given, env) = GivenFiles::write(&places(runtime.path()), &[settings()], |variable| {
            variable == "AGENT_SETTINGS"
        });
        assert!(env.is_empty());
        assert_eq!(given.paths().count(), 0);
        assert!(!runtime.path().join(SUBDIR).exists());
    }

    #[test]
    fn a_file_that_would_hide_one_the_agent_reads_is_not_given() {
        let runtime = tempfile::tempdir().unwrap();
        let runtime = runtime.path().join("agentshim");
        let system = tempfile::tempdir().unwrap();
        let defaults = system.path().join("system-defaults.json");
        let file = AgentFile {
            shadows: Some(defaults.clone()),
            ..settings()
        };
        let give = || GivenFiles::write(&places(&runtime), std::slice::from_ref(&file), |_| false);
        // Nothing to hide yet.
        assert_eq!(give().1.len(), 1);
        std::fs::write(&defaults, "{}").unwrap();
        let (given, env) = give();
        assert!(env.is_empty());
        assert_eq!(given.paths().count(), 0);
    }

    #[test]
    fn a_file_that_cannot_be_written_is_not_given() {
        let runtime = tempfile::tempdir().unwrap();
        std::fs::set_permissions(runtime.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        // Not private: refused.
        let (given, env) = GivenFiles::write(&places(runtime.path()), &[settings()], |_| false);
        assert!(env.is_empty());
        assert_eq!(given.paths().count(), 0);
    }

    #[test]
    fn a_root_owned_file_goes_only_to_the_root_owned_place() {
        let runtime = tempfile::tempdir().unwrap();
        let root_place = tempfile::tempdir().unwrap();
        let file = AgentFile {
            root_owned: true,
            ..settings()
        };
        // Not root: nowhere the CLI would read it.
        let (given, env) =
            GivenFiles::write(&places(runtime.path()), std::slice::from_ref(&file), |_| {
                false
            });
        assert!(env.is_empty());
        assert_eq!(given.paths().count(), 0);
        // Places the shim creates (a temporary directory's own mode is the umask's).
        let (runtime, root_place) = (runtime.path().join("rt"), root_place.path().join("root"));
        let root = Places {
            runtime: runtime.clone(),
            root_owned: Some(root_place.clone()),
        };
        let (given, env) = GivenFiles::write(&root, &[file, settings()], |_| false);
        let paths: Vec<&Path> = given.paths().collect();
        assert_eq!(env.len(), 2);
        assert!(paths[0].starts_with(&root_place), "{paths:?}");
        assert!(paths[1].starts_with(&runtime), "{paths:?}");
    }

    #[test]
    fn a_root_owned_chain_has_no_directory_others_may_write() {
        assert!(root_owned_chain(Path::new("/")));
        let open = tempfile::tempdir().unwrap();
        std::fs::set_permissions(open.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let inner = open.path().join("inner");
        std::fs::create_dir(&inner).unwrap();
        std::fs::set_permissions(&inner, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert!(!root_owned_chain(&inner));
        assert!(!root_owned_chain(&inner.join("not-yet")));
    }
}
