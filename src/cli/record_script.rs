//! The steps of `agentshim record --script FILE`, one per line (`#` starts a comment line):
//!
//! ```text
//! wait TEXT      until the screen shows TEXT
//! gone TEXT      until the screen no longer shows TEXT
//! quiet SECS     until the program has printed nothing for SECS seconds (since this step began)
//! sleep SECS     pause
//! type TEXT      type TEXT as agentshim types a message: control characters removed, one
//!                bracketed paste when the program enabled it (submit it with `key enter`)
//! key NAME...    enter tab esc backspace space up down left right, ctrl-a ... ctrl-z
//! exit           until the program exits
//! timeout SECS   how long each later wait may take (default 60) before the recording fails
//! ```
//!
//! TEXT is the rest of the line, or a JSON string (`"two\nlines"`). The program's output goes
//! through agentshim's own screen, which also answers its terminal queries (recorded as input).

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::record::{EXIT_DRAIN, ToPty, exited};
use crate::asciicast::Cast;
use crate::shim::inject::{sanitize_body, typing_bytes};
use crate::shim::process::AgentProcess;
use crate::shim::screen::Screen;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Wait(String),
    Gone(String),
    Quiet(Duration),
    Sleep(Duration),
    Type(String),
    Keys(Vec<u8>),
    Exit,
    Timeout(Duration),
}

/// A parsed script: each step with its line number and text.
#[derive(Debug)]
pub(super) struct Script {
    steps: Vec<(usize, String, Step)>,
}

fn text_arg(rest: &str) -> anyhow::Result<String> {
    if rest.starts_with('"') {
        serde_json::from_str(rest).context("bad JSON string")
    } else if rest.is_empty() {
        bail!("text expected")
    } else {
        Ok(rest.to_owned())
    }
}

fn seconds_arg(rest: &str) -> anyhow::Result<Duration> {
    let seconds: f64 = rest.parse().context("seconds expected")?;
    Duration::try_from_secs_f64(seconds).context("seconds expected")
}

fn key(name: &str) -> anyhow::Result<Vec<u8>> {
    let name = name.to_ascii_lowercase();
    let bytes: &[u8] = match name.as_str() {
        "enter" => b"\r",
        "tab" => b"\t",
        "esc" => b"\x1b",
        "backspace" => b"\x7f",
        "space" => b" ",
        "up" => b"\x1b[A",
        "down" => b"\x1b[B",
        "right" => b"\x1b[C",
        "left" => b"\x1b[D",
        _ => match name.strip_prefix("ctrl-").map(str::as_bytes) {
            Some(&[letter]) if letter.is_ascii_lowercase() => return Ok(vec![letter & 0x1f]),
            _ => bail!("unknown key `{name}`"),
        },
    };
    Ok(bytes.to_vec())
}

fn parse_step(line: &str) -> anyhow::Result<Step> {
    let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
    let rest = rest.trim();
    Ok(match verb {
        "wait" => Step::Wait(text_arg(rest)?),
        "gone" => Step::Gone(text_arg(rest)?),
        "quiet" => Step::Quiet(seconds_arg(rest)?),
        "sleep" => Step::Sleep(seconds_arg(rest)?),
        "timeout" => Step::Timeout(seconds_arg(rest)?),
        "type" => Step::Type(text_arg(rest)?),
        "key" if !rest.is_empty() => Step::Keys(
            rest.split_whitespace()
                .map(key)
                .collect::<Result<Vec<_>, _>>()?
                .concat(),
        ),
        "exit" if rest.is_empty() => Step::Exit,
        _ => bail!("unknown step"),
    })
}

fn shows(screen: &Screen, text: &str) -> bool {
    screen.snapshot().lines.join("\n").contains(text)
}

impl Script {
    pub(super) fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    fn parse(text: &str) -> anyhow::Result<Self> {
        let mut steps = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let step = parse_step(line).with_context(|| format!("line {}: `{line}`", index + 1))?;
            steps.push((index + 1, line.to_owned(), step));
        }
        Ok(Self { steps })
    }

    /// Runs the steps against the program, recording its output; ends after the last step (or
    /// fails on a wait that takes too long, leaving what was recorded so far).
    pub(super) async fn run(
        self,
        (rows, cols): (u16, u16),
        mut reader: pty_process::OwnedReadPty,
        to_pty: mpsc::UnboundedSender<ToPty>,
        mut process: AgentProcess,
        cast: &mut Cast,
    ) -> anyhow::Result<()> {
        let mut screen = Screen::new(rows, cols, 0);
        let mut buffer = vec![0u8; 64 * 1024];
        let (mut next, mut started, mut last_output) = (0, Instant::now(), Instant::now());
        let mut limit = DEFAULT_TIMEOUT;
        let (mut exited_at, mut pty_open) = (None::<Instant>, true);
        loop {
            // Take every step that is done now.
            let now = Instant::now();
            let Some((line, text, step)) = self.steps.get(next) else {
                return Ok(());
            };
            let done = match step {
                Step::Type(message) => {
                    let keys = typing_bytes(&sanitize_body(message).text, screen.bracketed_paste());
                    cast.input(std::time::Instant::now(), &keys)?;
                    let _ = to_pty.send(ToPty::Bytes(keys));
                    true
                }
                Step::Keys(keys) => {
                    cast.input(std::time::Instant::now(), keys)?;
                    let _ = to_pty.send(ToPty::Bytes(keys.clone()));
                    true
                }
                Step::Timeout(timeout) => {
                    limit = *timeout;
                    true
                }
                Step::Wait(wanted) => shows(&screen, wanted),
                Step::Gone(unwanted) => !shows(&screen, unwanted),
                Step::Quiet(quiet) => now >= last_output.max(started) + *quiet,
                Step::Sleep(pause) => now >= started + *pause,
                Step::Exit => exited_at.is_some(),
            };
            if done {
                (next, started) = (next + 1, now);
                continue;
            }
            let gone = exited_at.is_some_and(|at| !pty_open || now >= at + EXIT_DRAIN);
            if gone && matches!(step, Step::Wait(_) | Step::Gone(_)) {
                bail!(
                    "line {line}: `{text}`: the program exited; its screen:\n{}",
                    dump(&screen)
                );
            }
            let deadline = match step {
                Step::Quiet(quiet) => last_output.max(started) + *quiet,
                Step::Sleep(pause) => started + *pause,
                _ => started + limit,
            };
            tokio::select! {
                read = reader.read(&mut buffer), if pty_open => match read {
                    Ok(n) if n > 0 => {
                        last_output = Instant::now();
                        cast.output(std::time::Instant::now(), &buffer[..n])?;
                        let replies = screen.feed(&buffer[..n]);
                        if !replies.is_empty() {
                            cast.input(std::time::Instant::now(), &replies)?;
                            let _ = to_pty.send(ToPty::Bytes(replies));
                        }
                    }
                    _ => pty_open = false,
                },
                status = process.wait(), if exited_at.is_none() => {
                    exited(&process, status);
                    exited_at = Some(Instant::now());
                }
                () = tokio::time::sleep_until(deadline) => {
                    if !matches!(step, Step::Quiet(_) | Step::Sleep(_)) {
                        return Err(anyhow!(
                            "line {line}: `{text}` still waiting after {:.0}s; the screen:\n{}",
                            limit.as_secs_f64(),
                            dump(&screen)
                        ));
                    }
                }
            }
        }
    }
}

fn dump(screen: &Screen) -> String {
    let mut lines = screen.snapshot().lines;
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_step_and_names_bad_lines() {
        let script = Script::parse(
            "# a comment\n\nwait ? for shortcuts\ntype \"two\\nlines ✓\"\nkey enter ctrl-c up\n\
             timeout 5\ngone esc to interrupt\nquiet 1.5\nsleep 0.2\nexit\n",
        )
        .unwrap();
        let steps: Vec<&Step> = script.steps.iter().map(|(_, _, s)| s).collect();
        assert_eq!(
            steps,
            [
                &Step::Wait("? for shortcuts".into()),
                &Step::Type("two\nlines ✓".into()),
                &Step::Keys(b"\r\x03\x1b[A".to_vec()),
                &Step::Timeout(Duration::from_secs(5)),
                &Step::Gone("esc to interrupt".into()),
                &Step::Quiet(Duration::from_millis(1500)),
                &Step::Sleep(Duration::from_millis(200)),
                &Step::Exit,
            ]
        );
        assert_eq!(script.steps[0].0, 3);
        for bad in [
            "key f13",
            "wait",
            "quiet soon",
            "press enter",
            "type \"open",
        ] {
            let error = format!(
                "{:#}",
                Script::parse(&format!("sleep 1\n{bad}")).unwrap_err()
            );
            assert!(error.starts_with(&format!("line 2: `{bad}`")), "{error}");
        }
    }
}
