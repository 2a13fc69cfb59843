//! Listening on a Unix socket path the way a long-running service should: a stale socket file
//! left by a previous run (nobody accepts on it any more) is replaced, a live one is not.

use std::path::Path;

use tokio::net::UnixListener;

/// Binds `path`, first removing a stale socket file that nobody listens on.
pub fn bind_replacing_stale(path: &Path) -> std::io::Result<UnixListener> {
    if path.exists() && std::os::unix::net::UnixStream::connect(path).is_err() {
        std::fs::remove_file(path)?;
    }
    UnixListener::bind(path)
}
