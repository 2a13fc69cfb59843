//! A file this process put at a path (a listening socket, a token file) and removes again when
//! it is done with it: on drop, the path is removed only while it is still that very file (same
//! device and inode). Whatever took the path meanwhile (a new server's socket, another file) is
//! left alone.

use std::fmt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Removes its path on drop, unless the path names another file by then.
pub struct OwnedPath {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl OwnedPath {
    /// Takes charge of the file now at `path` (not following a symlink).
    pub fn claim(path: PathBuf) -> std::io::Result<Self> {
        let meta = std::fs::symlink_metadata(&path)?;
        Ok(Self {
            path,
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl fmt::Debug for OwnedPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OwnedPath").field(&self.path).finish()
    }
}

impl Drop for OwnedPath {
    fn drop(&mut self) {
        let still_ours = std::fs::symlink_metadata(&self.path)
            .is_ok_and(|meta| meta.dev() == self.dev && meta.ino() == self.ino);
        if still_ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_its_file_but_not_a_replacement() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "ours").unwrap();
        drop(OwnedPath::claim(path.clone()).unwrap());
        assert!(!path.exists());

        std::fs::write(&path, "ours").unwrap();
        let owned = OwnedPath::claim(path.clone()).unwrap();
        let replacement = dir.path().join("g");
        std::fs::write(&replacement, "theirs").unwrap();
        std::fs::rename(&replacement, &path).unwrap();
        drop(owned);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "theirs");
    }
}
