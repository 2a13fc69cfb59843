//! `agentshim shim`: one agent, served over the framed-JSON protocol, either on an inherited
//! socket (`--fd N`, the way a parent daemon hands its child a socketpair end) or on a Unix
//! socket it listens on (`--socket PATH`, several clients at once, each bounded by
//! `--client-write-timeout` and `--max-clients`; the sharing rules are in [`crate::frontend`]).
//!
//! The agent is the program after `--`, shaped by the flags, or the whole spec a host wrote to
//! a file (`--spec FILE`, the JSON of [`ShimSpec`], as the server hands it to a shim process).
//! With `--announce`, one line on stdout tells the host that started the process that the
//! socket listens, or why the agent could not start ([`StartReport`]).
//!
//! With `--fd`, the agent is shut down (reason `daemon_stop`) when the client goes away. With
//! `--socket`, the shim exits once the agent is dead and a client that received its `Died`
//! event has left. SIGINT/SIGTERM shut the agent down (reason `daemon_stop`) in both modes.

use std::io::Write;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::LogFormat;
use anyhow::{Context, bail};
use clap::Args;
use nix::fcntl::{FcntlArg, FdFlag, fcntl};
use tokio::net::UnixStream;
use tokio::signal::unix::{SignalKind, signal};

use crate::frontend::clients::{DEFAULT_MAX_CLIENTS, DEFAULT_WRITE_TIMEOUT};
use crate::frontend::{
    ClientRules, ClientsEnd, ConnectionOptions, serve_clients, serve_connection,
};
use crate::protocol::ShutdownReason;
use crate::protocol::link::StartReport;
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
    /// Terminal rows of the agent.
    #[arg(long, default_value_t = crate::shim::DEFAULT_ROWS)]
    rows: u16,
    /// Terminal columns of the agent.
    #[arg(long, default_value_t = crate::shim::DEFAULT_COLS)]
    cols: u16,
    /// Log format on stderr (the level comes from RUST_LOG, default `agentshim=info`).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
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
    /// With --socket: clients served at once; one more closes the one quiet for the longest.
    #[arg(
        long,
        requires = "socket",
        default_value_t = DEFAULT_MAX_CLIENTS,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1024),
    )]
    max_clients: usize,
    /// With --socket: a client that has not taken an event frame after this many seconds is
    /// not reading, and is closed.
    #[arg(
        long,
        value_name = "SECS",
        requires = "socket",
        default_value_t = DEFAULT_WRITE_TIMEOUT.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..=86_400),
    )]
    client_write_timeout: u64,
    /// Start the shim this JSON spec describes (every setting of the shim, as a host writes
    /// it) instead of PROGRAM and the flags that shape it.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = ["agent", "cwd", "rows", "cols", "env", "unset_env", "scrollback", "program"],
    )]
    spec: Option<PathBuf>,
    /// With --socket: print one JSON line on stdout once the socket listens, or why the agent
    /// could not start, then nothing more (how a host that starts this process learns it is
    /// ready; see `StartReport`).
    #[arg(long, requires = "socket")]
    announce: bool,
    /// Record the agent CLI's session (its id and log file, JSON) in FILE each time the shim
    /// follows a new one, so a host can resume that conversation after this process is gone.
    #[arg(long, value_name = "FILE")]
    session_record: Option<PathBuf>,
    /// The agent program and its arguments.
    #[arg(
        last = true,
        required_unless_present = "spec",
        value_name = "PROGRAM [ARGS]..."
    )]
    program: Vec<String>,
}

pub(super) fn parse_env(pair: &str) -> Result<(String, String), String> {
    match pair.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("expected KEY=VALUE, got `{pair}`")),
    }
}

impl ShimArgs {
    fn spec(&self) -> anyhow::Result<ShimSpec> {
        let spec = match &self.spec {
            Some(file) => read_spec(file)?,
            None => self.spec_from_flags(),
        };
        Ok(match &self.session_record {
            Some(record) => spec.session_record(record),
            None => spec,
        })
    }

    fn spec_from_flags(&self) -> ShimSpec {
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

    fn client_rules(&self) -> ClientRules {
        ClientRules {
            max_clients: self.max_clients,
            write_timeout: Duration::from_secs(self.client_write_timeout),
        }
    }
}

pub async fn run(args: ShimArgs) -> anyhow::Result<()> {
    // Take the inherited socket before the agent is spawned, so it is not passed on.
    let inherited = args.fd.map(adopt_socket).transpose()?;
    let handle = match crate::shim::spawn(args.spec()?) {
        Ok(handle) => handle,
        Err(error) => {
            let text = error.to_string();
            if args.announce {
                announce(&StartReport::Failed {
                    error: error.into(),
                })?;
            }
            bail!("cannot start the agent: {text}");
        }
    };
    tokio::spawn(super::heap_trim::trim_after_turns(Arc::clone(
        handle.event_log(),
    )));
    match (inherited, &args.socket) {
        (Some(stream), _) => serve_inherited(stream, &handle).await,
        (None, Some(path)) => {
            serve_listening(path, &handle, args.client_rules(), args.announce).await
        }
        (None, None) => bail!("either --fd or --socket is required"),
    }
}

/// Writes `report` as the one line of stdout, then points stdout at `/dev/null`: the host
/// reads that line and no more.
fn announce(report: &StartReport) -> anyhow::Result<()> {
    let mut line = serde_json::to_vec(report)?;
    line.push(b'\n');
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&line)
        .and_then(|()| stdout.flush())
        .context("cannot announce the start on stdout")?;
    let null = std::fs::File::options().write(true).open("/dev/null")?;
    nix::unistd::dup2_stdout(&null).context("cannot close stdout")?;
    Ok(())
}

/// The spec in `file`.
fn read_spec(file: &Path) -> anyhow::Result<ShimSpec> {
    let json = std::fs::read(file)
        .with_context(|| format!("cannot read the shim spec {}", file.display()))?;
    serde_json::from_slice(&json).with_context(|| format!("{} is not a shim spec", file.display()))
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
    // The one client: no write timeout (a slow parent only falls behind), never displaced.
    tokio::select! {
        served = serve_connection(stream, handle, ConnectionOptions::default()) => {
            tracing::info!(end = ?served.end, "client gone; shutting the agent down");
        }
        () = stop_signal() => tracing::info!("stop signal; shutting the agent down"),
    }
    handle
        .shutdown(STOP_TIMEOUT, ShutdownReason::DaemonStop)
        .await?;
    Ok(())
}

async fn serve_listening(
    path: &Path,
    handle: &ShimHandle,
    rules: ClientRules,
    announced: bool,
) -> anyhow::Result<()> {
    // The socket file goes when `_socket_file` drops, after the last client.
    let (listener, _socket_file) =
        crate::unix_socket::listen_private(path).context("cannot listen")?;
    if announced {
        let pid = handle.status().await?.pid;
        announce(&StartReport::Listening { pid })?;
    }
    match serve_clients(&listener, handle, rules, stop_signal()).await {
        ClientsEnd::AgentGone => Ok(()),
        ClientsEnd::Stopped => {
            tracing::info!("stop signal; shutting the agent down");
            handle
                .shutdown(STOP_TIMEOUT, ShutdownReason::DaemonStop)
                .await
                .map(drop)
                .map_err(anyhow::Error::from)
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
