//! The recordings of a server's shims ([`crate::shim::recording`]): where a new one goes
//! (its profile's `record_dir`, else `recordings/` in the state directory, private), which
//! are the server's to remove with their shim (those in the state directory), and reading one
//! back for GetRecording while its shim process may still be writing it.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::ServiceError;
use super::profiles::Profile;
use crate::private_dir::ensure_private_dir;
use crate::rpc;
use crate::shim::recording::{DEFAULT_RECORDING_BYTES, RecordingSpec};

/// Bytes per GetRecordingResponse.
const CHUNK: usize = 64 * 1024;

/// Chunks read ahead of the client.
const READ_AHEAD: usize = 4;

/// A shim's recording, as its server knows it.
#[derive(Debug, Clone)]
pub struct Recording {
    pub path: PathBuf,
    /// In the state directory: removed with its shim.
    pub removed_with_shim: bool,
}

impl Recording {
    /// The recording `spec` names, for a server whose default directory is `default_dir`.
    pub fn of(spec: &RecordingSpec, default_dir: &Path) -> Self {
        Self {
            path: spec.path.clone(),
            removed_with_shim: spec.path.parent() == Some(default_dir),
        }
    }

    /// Removes the file when it is the server's to remove.
    pub fn remove_with_shim(&self) {
        if !self.removed_with_shim {
            return;
        }
        match std::fs::remove_file(&self.path) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                tracing::warn!(path = %self.path.display(), %error, "cannot remove a recording");
            }
        }
    }
}

/// Where shim `id`, created at `created_unix_ms` from `profile`, records (`None`: it is not
/// recorded); `record` is the client's choice, if it made one.
pub fn recording_spec(
    profile: &Profile,
    record: Option<bool>,
    default_dir: &Path,
    id: &str,
    created_unix_ms: u64,
) -> Result<Option<RecordingSpec>, ServiceError> {
    if !record.or(profile.record).unwrap_or(false) {
        return Ok(None);
    }
    let dir = match &profile.record_dir {
        Some(dir) => std::fs::create_dir_all(dir)
            .map(|()| dir.clone())
            .map_err(|error| {
                ServiceError::Unavailable(format!(
                    "cannot use the recording directory {}: {error}",
                    dir.display()
                ))
            })?,
        None => {
            ensure_private_dir(default_dir).map_err(|error| {
                ServiceError::Unavailable(format!("cannot make the recording directory: {error}"))
            })?;
            default_dir.to_owned()
        }
    };
    Ok(Some(RecordingSpec {
        path: dir.join(format!("{id}-{created_unix_ms}.cast")),
        max_bytes: profile.record_max_bytes.unwrap_or(DEFAULT_RECORDING_BYTES),
    }))
}

/// The recording at `path` as it is now, in chunks: up to its last whole line (its shim may
/// be writing the next one).
pub fn read_back(path: PathBuf) -> ReceiverStream<Result<rpc::GetRecordingResponse, Status>> {
    let (chunks, stream) = mpsc::channel(READ_AHEAD);
    tokio::task::spawn_blocking(move || {
        if let Err(error) = send_chunks(&path, &chunks) {
            let _ = chunks.blocking_send(Err(Status::unavailable(format!(
                "cannot read the recording: {error}"
            ))));
        }
    });
    ReceiverStream::new(stream)
}

fn send_chunks(
    path: &Path,
    chunks: &mpsc::Sender<Result<rpc::GetRecordingResponse, Status>>,
) -> std::io::Result<()> {
    let mut file = File::open(path)?;
    let whole = whole_lines_len(&mut file)?;
    file.seek(SeekFrom::Start(0))?;
    let mut left = whole;
    let mut buffer = vec![0u8; CHUNK];
    while left > 0 {
        let want = usize::try_from(left).map_or(CHUNK, |left| left.min(CHUNK));
        file.read_exact(&mut buffer[..want])?;
        left -= want as u64;
        let chunk = rpc::GetRecordingResponse {
            data: buffer[..want].to_vec(),
        };
        if chunks.blocking_send(Ok(chunk)).is_err() {
            // The client went away.
            return Ok(());
        }
    }
    Ok(())
}

/// The length of `file` up to the end of its last line.
fn whole_lines_len(file: &mut File) -> std::io::Result<u64> {
    let mut end = file.metadata()?.len();
    let mut block = vec![0u8; CHUNK];
    while end > 0 {
        let start = end.saturating_sub(CHUNK as u64);
        let len = (end - start) as usize;
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut block[..len])?;
        if let Some(at) = block[..len].iter().rposition(|&byte| byte == b'\n') {
            return Ok(start + at as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_being_written_is_not_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.cast");
        std::fs::write(
            &path,
            b"{\"version\": 2}\n[0.1, \"o\", \"a\"]\n[0.2, \"o\", \"b",
        )
        .unwrap();
        let mut file = File::open(&path).unwrap();
        assert_eq!(whole_lines_len(&mut file).unwrap(), 31);
        std::fs::write(&path, b"no line yet").unwrap();
        assert_eq!(whole_lines_len(&mut File::open(&path).unwrap()).unwrap(), 0);
        let long = format!("{}\n{}", "x".repeat(3 * CHUNK), "y".repeat(CHUNK + 5));
        std::fs::write(&path, &long).unwrap();
        assert_eq!(
            whole_lines_len(&mut File::open(&path).unwrap()).unwrap(),
            3 * CHUNK as u64 + 1
        );
    }
}
