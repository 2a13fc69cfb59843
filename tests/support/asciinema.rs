//! The real asciinema player (pip package `asciinema`, installed by `.ci/run`), run on a
//! recording as a person would: `cat` prints its output, `play` replays it with its timing.

use std::path::Path;
use std::process::{Command, Stdio};

/// Runs `asciinema ARGS...`; panics unless it succeeds; returns its stdout.
pub fn asciinema(args: &[&str]) -> String {
    let output = Command::new("asciinema")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("asciinema is installed (.ci/run installs it: pip install asciinema)");
    assert!(
        output.status.success(),
        "asciinema {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `asciinema cat` of the recording at `path`.
pub fn cat(path: &Path) -> String {
    asciinema(&["cat", path.to_str().expect("a UTF-8 path")])
}

/// `asciinema play` of the recording at `path`, a hundred times faster, pauses cut short.
pub fn play(path: &Path) -> String {
    let path = path.to_str().expect("a UTF-8 path");
    asciinema(&["play", "--speed", "100", "--idle-time-limit", "0.01", path])
}
