//! The per-user runtime directory, and the bearer tokens servers generate into it.
//!
//! A server on a loopback TCP address with no token configured generates a random one and
//! keeps it, for as long as it runs, in `RUNTIME/tokens/IP-PORT` (its listen address, so
//! servers side by side each have their own file), mode 0600. The CLI and the Rust client read
//! it from there when they were given no token, so the server's own user reaches it with no
//! flags and every other local user is kept out.
//!
//! `RUNTIME` is `$XDG_RUNTIME_DIR/agentshim` when that variable names an absolute path, else
//! `$TMPDIR/agentshim-UID` (`/tmp/agentshim-UID`), UID being the effective uid. A client that
//! finds nothing in the first looks in the second. Both it and `tokens/` are created 0700 and
//! must be real directories (not symlinks) owned by the effective uid with no group or world
//! permission: anything else is refused with an error naming the path, since a directory
//! someone else controls (say, one squatted in `/tmp`) could read or plant tokens.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::owned_path::OwnedPath;

/// Random bytes in a generated token (shown as twice as many hex digits).
const TOKEN_BYTES: usize = 32;

/// Why the runtime directory or a token file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeDirError {
    #[error(
        "refusing to use {} for tokens: it {reason}; it must be a directory owned by uid {uid} \
         with mode 0700 (remove it, or set XDG_RUNTIME_DIR to a private directory)",
        path.display()
    )]
    Unsafe {
        path: PathBuf,
        reason: String,
        uid: u32,
    },
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot generate a token: {0}")]
    Random(getrandom::Error),
}

/// Where the runtime directory may be, in the order it is looked for (see the module docs).
pub fn candidate_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(xdg) = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from)
        && xdg.is_absolute()
    {
        dirs.push(xdg.join("agentshim"));
    }
    dirs.push(std::env::temp_dir().join(format!("agentshim-{}", effective_uid())));
    dirs
}

/// The name of the token file of a server listening on `addr`: `127.0.0.1-50051`, `::1-50051`.
fn token_file_name(addr: SocketAddr) -> String {
    format!("{}-{}", addr.ip(), addr.port())
}

/// A fresh random token: 64 hex digits from the operating system's CSPRNG.
pub fn generate_token() -> Result<String, RuntimeDirError> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).map_err(RuntimeDirError::Random)?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// Writes `token` as the token file of a server listening on `addr`, in the first candidate
/// runtime directory (created if missing). The file is removed when the returned guard drops.
pub fn write_token(addr: SocketAddr, token: &str) -> Result<OwnedPath, RuntimeDirError> {
    let base = candidate_dirs().remove(0);
    ensure_private_dir(&base)?;
    let tokens = base.join("tokens");
    ensure_private_dir(&tokens)?;
    let name = token_file_name(addr);
    let path = tokens.join(&name);
    // Written aside, then renamed into place, so a client never reads half a token.
    let partial = tokens.join(format!(".{name}.{}", std::process::id()));
    let _ = std::fs::remove_file(&partial);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&partial)
        .and_then(|mut file| file.write_all(format!("{token}\n").as_bytes()))
        .map_err(io_error("write", &partial))
        .and_then(|()| std::fs::rename(&partial, &path).map_err(io_error("create", &path)));
    if let Err(error) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(error);
    }
    OwnedPath::claim(path.clone()).map_err(io_error("inspect", &path))
}

/// The token a server listening on one of `addrs` generated, if any candidate runtime directory
/// has its file. A runtime directory that exists but is not private is an error.
pub fn find_token(addrs: &[SocketAddr]) -> Result<Option<String>, RuntimeDirError> {
    for base in candidate_dirs() {
        let tokens = base.join("tokens");
        if !check_private_dir(&base)? || !check_private_dir(&tokens)? {
            continue;
        }
        for addr in addrs {
            let path = tokens.join(token_file_name(*addr));
            match std::fs::read_to_string(&path) {
                Ok(text) if !text.trim().is_empty() => return Ok(Some(text.trim().to_owned())),
                Ok(_) => {}
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => return Err(io_error("read", &path)(error)),
            }
        }
    }
    Ok(None)
}

fn effective_uid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

/// Makes an I/O error about `path` a [`RuntimeDirError`].
fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> RuntimeDirError {
    let path = path.to_owned();
    move |source| RuntimeDirError::Io {
        action,
        path,
        source,
    }
}

/// Creates `path` as a 0700 directory unless it exists, then checks it is private.
fn ensure_private_dir(path: &Path) -> Result<(), RuntimeDirError> {
    match std::fs::DirBuilder::new().mode(0o700).create(path) {
        // The umask can only have removed bits; make the mode exactly 0700.
        Ok(()) => std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
            .map_err(io_error("set the mode of", path))?,
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
        Err(error) => return Err(io_error("create", path)(error)),
    }
    match check_private_dir(path)? {
        true => Ok(()),
        // Gone again between its creation and the check.
        false => Err(io_error("create", path)(io::ErrorKind::NotFound.into())),
    }
}

/// `Ok(false)` when `path` does not exist, `Ok(true)` when it is a private directory of ours,
/// else the reason it is not.
fn check_private_dir(path: &Path) -> Result<bool, RuntimeDirError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(error) => return Err(io_error("inspect", path)(error)),
    };
    let uid = effective_uid();
    let mode = meta.mode() & 0o7777;
    let reason = if meta.file_type().is_symlink() {
        "is a symbolic link".to_owned()
    } else if !meta.is_dir() {
        "is not a directory".to_owned()
    } else if meta.uid() != uid {
        format!("is owned by uid {}", meta.uid())
    } else if mode & 0o077 != 0 {
        format!("has mode {mode:04o}, open to its group or others")
    } else {
        return Ok(true);
    };
    Err(RuntimeDirError::Unsafe {
        path: path.to_owned(),
        reason,
        uid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_hex() {
        let (a, b) = (generate_token().unwrap(), generate_token().unwrap());
        assert_eq!(a.len(), 2 * TOKEN_BYTES);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn file_names_follow_the_listen_address() {
        assert_eq!(
            token_file_name("127.0.0.1:50051".parse().unwrap()),
            "127.0.0.1-50051"
        );
        assert_eq!(token_file_name("[::1]:7".parse().unwrap()), "::1-7");
    }

    #[test]
    fn only_a_private_directory_of_ours_is_accepted() {
        let scratch = tempfile::tempdir().unwrap();
        let private = scratch.path().join("private");
        assert!(
            !check_private_dir(&private).unwrap(),
            "missing is not an error"
        );
        ensure_private_dir(&private).unwrap();
        let mode = std::fs::metadata(&private).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o700);
        assert!(check_private_dir(&private).unwrap());

        let open = scratch.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        let error = ensure_private_dir(&open).unwrap_err().to_string();
        assert!(error.contains("open") && error.contains("0755"), "{error}");

        let link = scratch.path().join("link");
        std::os::unix::fs::symlink(&private, &link).unwrap();
        let error = check_private_dir(&link).unwrap_err().to_string();
        assert!(error.contains("symbolic link"), "{error}");

        let file = scratch.path().join("file");
        std::fs::write(&file, "").unwrap();
        let error = check_private_dir(&file).unwrap_err().to_string();
        assert!(error.contains("not a directory"), "{error}");
    }
}
