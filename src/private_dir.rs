//! Directories and files only this process's user may touch: a directory is used only when it
//! is a real directory (not a symlink) owned by the effective uid with no group or world
//! permission, else refused with an error naming the path and why, since a directory someone
//! else controls (one squatted in `/tmp`, say) could read or plant what goes in it; a file is
//! written 0600, aside and then renamed into place, so no reader ever sees half of it.

use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Why a private directory or file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PrivateDirError {
    #[error(
        "refusing to use {}: it {reason}; it must be a directory owned by uid {uid} with mode \
         0700 (remove it, or choose another directory)",
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
}

pub(crate) fn effective_uid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

/// Writes `contents` to `path` (mode 0600), aside first, then renamed into place.
pub fn write_private_file(path: &Path, contents: &[u8]) -> Result<(), PrivateDirError> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let partial = path.with_file_name(format!(".{name}.{}", std::process::id()));
    let _ = std::fs::remove_file(&partial);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&partial)
        .and_then(|mut file| file.write_all(contents))
        .map_err(io_error("write", &partial))
        .and_then(|()| std::fs::rename(&partial, path).map_err(io_error("create", path)));
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written
}

/// Makes an I/O error about `path` a [`PrivateDirError`].
pub(crate) fn io_error(
    action: &'static str,
    path: &Path,
) -> impl FnOnce(io::Error) -> PrivateDirError {
    let path = path.to_owned();
    move |source| PrivateDirError::Io {
        action,
        path,
        source,
    }
}

/// Creates `path` as a 0700 directory unless it exists, then checks it is private.
pub fn ensure_private_dir(path: &Path) -> Result<(), PrivateDirError> {
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
pub fn check_private_dir(path: &Path) -> Result<bool, PrivateDirError> {
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
    Err(PrivateDirError::Unsafe {
        path: path.to_owned(),
        reason,
        uid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn a_private_file_is_0600_and_replaces_the_old_one_whole() {
        let scratch = tempfile::tempdir().unwrap();
        let path = scratch.path().join("spec.json");
        write_private_file(&path, b"first").unwrap();
        write_private_file(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let mode = std::fs::metadata(&path).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let names: Vec<_> = std::fs::read_dir(scratch.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no partial file is left: {names:?}");
    }
}
