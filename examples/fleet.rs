//! Drives shims on several agentshim servers at once: the orchestrator side of a fleet.
//!
//! ```text
//! AGENTSHIM_TOKEN=... cargo run --example fleet -- \
//!     --server http://10.0.0.5:50051 --server https://10.0.0.6:50051 --tls-ca ca.pem \
//!     --message 'echo hello' --message 'uname -n'
//! ```
//!
//! For every `--server` it connects (bearer token from `--token` or `AGENTSHIM_TOKEN`, TLS trust
//! from `--tls-ca` for `https://` servers, an HTTP/2 keepalive so a cut link is noticed),
//! creates a shim of `--profile` (`shell` unless told otherwise) and follows that shim's events
//! with a [`ResumableEvents`](agentshim::client::ResumableEvents). As soon as a shim is ready,
//! its messages go out; the servers are driven concurrently. The events of every server are
//! printed merged as they arrive, one line each, prefixed with the server's address. Once every
//! shim has answered every message, the shims are deleted and the example exits.
//!
//! A server that drops out is reported (`disconnected: ...`) and retried with backoff while the
//! others go on; when it is back, its stream resumes after the last seq seen, or says that the
//! server restarted (its boot id changed, so the shim is gone). `tests/multi_host.rs` runs this
//! example against two servers in their own network namespaces, one of them with TLS.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use agentshim::cli::event_format::event_text;
use agentshim::client::{Client, ConnectOptions, NewShim, ResumeItem, ResumeOptions, SendOptions};
use agentshim::rpc::event_envelope::Event;
use anyhow::{Context, bail};
use clap::Parser;
use futures_util::StreamExt;
use tokio::task::JoinSet;

/// Drive one shim on each of several agentshim servers.
#[derive(Debug, Parser)]
pub struct FleetArgs {
    /// A server to drive (repeat for several): http://HOST:PORT, https://HOST:PORT, unix:/PATH.
    #[arg(long = "server", required = true, value_name = "ADDR")]
    pub servers: Vec<String>,
    /// Bearer token of the servers.
    #[arg(long, env = "AGENTSHIM_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// PEM file with the CA that signed the TLS servers' certificates.
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// The profile of the shim made on each server.
    #[arg(long, default_value = "shell")]
    pub profile: String,
    /// A message for every shim (repeat for several; each shim gets them in order).
    #[arg(long = "message", default_value = "echo hello from agentshim")]
    pub messages: Vec<String>,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 120)]
    pub timeout_secs: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    run(FleetArgs::parse(), &mut std::io::stdout()).await
}

/// One server and the shim made on it.
struct Host {
    addr: String,
    client: Client,
    shim_id: String,
    /// The server process the shim lives on.
    boot_id: String,
    /// Messages sent but not answered yet.
    unanswered: usize,
}

/// Runs the example; the merged event lines go to `out`.
pub async fn run(args: FleetArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let options = ConnectOptions {
        token: args.token.clone(),
        tls_ca_file: args.tls_ca.clone(),
        keepalive: Some(Duration::from_secs(5)),
        ..ConnectOptions::default()
    };
    let (options, args) = (&options, &args);
    let connecting = args.servers.iter().map(|addr| async move {
        let mut client = Client::connect(addr, options.clone())
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        let shim = client
            .create_shim(NewShim::profile(&args.profile))
            .await
            .with_context(|| format!("creating a shim on {addr}"))?;
        anyhow::Ok(Host {
            addr: addr.clone(),
            client,
            shim_id: shim.id,
            boot_id: shim.boot_id,
            unanswered: args.messages.len(),
        })
    });
    let mut hosts = futures_util::future::try_join_all(connecting).await?;

    // Every shim's events, all servers merged, each tagged with its server's index.
    let streams = hosts.iter().enumerate().map(|(index, host)| {
        host.client
            .resumable_events(Some(&host.shim_id), 0, ResumeOptions::default())
            .expecting_boot_id(&host.boot_id)
            .into_stream()
            .map(move |item| (index, item))
    });
    let mut merged = futures_util::stream::select_all(streams);
    let mut senders = JoinSet::new();
    let deadline = tokio::time::sleep(Duration::from_secs(args.timeout_secs));
    tokio::pin!(deadline);
    while hosts.iter().any(|host| host.unanswered > 0) {
        let (index, item) = tokio::select! {
            item = merged.next() => item.context("every event stream ended")?,
            () = &mut deadline => bail!("not every message was answered within {}s", args.timeout_secs),
        };
        let host = &mut hosts[index];
        match item {
            ResumeItem::Event(envelope) => {
                for line in event_text(&envelope).lines() {
                    writeln!(out, "[{}] {line}", host.addr)?;
                }
                match &envelope.event {
                    // Ready: the shim takes messages now; send them, each after the last answer.
                    Some(Event::Ready(_)) => {
                        let (client, shim_id) = (host.client.clone(), host.shim_id.clone());
                        senders.spawn(send_in_order(client, shim_id, args.messages.clone()));
                    }
                    Some(Event::Completion(done))
                        if done
                            .message_id
                            .as_deref()
                            .is_some_and(|id| id.starts_with("fleet-")) =>
                    {
                        host.unanswered = host.unanswered.saturating_sub(1);
                    }
                    _ => {}
                }
            }
            ResumeItem::Ended { error } => bail!("{}: event stream ended: {error}", host.addr),
            other => writeln!(out, "[{}] {}", host.addr, describe(&other))?,
        }
    }
    while let Some(sent) = senders.join_next().await {
        sent??;
    }
    for host in &mut hosts {
        host.client.delete_shim(&host.shim_id).await?;
    }
    Ok(())
}

/// Sends `messages` to the shim one after the other, each waiting for its answer.
async fn send_in_order(
    mut client: Client,
    shim_id: String,
    messages: Vec<String>,
) -> anyhow::Result<()> {
    for (index, body) in messages.iter().enumerate() {
        let options = SendOptions {
            from: Some("fleet-example".into()),
            message_id: Some(format!("fleet-{index}")),
            wait: true,
        };
        client
            .send_message(&shim_id, body, options)
            .await
            .with_context(|| format!("sending {body:?} to {shim_id}"))?;
    }
    Ok(())
}

/// One line for a connection change.
fn describe(item: &ResumeItem) -> String {
    match item {
        ResumeItem::Connected { boot_id } => format!("connected (boot id {boot_id:?})"),
        ResumeItem::Disconnected {
            error, retry_in, ..
        } => format!("disconnected: {error}; retrying in {retry_in:?}"),
        ResumeItem::Resumed {
            after_seq, outage, ..
        } => format!("resumed after seq {after_seq} ({outage:?} without a stream)"),
        ResumeItem::ServerRestarted { last_seq, .. } => {
            format!("the server restarted: events after seq {last_seq} are gone")
        }
        ResumeItem::Event(_) | ResumeItem::Ended { .. } => String::new(),
    }
}
