//! `--addr`, `--token`, `--tls-ca`, `--tls-domain` and `--json`: the arguments every client
//! command flattens in, and how they become a connected [`Client`] (or a bare channel, for
//! `agentshim health`). The token is never printed (not by `--help`, not by `Debug`); without
//! one, the client finds the token a local server generated (see [`crate::runtime_dir`]).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::client::{
    BearerAuth, Client, ClientError, ConnectOptions, Target, bearer_auth, open_channel, with_causes,
};

/// The address client commands use when neither `--addr` nor `AGENTSHIM_ADDR` is given.
pub const DEFAULT_ADDR: &str = "http://127.0.0.1:50051";

/// Where the server is and how to print; flattened into every client command.
#[derive(Args)]
pub struct ConnectArgs {
    /// Server address: http://HOST:PORT, HOST:PORT, https://HOST:PORT or unix:/PATH.
    #[arg(
        long,
        env = "AGENTSHIM_ADDR",
        hide_env_values = true,
        default_value = DEFAULT_ADDR,
        value_name = "ADDR"
    )]
    addr: String,
    /// Bearer token the server requires (prefer the environment variable: arguments are
    /// visible to other users in `ps`). Without one, the token a server on this host
    /// generated for a loopback address is read from the runtime directory.
    #[arg(
        long,
        env = "AGENTSHIM_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    token: Option<String>,
    /// PEM file with the CA that signed the server's TLS certificate (https:// only).
    #[arg(long, value_name = "FILE")]
    tls_ca: Option<PathBuf>,
    /// Verify the server's TLS certificate against this name instead of the address's host.
    #[arg(long, value_name = "NAME")]
    tls_domain: Option<String>,
    /// Machine-readable output: one JSON object per line.
    #[arg(long)]
    pub json: bool,
}

impl fmt::Debug for ConnectArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectArgs")
            .field("addr", &self.addr)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("tls_ca", &self.tls_ca)
            .field("tls_domain", &self.tls_domain)
            .field("json", &self.json)
            .finish()
    }
}

impl ConnectArgs {
    /// Connects to the server these arguments name.
    pub async fn connect(&self) -> anyhow::Result<Client> {
        Client::connect(&self.addr, self.options(None))
            .await
            .map_err(explain)
    }

    /// The server address, parsed.
    pub fn target(&self) -> anyhow::Result<Target> {
        self.addr.parse().map_err(explain)
    }

    /// A channel to the server for a service other than AgentShim (such as health), with the
    /// token interceptor, giving up on connecting after `connect_timeout`.
    pub async fn open_service(
        &self,
        connect_timeout: Duration,
    ) -> anyhow::Result<InterceptedService<Channel, BearerAuth>> {
        let options = self.options(Some(connect_timeout));
        let target = self.target()?;
        let auth = bearer_auth(&target, &options).map_err(explain)?;
        let channel = open_channel(&target, &options).await.map_err(explain)?;
        Ok(InterceptedService::new(channel, auth))
    }

    fn options(&self, connect_timeout: Option<Duration>) -> ConnectOptions {
        ConnectOptions {
            token: self.token.clone().filter(|token| !token.is_empty()),
            tls_ca_file: self.tls_ca.clone(),
            tls_domain: self.tls_domain.clone(),
            connect_timeout,
            ..ConnectOptions::default()
        }
    }
}

/// A client error as one line: a connection failure with its causes.
fn explain(error: ClientError) -> anyhow::Error {
    match error {
        ClientError::Connect { .. } => anyhow::anyhow!(error_chain(&error)),
        error => error.into(),
    }
}

/// The messages of `error` and its sources joined by `": "`, each once.
fn error_chain(error: &dyn std::error::Error) -> String {
    with_causes(error.to_string(), error.source())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer: {0}")]
    struct Outer(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("inner")]
    struct Inner;

    #[test]
    fn a_repeated_cause_is_shown_once() {
        assert_eq!(error_chain(&Outer(Inner)), "outer: inner");
        let connect = ClientError::InvalidTarget {
            target: "x".into(),
            reason: "why".into(),
        };
        assert_eq!(error_chain(&connect), "invalid server address `x`: why");
    }
}
