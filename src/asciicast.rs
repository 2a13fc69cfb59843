//! The asciicast v2 files agentshim writes (`agentshim record`, and a shim's recording of its
//! life): a JSON header line (`version`, `width`, `height`, `timestamp`, `command`, `title`,
//! `env`), then one JSON array per event, `[seconds, code, text]`, with code `"o"` (program
//! output), `"i"` (bytes written to the program), `"r"` (a resize, text `COLSxROWS`) or `"m"`
//! (a marker a player can jump to). Output is split wherever the PTY read ended, so a UTF-8
//! character cut in two is held back until its end arrives; bytes that are not UTF-8 become
//! U+FFFD. A file may have a cap on its size: the event that would pass it is replaced by a
//! marker saying the recording was cut there, and nothing more is written.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;

/// An asciicast v2 file being written.
pub struct Cast {
    file: BufWriter<File>,
    started: Instant,
    /// The start of a UTF-8 character whose end has not been read yet.
    partial: Vec<u8>,
    events: u64,
    /// Bytes written so far, and the most the file may hold.
    written: u64,
    cap: u64,
    /// The cap was reached: nothing more is written.
    cut: bool,
}

/// Room kept under the cap for the marker that says the recording was cut.
const CUT_MARKER_ROOM: u64 = 256;

impl Cast {
    /// Creates `path` and writes the header; the recording starts at `started`, and the file
    /// holds at most `cap` bytes (`u64::MAX`: no cap).
    pub fn create(
        path: &Path,
        (rows, cols): (u16, u16),
        command: &str,
        title: Option<&str>,
        started: Instant,
        cap: u64,
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
        let header = format!("{header}\n");
        file.write_all(header.as_bytes())?;
        Ok(Self {
            file,
            started,
            partial: Vec::new(),
            events: 0,
            written: header.len() as u64,
            cap: cap.max(header.len() as u64 + CUT_MARKER_ROOM),
            cut: false,
        })
    }

    /// Opens the recording at `path` to write on at its end, its clock going on from the
    /// header's `timestamp` (a recording a process that is gone began); a line cut off by
    /// that process's end is dropped. `None` when there is no such recording.
    pub fn continue_at(path: &Path, cap: u64) -> std::io::Result<Option<Self>> {
        let text = match std::fs::read(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error),
        };
        let whole = text
            .iter()
            .rposition(|&byte| byte == b'\n')
            .map_or(0, |at| at + 1);
        let header_end = text.iter().position(|&byte| byte == b'\n');
        let timestamp = header_end
            .and_then(|end| serde_json::from_slice::<serde_json::Value>(&text[..end]).ok())
            .and_then(|header| header["timestamp"].as_u64());
        let Some(timestamp) = timestamp else {
            return Ok(None);
        };
        let file = std::fs::OpenOptions::new().write(true).open(path)?;
        file.set_len(whole as u64)?;
        let mut file = BufWriter::new(file);
        use std::io::Seek;
        file.seek(std::io::SeekFrom::End(0))?;
        let since_start = SystemTime::now()
            .duration_since(UNIX_EPOCH + std::time::Duration::from_secs(timestamp))
            .unwrap_or_default();
        let now = Instant::now();
        Ok(Some(Self {
            file,
            started: now.checked_sub(since_start).unwrap_or(now),
            partial: Vec::new(),
            events: 0,
            written: whole as u64,
            cap: cap.max(whole as u64 + CUT_MARKER_ROOM),
            cut: false,
        }))
    }

    fn event(&mut self, at: Instant, code: &str, text: &str) -> std::io::Result<()> {
        if self.cut {
            return Ok(());
        }
        let seconds =
            (at.saturating_duration_since(self.started).as_secs_f64() * 1e6).round() / 1e6;
        let line = format!("{}\n", json!([seconds, code, text]));
        if self.written + line.len() as u64 > self.cap - CUT_MARKER_ROOM {
            self.cut = true;
            let marker = format!(
                "recording cut: it reached its cap of {} bytes; what followed is not recorded",
                self.cap
            );
            let line = format!("{}\n", json!([seconds, "m", marker]));
            self.written += line.len() as u64;
            self.events += 1;
            return self.file.write_all(line.as_bytes());
        }
        self.written += line.len() as u64;
        self.events += 1;
        self.file.write_all(line.as_bytes())
    }

    /// Records program output at `at`.
    pub fn output(&mut self, at: Instant, bytes: &[u8]) -> std::io::Result<()> {
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
        self.event(at, "o", &text)
    }

    /// Records bytes written to the program at `at`.
    pub fn input(&mut self, at: Instant, bytes: &[u8]) -> std::io::Result<()> {
        self.event(at, "i", &String::from_utf8_lossy(bytes))
    }

    /// Records a new terminal size at `at`.
    pub fn resize(&mut self, at: Instant, rows: u16, cols: u16) -> std::io::Result<()> {
        self.event(at, "r", &format!("{cols}x{rows}"))
    }

    /// Records a marker at `at`, labelled `label`.
    pub fn marker(&mut self, at: Instant, label: &str) -> std::io::Result<()> {
        self.event(at, "m", label)
    }

    /// Writes what was written so far to the file.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }

    /// Writes what is still held back and flushes; returns the number of events.
    pub fn finish(&mut self) -> std::io::Result<u64> {
        if !self.partial.is_empty() {
            let rest = String::from_utf8_lossy(&std::mem::take(&mut self.partial)).into_owned();
            self.event(Instant::now(), "o", &rest)?;
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
        let now = Instant::now();
        let mut cast = Cast::create(&path, (2, 3), "prog", Some("t"), now, u64::MAX).unwrap();
        let check = "✓".as_bytes();
        cast.output(now, &[b'a', check[0]]).unwrap();
        cast.output(now, &check[1..]).unwrap();
        cast.output(now, b"\xffb").unwrap();
        cast.input(now, b"\x1b[200~hi\x1b[201~").unwrap();
        cast.resize(now, 4, 5).unwrap();
        cast.marker(now, "turn 1").unwrap();
        assert_eq!(cast.finish().unwrap(), 6);
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
                ("r", "5x4"),
                ("m", "turn 1")
            ]
        );
    }

    #[test]
    fn a_recording_goes_on_after_its_writer_is_gone_without_its_cut_off_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.cast");
        let now = Instant::now();
        let mut cast = Cast::create(&path, (2, 3), "prog", None, now, u64::MAX).unwrap();
        cast.output(now, b"first").unwrap();
        cast.finish().unwrap();
        drop(cast);
        // The writer died in the middle of a line.
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all(b"[1.5, \"o\", \"half").unwrap();
        drop(file);
        let mut cast = Cast::continue_at(&path, u64::MAX)
            .unwrap()
            .expect("a recording");
        cast.marker(Instant::now(), "started again").unwrap();
        cast.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("every line is whole JSON"))
            .collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert_eq!(lines[1][2], "first");
        assert_eq!(lines[2][1], "m");
        assert!(lines[2][0].as_f64().unwrap() >= lines[1][0].as_f64().unwrap());
        assert!(
            Cast::continue_at(&dir.path().join("none.cast"), 10)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn a_capped_recording_says_where_it_was_cut_and_stays_under_its_cap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.cast");
        let now = Instant::now();
        let cap = 2000;
        let mut cast = Cast::create(&path, (2, 3), "prog", None, now, cap).unwrap();
        for _ in 0..100 {
            cast.output(now, b"0123456789012345678901234567890123456789")
                .unwrap();
        }
        cast.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.len() as u64 <= cap, "{} bytes", text.len());
        let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
        assert_eq!(last[1], "m");
        assert!(
            last[2].as_str().unwrap().contains("cap of 2000 bytes"),
            "{last}"
        );
        assert!(text.lines().count() > 10, "it recorded until the cap");
    }
}
