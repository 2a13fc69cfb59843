//! `agentshim shim`: one agent, served over the framed-JSON protocol, either on an inherited
//! socket (`--fd N`, the way a parent daemon hands its child a socketpair end) or on a Unix
//! socket it listens on (`--socket PATH`, one client at a time: another one waits until the
//! current one leaves; a client that reconnects continues with the same agent and receives the
//! events it missed).
//!
//! With `--fd`, the agent is shut down (reason `daemon_stop`) when the client goes away. With
//! `--socket`, the shim exits once the agent is dead and a client has received its `Died`
//! event. SIGINT/SIGTERM shut the agent down (reason `daemon_stop`) in both modes.

use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use nix::fcntl::{FcntlArg, FdFlag, fcntl};
use tokio::net::{UnixListener, UnixStream};
use tokio::signal::unix::{SignalKind, signal};

use crate::frontend::serve_connection;
use crate::protocol::{Event, ShutdownReason};
use crate::shim::events::LogItem;
use crate::shim::{AgentKind, ShimHandle, ShimSpec};

/// How long the agent gets to exit when the shim itself is told to stop.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("transport").required(true).args(["fd", "socket"]))]
pub struct ShimArgs {
    /// Agent kind: decides how the screen is classified and how messages are typed.
    #[arg(long, default_value = "generic")]
    agent: AgentKind,
    /// Working directory of the agent.
    #[arg(long)]
    cwd: Option<PathBuf>,
    #[arg(long, default_value_t = crate::shim::DEFAULT_ROWS)]
    rows: u16,
    #[arg(long, default_value_t = crate::shim::DEFAULT_COLS)]
    cols: u16,
    /// Environment variable for the agent, KEY=VALUE (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_env)]
    env: Vec<(String, String)>,
    /// Environment variable removed from the agent's environment (repeatable).
    #[arg(long = "unset-env", value_name = "KEY")]
    unset_env: Vec<String>,
    /// Lines of scrollback kept beyond the visible screen.
    #[arg(long, default_value_t = crate::shim::DEFAULT_SCROLLBACK)]
    scrollback: usize,
    /// Speak the protocol on this inherited file descriptor (a connected Unix socket).
    #[arg(long)]
    fd: Option<RawFd>,
    /// Listen on this Unix socket path.
    #[arg(long)]
    socket: Option<PathBuf>,
    /// The agent program and its arguments.
    #[arg(last = true, required = true, value_name = "PROGRAM [ARGS]...")]
    program: Vec<String>,
}

pub(super) fn parse_env(pair: &str) -> Result<(String, String), String> {
    match pair.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("expected KEY=VALUE, got `{pair}`")),
    }
}

impl ShimArgs {
    fn spec(&self) -> ShimSpec {
        let (program, args) = self.program.split_first().expect("clap requires a program");
        let mut spec = ShimSpec::new("shim", program, args)
            .agent(self.agent)
            .size(self.rows, self.cols)
            .scrollback(self.scrollback);
        if let Some(cwd) = &self.cwd {
            spec = spec.cwd(cwd);
        }
        for (key, value) in &self.env {
            spec = spec.env(key, value);
        }
        for key in &self.unset_env {
            spec = spec.env_remove(key);
        }
        spec
    }
}

pub async fn run(args: ShimArgs) -> anyhow::Result<()> {
    // Take the inherited socket before the agent is spawned, so it is not passed on.
    let inherited = args.fd.map(adopt_socket).transpose()?;
    let handle = crate::shim::spawn(args.spec()).context("cannot start the agent")?;
    match (inherited, &args.socket) {
        (Some(stream), _) => serve_inherited(stream, &handle).await,
        (None, Some(path)) => serve_listening(path, &handle).await,
        (None, None) => bail!("either --fd or --socket is required"),
    }
}

/// Takes ownership of an inherited, connected Unix socket and keeps it from agents' children.
fn adopt_socket(fd: RawFd) -> anyhow::Result<UnixStream> {
    // SAFETY: the parent handed us this descriptor for exactly this purpose; it is not used
    // anywhere else in this process. Validity is checked by the fcntl call just below.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    fcntl(&owned, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))
        .with_context(|| format!("--fd {fd} is not an open file descriptor"))?;
    let stream = std::os::unix::net::UnixStream::from(owned);
    stream
        .peer_addr()
        .with_context(|| format!("--fd {fd} is not a Unix socket"))?;
    stream.set_nonblocking(true)?;
    Ok(UnixStream::from_std(stream)?)
}

async fn serve_inherited(stream: UnixStream, handle: &ShimHandle) -> anyhow::Result<()> {
    let mut delivered_seq = 0;
    tokio::select! {
        end = serve_connection(stream, handle, &mut delivered_seq) => {
            tracing::info!(?end, "client gone; shutting the agent down");
        }
        () = stop_signal() => tracing::info!("stop signal; shutting the agent down"),
    }
    handle
        .shutdown(STOP_TIMEOUT, ShutdownReason::DaemonStop)
        .await?;
    Ok(())
}

async fn serve_listening(path: &Path, handle: &ShimHandle) -> anyhow::Result<()> {
    // The socket file goes when `_socket_file` drops, after the last client.
    let (listener, _socket_file) =
        crate::unix_socket::listen_private(path).context("cannot listen")?;
    accept_clients(&listener, handle).await
}

async fn accept_clients(listener: &UnixListener, handle: &ShimHandle) -> anyhow::Result<()> {
    let mut delivered_seq = 0;
    let mut death = handle.subscribe(0);
    let mut died_seq = None;
    let stop = stop_signal();
    tokio::pin!(stop);
    loop {
        if died_seq.is_some_and(|seq| delivered_seq >= seq) {
            return Ok(());
        }
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = accepted.context("accept failed")?;
                // Served to its end before the next accept: a client connecting meanwhile waits
                // in the listen backlog, so a quick reconnect is never refused.
                tokio::select! {
                    end = serve_connection(stream, handle, &mut delivered_seq) => {
                        tracing::info!(?end, "client disconnected");
                    }
                    () = &mut stop => {
                        handle.shutdown(STOP_TIMEOUT, ShutdownReason::DaemonStop).await?;
                        return Ok(());
                    }
                }
            }
            item = death.next(), if died_seq.is_none() => match item {
                Some(LogItem::Event(envelope)) if matches!(envelope.event, Event::Died { .. }) => {
                    died_seq = Some(envelope.seq);
                }
                Some(_) => {}
                None => return Ok(()),
            },
            () = &mut stop => {
                handle.shutdown(STOP_TIMEOUT, ShutdownReason::DaemonStop).await?;
                return Ok(());
            }
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn stop_signal() {
    let (Ok(mut interrupt), Ok(mut terminate)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
}
