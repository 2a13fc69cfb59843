//! Listening on a Unix socket path (`serve --listen unix:PATH`, `shim --socket PATH`) the way a
//! service handing out shells must:
//!
//! - **Private from the first moment.** The socket is 0600 whatever the umask, and nobody else
//!   can connect while it is being set up. `bind(2)` gives the socket file the mode the umask
//!   leaves (0777 under umask 000), so the socket is bound inside a fresh 0700 directory next to
//!   PATH, made 0600 there, and only then hard-linked to PATH. Connecting resolves a path to the
//!   socket's inode, so the link reaches the listener; `link(2)` fails when PATH exists, so
//!   nothing that appeared meanwhile is replaced. (Setting the umask around `bind` would change
//!   it for every thread, including those spawning agents; `fchmod` on a socket descriptor does
//!   not change the file's mode; `chmod` after `bind` leaves a window.)
//! - **Careful with what is already there.** A stale socket (a socket file nobody accepts on:
//!   the connection is refused) is removed. A live socket, or anything that is not a socket (a
//!   regular file, a directory, a symlink), is an error naming the path, and nothing is removed.
//! - **Removed when done**, unless something else has taken the path by then ([`OwnedPath`]).

use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tokio::net::UnixListener;

use crate::owned_path::OwnedPath;

/// Why a Unix socket could not be listened on.
#[derive(Debug, thiserror::Error)]
pub enum UnixSocketError {
    #[error("{}: a server is already listening on this socket", .0.display())]
    InUse(PathBuf),
    #[error("{} exists and is {kind}, not a socket; refusing to replace it", path.display())]
    NotASocket { path: PathBuf, kind: &'static str },
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The longest path [`listen_private`] binds a socket at to listen on `path` (its staging
/// path, beside it), which must fit a Unix socket address.
pub fn bound_path_len(path: &Path) -> usize {
    let parent = path
        .parent()
        .map_or(1, |parent| parent.as_os_str().len().max(1));
    path.as_os_str().len().max(parent + STAGED_SUFFIX_LEN)
}

/// `/.asXXXXXX/s`: what a staging path adds to the socket's directory.
const STAGED_SUFFIX_LEN: usize = 12;

/// Listens on `path` with a 0600 socket, first removing a stale socket there (see the module
/// docs). The socket file is removed when the returned [`OwnedPath`] drops.
pub fn listen_private(path: &Path) -> Result<(UnixListener, OwnedPath), UnixSocketError> {
    remove_stale_socket(path)?;
    let staging =
        StagingDir::create(path).map_err(io_error("make a private directory next to", path))?;
    let staged = staging.0.join("s");
    let listener = UnixListener::bind(&staged).map_err(io_error("bind a socket for", path))?;
    std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(0o600))
        .map_err(io_error("set the mode of the socket for", path))?;
    std::fs::hard_link(&staged, path).map_err(io_error("put the socket at", path))?;
    let owned = OwnedPath::claim(path.to_owned()).map_err(io_error("inspect", path))?;
    Ok((listener, owned))
}

/// Removes `path` if it is a socket nobody listens on; fails if it is anything else.
fn remove_stale_socket(path: &Path) -> Result<(), UnixSocketError> {
    let file_type = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta.file_type(),
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(io_error("inspect", path)(error)),
    };
    if !file_type.is_socket() {
        let kind = if file_type.is_file() {
            "a regular file"
        } else if file_type.is_dir() {
            "a directory"
        } else if file_type.is_symlink() {
            "a symbolic link"
        } else {
            "a special file"
        };
        return Err(UnixSocketError::NotASocket {
            path: path.to_owned(),
            kind,
        });
    }
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => Err(UnixSocketError::InUse(path.to_owned())),
        Err(error) if error.kind() == io::ErrorKind::ConnectionRefused => {
            std::fs::remove_file(path).map_err(io_error("remove the stale socket", path))
        }
        Err(error) => Err(io_error("check for a server on", path)(error)),
    }
}

/// Makes an I/O error about `path` a [`UnixSocketError`].
fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> UnixSocketError {
    let path = path.to_owned();
    move |source| UnixSocketError::Io {
        action,
        path,
        source,
    }
}

/// A fresh 0700 directory in the directory of the socket path (so the final link stays on one
/// filesystem), removed with what is in it on drop. Its name is short, because a socket path
/// may have at most 107 bytes.
struct StagingDir(PathBuf);

impl StagingDir {
    fn create(socket_path: &Path) -> io::Result<Self> {
        let parent = match socket_path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let dir = parent.join(format!(".as{:06x}", fastrand::u32(..0x100_0000)));
        std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
        let staging = Self(dir);
        // The umask can only have removed bits; make the mode exactly 0700.
        std::fs::set_permissions(&staging.0, std::fs::Permissions::from_mode(0o700))?;
        Ok(staging)
    }
}

impl Drop for StagingDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use super::*;

    #[test]
    fn the_longest_bound_path_is_the_staged_one_beside_a_short_socket() {
        let scratch = tempfile::tempdir().unwrap();
        let socket = scratch.path().join("a.sock");
        let staged = StagingDir::create(&socket).unwrap().0.join("s");
        assert_eq!(bound_path_len(&socket), staged.as_os_str().len());
        let long = scratch.path().join("a-socket-with-a-long-name.sock");
        assert_eq!(bound_path_len(&long), long.as_os_str().len());
    }

    #[tokio::test]
    async fn the_socket_is_0600_and_alone_at_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.sock");
        let (listener, owned) = listen_private(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        // Reachable at the path, and nothing else left in the directory.
        let _client = tokio::net::UnixStream::connect(&path).await.unwrap();
        listener.accept().await.unwrap();
        let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(entries.len(), 1, "{entries:?}");
        drop(owned);
        assert!(!path.exists());
    }

    #[tokio::test]
    async fn only_a_stale_socket_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let (live, owned) = listen_private(&path).unwrap();
        let error = listen_private(&path).unwrap_err();
        assert!(matches!(error, UnixSocketError::InUse(_)), "{error}");
        // The live listener goes; its file stays behind, stale.
        drop(live);
        std::mem::forget(owned);
        let (_listener, _owned) = listen_private(&path).unwrap();

        let file = dir.path().join("victim.conf");
        std::fs::write(&file, "data").unwrap();
        let error = listen_private(&file).unwrap_err().to_string();
        assert!(
            error.contains("victim.conf") && error.contains("a regular file"),
            "{error}"
        );
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "data");
        let error = listen_private(dir.path()).unwrap_err().to_string();
        assert!(error.contains("a directory"), "{error}");
    }
}
