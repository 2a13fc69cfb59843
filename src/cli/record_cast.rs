//! The asciicast v2 file `agentshim record` writes: a JSON header line (`version`, `width`,
//! `height`, `timestamp`, `command`, `title`, `env`), then one JSON array per event, `[seconds,
//! code, text]`, with code `"o"` (program output), `"i"` (bytes written to the program) or `"r"`
//! (a resize, text `COLSxROWS`). Output is split wherever the PTY read ended, so a UTF-8
//! character cut in two is held back until its end arrives; bytes that are not UTF-8 become
//! U+FFFD.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;

/// An asciicast v2 file being written.
pub(super) struct Cast {
    file: BufWriter<File>,
    started: Instant,
    /// The start of a UTF-8 character whose end has not been read yet.
    partial: Vec<u8>,
    events: u64,
}

impl Cast {
    /// Creates `path` and writes the header.
    pub(super) fn create(
        path: &Path,
        (rows, cols): (u16, u16),
        command: &str,
        title: Option<&str>,
    ) -> std::io::Result<Self> {
        let mut file = BufWriter::new(File::create(path)?);
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let shell = std::env::var("SHELL").unwrap_or_default();
        let mut header = json!({
            "version": 2, "width": cols, "height": rows, "timestamp": timestamp,
            "command": command, "env": {"TERM": "xterm-256color", "SHELL": shell},
        });
        if let Some(title) = title {
            header["title"] = json!(title);
        }
        writeln!(file, "{header}")?;
        Ok(Self {
            file,
            started: Instant::now(),
            partial: Vec::new(),
            events: 0,
        })
    }

    fn event(&mut self, code: &str, text: &str) -> std::io::Result<()> {
        let seconds = (self.started.elapsed().as_secs_f64() * 1e6).round() / 1e6;
        self.events += 1;
        writeln!(self.file, "{}", json!([seconds, code, text]))
    }

    /// Records program output.
    pub(super) fn output(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.partial.extend_from_slice(bytes);
        let mut text = String::new();
        let mut rest: &[u8] = &self.partial;
        loop {
            match std::str::from_utf8(rest) {
                Ok(valid) => {
                    text.push_str(valid);
                    rest = &[];
                    break;
                }
                Err(error) => {
                    let (valid, after) = rest.split_at(error.valid_up_to());
                    text.push_str(std::str::from_utf8(valid).unwrap_or_default());
                    match error.error_len() {
                        // Cut short: keep the start for the next read.
                        None => {
                            rest = after;
                            break;
                        }
                        Some(bad) => {
                            text.push(char::REPLACEMENT_CHARACTER);
                            rest = &after[bad..];
                        }
                    }
                }
            }
        }
        self.partial = rest.to_vec();
        if text.is_empty() {
            return Ok(());
        }
        self.event("o", &text)
    }

    /// Records bytes written to the program.
    pub(super) fn input(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.event("i", &String::from_utf8_lossy(bytes))
    }

    /// Records a new terminal size.
    pub(super) fn resize(&mut self, rows: u16, cols: u16) -> std::io::Result<()> {
        self.event("r", &format!("{cols}x{rows}"))
    }

    /// Writes what is still held back and flushes; returns the number of events.
    pub(super) fn finish(&mut self) -> std::io::Result<u64> {
        if !self.partial.is_empty() {
            let rest = String::from_utf8_lossy(&std::mem::take(&mut self.partial)).into_owned();
            self.event("o", &rest)?;
        }
        self.file.flush()?;
        Ok(self.events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_characters_are_joined_and_bad_bytes_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.cast");
        let mut cast = Cast::create(&path, (2, 3), "prog", Some("t")).unwrap();
        let check = "✓".as_bytes();
        cast.output(&[b'a', check[0]]).unwrap();
        cast.output(&check[1..]).unwrap();
        cast.output(b"\xffb").unwrap();
        cast.input(b"\x1b[200~hi\x1b[201~").unwrap();
        cast.resize(4, 5).unwrap();
        assert_eq!(cast.finish().unwrap(), 5);
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["version"], 2);
        assert_eq!(
            (lines[0]["width"].as_u64(), lines[0]["height"].as_u64()),
            (Some(3), Some(2))
        );
        let events: Vec<(&str, &str)> = lines[1..]
            .iter()
            .map(|e| (e[1].as_str().unwrap(), e[2].as_str().unwrap()))
            .collect();
        assert_eq!(
            events,
            [
                ("o", "a"),
                ("o", "✓"),
                ("o", "\u{fffd}b"),
                ("i", "\x1b[200~hi\x1b[201~"),
                ("r", "5x4")
            ]
        );
    }
}
