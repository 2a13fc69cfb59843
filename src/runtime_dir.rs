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
//! permission ([`crate::private_dir`]): anything else is refused with an error naming the
//! path, since a directory someone else controls (say, one squatted in `/tmp`) could read or
//! plant tokens.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::owned_path::OwnedPath;
use crate::private_dir::{
    PrivateDirError, check_private_dir, effective_uid, ensure_private_dir, io_error,
    write_private_file,
};

/// Random bytes in a generated token (shown as twice as many hex digits).
const TOKEN_BYTES: usize = 32;

/// Why the runtime directory or a token file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeDirError {
    #[error(transparent)]
    Dir(#[from] PrivateDirError),
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
    let path = tokens.join(token_file_name(addr));
    write_private_file(&path, format!("{token}\n").as_bytes())?;
    Ok(OwnedPath::claim(path.clone()).map_err(io_error("inspect", &path))?)
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
                Err(error) => return Err(io_error("read", &path)(error).into()),
            }
        }
    }
    Ok(None)
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
}
