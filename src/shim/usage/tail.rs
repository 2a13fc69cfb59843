//! Following a growing log file: each [`Tail::read_lines`] returns the complete lines appended
//! since the previous call. A last line still being written waits for its newline; a file
//! that shrank was rewritten and is read again from the start.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// New lines of a file, and whether the file was rewritten since the last read.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct NewLines {
    pub lines: Vec<String>,
    /// The file shrank: `lines` start from its beginning and earlier ones no longer hold.
    pub restarted: bool,
}

/// A read position in one file.
#[derive(Debug)]
pub(super) struct Tail {
    path: PathBuf,
    /// Bytes consumed, up to the end of `partial`.
    offset: u64,
    /// Bytes of a line whose newline has not been written yet.
    partial: Vec<u8>,
}

impl Tail {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            offset: 0,
            partial: Vec::new(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads what was appended since the last call.
    pub fn read_lines(&mut self) -> io::Result<NewLines> {
        let mut file = File::open(&self.path)?;
        let len = file.metadata()?.len();
        let restarted = len < self.offset;
        if restarted {
            self.offset = 0;
            self.partial.clear();
        }
        file.seek(SeekFrom::Start(self.offset))?;
        let mut fresh = Vec::new();
        file.read_to_end(&mut fresh)?;
        self.offset += fresh.len() as u64;
        self.partial.extend_from_slice(&fresh);
        let Some(last_newline) = self.partial.iter().rposition(|&b| b == b'\n') else {
            return Ok(NewLines {
                lines: Vec::new(),
                restarted,
            });
        };
        let rest = self.partial.split_off(last_newline + 1);
        let complete = std::mem::replace(&mut self.partial, rest);
        let lines = String::from_utf8_lossy(&complete)
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(String::from)
            .collect();
        Ok(NewLines { lines, restarted })
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn returns_only_complete_new_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        let mut file = File::create(&path).unwrap();
        let mut tail = Tail::new(path.clone());
        assert_eq!(tail.read_lines().unwrap(), NewLines::default());
        file.write_all(b"one\ntw").unwrap();
        assert_eq!(tail.read_lines().unwrap().lines, ["one"]);
        assert!(tail.read_lines().unwrap().lines.is_empty());
        file.write_all("o ✓\n\nthree\n".as_bytes()).unwrap();
        assert_eq!(tail.read_lines().unwrap().lines, ["two ✓", "three"]);
        assert!(tail.read_lines().unwrap().lines.is_empty());
    }

    #[test]
    fn a_rewritten_file_is_read_from_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        std::fs::write(&path, "a long first line\nsecond\n").unwrap();
        let mut tail = Tail::new(path.clone());
        assert_eq!(tail.read_lines().unwrap().lines.len(), 2);
        std::fs::write(&path, "new\n").unwrap();
        let again = tail.read_lines().unwrap();
        assert!(again.restarted);
        assert_eq!(again.lines, ["new"]);
    }

    #[test]
    fn a_missing_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut tail = Tail::new(dir.path().join("nope.jsonl"));
        assert!(tail.read_lines().is_err());
    }
}
