//! `agentshim serve`: the gRPC server. Prints `agentshim listening on ADDR` on stdout once it
//! accepts connections (scripts and tests read the real port from it when `:0` was asked for),
//! then `agentshim metrics on ADDR` when `--metrics-listen` is given, `agentshim web console
//! on URL` (the link, token included, that opens it) when `--web-listen` is, then `agentshim token in
//! FILE (...)` with the grpcurl incantation when it generated its token, and stops gracefully
//! on SIGINT/SIGTERM, shutting its shims down, or on SIGUSR1, leaving its shim processes
//! running for the next server on its state directory to adopt (an upgrade).
//!
//! Auth: `--token-file` or `AGENTSHIM_TOKEN` (`--token`) give the token; without one, a
//! loopback address gets a generated token and a Unix socket its 0600 mode
//! ([`Auth::Generated`]); `--no-auth` turns authentication off on loopback, `--insecure` also
//! on a network address.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::LogFormat;
use anyhow::{Context, bail};
use clap::Args;
use tokio::signal::unix::{SignalKind, signal};

use crate::server::config::load_config;
use crate::server::profiles::Profiles;
use crate::server::{Auth, ListenAddr, ServerOptions, Stop, bind};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// HOST:PORT (an IP address, or localhost for 127.0.0.1) or unix:PATH.
    #[arg(long, default_value = "127.0.0.1:50051")]
    listen: ListenAddr,
    /// Log format on stderr (the level comes from RUST_LOG, default `agentshim=info`).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Check the config (the file, its profiles' programs and directories, the limits) and
    /// the options, print what would be served, and exit without serving.
    #[arg(long)]
    check_config: bool,
    /// TOML file with `[profiles.NAME]` tables, `[limits]`, `builtin_profiles`,
    /// `default_profile` and `event_log_capacity` (see the README).
    #[arg(long)]
    config: Option<PathBuf>,
    /// File holding the bearer token every RPC must present (health checks excepted). Without
    /// a token, one is generated for a loopback address (see the README).
    #[arg(long, conflicts_with = "token")]
    token_file: Option<PathBuf>,
    /// The bearer token itself (prefer --token-file or the environment).
    #[arg(long, env = "AGENTSHIM_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Serve with no token at all: every local user can then run programs as you. Only for a
    /// host whose users are all trusted.
    #[arg(long, conflicts_with_all = ["token_file", "token"])]
    no_auth: bool,
    /// PEM certificate chain for TLS (with --tls-key).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for TLS (with --tls-cert).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Allow listening on a non-loopback address without a token (authentication is then off,
    /// as with --no-auth, unless a token is given).
    #[arg(long)]
    insecure: bool,
    /// Let clients choose the program of a shim (CreateShim `command`).
    #[arg(long)]
    allow_any_command: bool,
    /// Where the shims' state lives: one private directory per shim process, with its spec,
    /// socket and log (default: $XDG_STATE_HOME/agentshim, else ~/.local/state/agentshim).
    /// One server per directory.
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Seconds shims get to exit when the server stops.
    #[arg(long, default_value_t = 10)]
    shutdown_timeout: u64,
    /// Serve Prometheus metrics at http://HOST:PORT/metrics (an IP address; no
    /// authentication, so keep it where only your scraper reaches it).
    #[arg(long, value_name = "HOST:PORT")]
    metrics_listen: Option<SocketAddr>,
    /// Serve the web console at http://HOST:PORT/ (an IP address): every shim live, their
    /// terminals, send and answer. Same auth as gRPC: the link printed at start carries the
    /// token.
    #[arg(long, value_name = "HOST:PORT")]
    web_listen: Option<SocketAddr>,
    /// Seconds between HTTP/2 pings to each client; a client that does not answer within as
    /// long is disconnected (its streams end).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    keepalive: u64,
}

impl ServeArgs {
    fn auth(&self) -> anyhow::Result<Auth> {
        Ok(match self.token()? {
            Some(token) => Auth::Token(token),
            None if self.no_auth || self.insecure => Auth::Disabled,
            None => Auth::Generated,
        })
    }

    fn token(&self) -> anyhow::Result<Option<String>> {
        let token = match &self.token_file {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read token file {path:?}"))?,
            ),
            None => self.token.clone(),
        };
        match token.map(|t| t.trim().to_owned()) {
            Some(t) if t.is_empty() => bail!("the token is empty"),
            other => Ok(other),
        }
    }

    fn options(&self) -> anyhow::Result<ServerOptions> {
        let config = self.config.as_deref().map(load_config).transpose()?;
        let profiles = match &config {
            Some(config) => Profiles::with_config(config)?,
            None => Profiles::builtin(),
        };
        let mut options = ServerOptions::new(self.listen.clone());
        options.auth = self.auth()?;
        options.tls = self.tls_cert.clone().zip(self.tls_key.clone());
        options.insecure = self.insecure;
        options.profiles = profiles;
        options.allow_any_command = self.allow_any_command;
        if let Some(config) = &config {
            options.limits = config.limits;
            options.event_log = config.log_bounds();
        }
        options.shutdown_timeout = Duration::from_secs(self.shutdown_timeout);
        options.state_dir = self.state_dir.clone();
        options.metrics_listen = self.metrics_listen;
        options.web_listen = self.web_listen;
        options.keepalive = Duration::from_secs(self.keepalive);
        Ok(options)
    }
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let options = args.options()?;
    if args.check_config {
        let profiles: Vec<&str> = options.profiles.names().collect();
        let default = options.profiles.default_name().unwrap_or("none");
        println!(
            "config OK: {} profiles ({}), default {default}; at most {} shims",
            profiles.len(),
            profiles.join(", "),
            options.limits.max_shims
        );
        return Ok(());
    }
    let server = bind(options).await?;
    println!("agentshim listening on {}", server.local_addr());
    if let Some(addr) = server.metrics_addr() {
        println!("agentshim metrics on {addr}");
    }
    if let Some(url) = server.web_url() {
        println!("agentshim web console on {url}");
    }
    if let Some(file) = server.token_file() {
        let file = file.display();
        println!(
            "agentshim token in {file} (the agentshim CLI reads it by itself; grpcurl: \
             grpcurl -plaintext -H \"authorization: Bearer $(cat {file})\" {} list)",
            server.local_addr()
        );
    }
    tracing::info!(addr = server.local_addr(), "serving");
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut leave = signal(SignalKind::user_defined1())?;
    let stop = async move {
        tokio::select! {
            _ = terminate.recv() => Stop::ShutDownShims,
            _ = interrupt.recv() => Stop::ShutDownShims,
            _ = leave.recv() => Stop::LeaveShimsRunning,
        }
    };
    server.serve_until(stop).await?;
    Ok(())
}
