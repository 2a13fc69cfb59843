//! The `agentshim` command line: one clap subcommand per file. Errors are `anyhow` here (the
//! edge of the program); `main.rs` prints them and picks the exit code.

mod attach_cmd;
mod client_cmds;
mod connect_args;
pub mod event_format;
mod events_cmd;
mod explain_cmd;
mod health;
mod heap_trim;
mod input_cmds;
mod output;
mod record;
mod record_script;
mod recording_cmd;
mod serve;
mod shim;
mod terminal;

use clap::{Parser, Subcommand};

/// Run interactive AI coding agents in PTYs as remote-controllable services.
#[derive(Debug, Parser)]
#[command(name = "agentshim", version, about)]
pub struct Cli {
    /// Log format on stderr (the level comes from RUST_LOG, default `agentshim=info`).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: CliCommand,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Serve many shims over gRPC.
    Serve(serve::ServeArgs),
    /// Run one agent and speak the framed-JSON protocol over an inherited fd or a Unix socket.
    Shim(shim::ShimArgs),
    /// Run a program in a PTY and record its output with timing (asciicast v2), interactively
    /// or driven by a script: fixtures for replay tests.
    Record(record::RecordArgs),
    #[command(flatten)]
    Client(client_cmds::ClientCommand),
    /// Ask a server's grpc.health.v1 service; exits 0 only when it is SERVING.
    Health(health::HealthArgs),
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        CliCommand::Serve(args) => serve::run(args).await,
        CliCommand::Shim(args) => shim::run(args).await,
        CliCommand::Record(args) => record::run(args).await,
        CliCommand::Client(command) => client_cmds::run(command).await,
        CliCommand::Health(args) => health::run(args).await,
    }
}
