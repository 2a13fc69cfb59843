//! `agentshim attach SHIM`: this terminal becomes the agent's, as `tmux attach` makes it a
//! session's. The screen is drawn as it is, then the agent's output follows live; keys go to
//! the agent (unless `--read-only`), and the agent's terminal follows this one's size
//! (SIGWINCH) while this client is the writer. The detach key (`Ctrl-]` by default,
//! `--detach-key`) ends it; so do the agent's exit, another client taking over as the writer,
//! and the server going away. The attachment runs on the alternate screen: on every way out
//! (a panic included, through [`AttachedTerminal`]'s drop) raw mode is undone, the modes the
//! agent set are reset, and the screen this terminal showed before comes back (unless the
//! agent itself switched the terminal off the alternate screen meanwhile: its bytes reach this
//! terminal as they are); then the reason is printed.

use std::io::Write;

use anyhow::{Context, bail};
use clap::Args;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::connect_args::ConnectArgs;
use super::terminal::{RawMode, stdin_keys, terminal_size};
use crate::rpc::{
    AttachDetach, AttachMode, AttachRequest, AttachStart, TerminalSize, attach_request,
    attach_response,
};

/// Entered on attaching: the alternate screen, cleared.
const ENTER: &[u8] = b"\x1b[?1049h\x1b[H\x1b[2J";

/// Written on detaching: default colours, a visible cursor, no bracketed paste, normal cursor
/// and keypad keys, no mouse reporting, and the screen from before the attachment.
const LEAVE: &[u8] =
    b"\x1b[0m\x1b[?25h\x1b[?2004l\x1b[?1l\x1b>\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?1049l";

#[derive(Debug, Args)]
pub struct AttachArgs {
    /// The shim's id.
    shim_id: String,
    /// Watch only: keys (but the detach key) are not sent, and the agent keeps its size.
    #[arg(long, conflicts_with = "takeover")]
    read_only: bool,
    /// Become the writer even if another client is (it is told, and goes on watching).
    #[arg(long)]
    takeover: bool,
    /// The key that detaches, as Ctrl and a key: `C-]` (the default), `C-a`, `C-\`, ...
    #[arg(long, value_name = "KEY", default_value = "C-]", value_parser = parse_detach_key)]
    detach_key: u8,
    #[command(flatten)]
    pub(super) connect: ConnectArgs,
}

/// Bounds the wait for the server's `detached` after the detach key, so keys typed just
/// before it reach the agent.
const DETACH_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// This terminal while attached: raw, on the alternate screen; restored when dropped.
struct AttachedTerminal {
    _raw: RawMode,
}

impl AttachedTerminal {
    fn enter() -> anyhow::Result<Self> {
        let raw = RawMode::enable()?;
        let mut stdout = std::io::stdout();
        stdout.write_all(ENTER)?;
        stdout.flush()?;
        Ok(Self { _raw: raw })
    }
}

impl Drop for AttachedTerminal {
    fn drop(&mut self) {
        let mut stdout = std::io::stdout();
        let _ = stdout.write_all(LEAVE);
        let _ = stdout.flush();
    }
}

/// Why the attachment ended.
enum End {
    /// The server said why (`detached`, `writer_changed`).
    Said(String),
    /// The person pressed the detach key.
    DetachKey,
    /// The stream failed.
    Failed(tonic::Status),
}

pub async fn run(args: AttachArgs) -> anyhow::Result<()> {
    let Some(size) = terminal_size() else {
        bail!("attach needs a terminal: stdin is not one");
    };
    let mode = match (args.read_only, args.takeover) {
        (true, _) => AttachMode::Observe,
        (false, true) => AttachMode::Takeover,
        (false, false) => AttachMode::Write,
    };
    let start = AttachStart {
        shim_id: args.shim_id.clone(),
        mode: mode.into(),
        size: (!args.read_only).then(|| TerminalSize::new(size.0, size.1)),
    };
    let (requests, outbound) = mpsc::channel(64);
    let mut client = args.connect.connect().await?;
    let mut responses = client
        .attach(start, ReceiverStream::new(outbound))
        .await
        .with_context(|| format!("cannot attach to {}", args.shim_id))?;
    let writer = match responses.message().await? {
        Some(crate::rpc::AttachResponse {
            response: Some(attach_response::Response::Attached(attached)),
        }) => attached.writer,
        other => bail!("the server did not attach: {other:?}"),
    };
    let role = if writer { "the writer" } else { "an observer" };
    eprintln!(
        "agentshim: attached to {} as {role}; detach with {}\r",
        args.shim_id,
        key_name(args.detach_key)
    );
    let end = {
        let _terminal = AttachedTerminal::enter()?;
        let end = follow(&mut responses, &requests, writer, args.detach_key).await;
        if let Ok(End::DetachKey) = end {
            detach(&mut responses, requests).await;
        }
        end
    };
    let mut stderr = std::io::stderr();
    match end? {
        End::Said(reason) => writeln!(
            stderr,
            "agentshim: detached from {}: {reason}",
            args.shim_id
        )?,
        End::DetachKey => writeln!(stderr, "agentshim: detached from {}", args.shim_id)?,
        End::Failed(status) => bail!(
            "the attachment to {} failed: {}",
            args.shim_id,
            status.message()
        ),
    }
    Ok(())
}

/// Detaches and waits (a little) for the server to say so: everything sent before is then
/// with the agent.
async fn detach(
    responses: &mut tonic::Streaming<crate::rpc::AttachResponse>,
    requests: mpsc::Sender<AttachRequest>,
) {
    let detach = AttachRequest {
        request: Some(attach_request::Request::Detach(AttachDetach {})),
    };
    if requests.send(detach).await.is_err() {
        return;
    }
    let detached = async {
        while let Some(Ok(response)) = responses.next().await {
            if let Some(attach_response::Response::Detached(_)) = response.response {
                return;
            }
        }
    };
    let _ = tokio::time::timeout(DETACH_WAIT, detached).await;
}

/// Shows the agent's output and sends the keys and size of this terminal until the end.
async fn follow(
    responses: &mut tonic::Streaming<crate::rpc::AttachResponse>,
    requests: &mpsc::Sender<AttachRequest>,
    writer: bool,
    detach_key: u8,
) -> anyhow::Result<End> {
    use attach_response::Response;
    let mut stdout = tokio::io::stdout();
    let mut keys = stdin_keys();
    let mut resized = signal(SignalKind::window_change())?;
    loop {
        tokio::select! {
            response = responses.next() => match response {
                Some(Ok(crate::rpc::AttachResponse { response: Some(response) })) => match response {
                    Response::Output(bytes) => {
                        stdout.write_all(&bytes).await?;
                        stdout.flush().await?;
                    }
                    Response::Detached(detached) => return Ok(End::Said(detached.reason)),
                    Response::WriterChanged(changed) if !changed.writer => {
                        return Ok(End::Said(changed.reason));
                    }
                    Response::Attached(_)
                    | Response::Resized(_)
                    | Response::Refreshed(_)
                    | Response::WriterChanged(_)
                    | Response::Refusal(_) => {}
                },
                Some(Ok(_)) => {}
                Some(Err(status)) => return Ok(End::Failed(status)),
                None => return Ok(End::Said("the server ended the stream".to_owned())),
            },
            Some(typed) = keys.recv() => {
                let (before, detach) = match typed.iter().position(|&byte| byte == detach_key) {
                    Some(at) => (&typed[..at], true),
                    None => (&typed[..], false),
                };
                if writer && !before.is_empty() {
                    let input = AttachRequest {
                        request: Some(attach_request::Request::Input(before.to_vec())),
                    };
                    if requests.send(input).await.is_err() {
                        return Ok(End::Said("the stream closed".to_owned()));
                    }
                }
                if detach {
                    return Ok(End::DetachKey);
                }
            }
            _ = resized.recv() => if let (true, Some(size)) = (writer, terminal_size()) {
                let resize = AttachRequest {
                    request: Some(attach_request::Request::Resize(TerminalSize::new(size.0, size.1))),
                };
                let _ = requests.send(resize).await;
            },
        }
    }
}

/// The byte a `C-x` key sends.
fn parse_detach_key(key: &str) -> Result<u8, String> {
    let control = key
        .strip_prefix("C-")
        .or_else(|| key.strip_prefix('^'))
        .and_then(|rest| {
            let mut chars = rest.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Some(c.to_ascii_uppercase()),
                _ => None,
            }
        })
        .filter(|c| ('@'..='_').contains(c));
    match control {
        Some(c) => Ok(c as u8 ^ 0x40),
        None => Err(format!(
            "`{key}` is not a control key: write C- and one of A-Z, @, [, \\, ], ^, _"
        )),
    }
}

/// `Ctrl-]` for 0x1d.
fn key_name(byte: u8) -> String {
    format!("Ctrl-{}", char::from(byte ^ 0x40))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_keys_are_control_keys() {
        assert_eq!(parse_detach_key("C-]"), Ok(0x1d));
        assert_eq!(parse_detach_key("C-a"), Ok(0x01));
        assert_eq!(parse_detach_key("^Q"), Ok(0x11));
        assert_eq!(parse_detach_key("C-\\"), Ok(0x1c));
        assert!(parse_detach_key("C-1").is_err());
        assert!(parse_detach_key("x").is_err());
        assert!(parse_detach_key("C-ab").is_err());
        assert_eq!(key_name(0x1d), "Ctrl-]");
        assert_eq!(key_name(0x01), "Ctrl-A");
    }
}
