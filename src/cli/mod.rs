//! The `agentshim` command line: one clap subcommand per file. Errors are `anyhow` here (the
//! edge of the program); `main.rs` prints them and picks the exit code.

mod serve;
mod shim;

use clap::{Parser, Subcommand};

/// Run interactive AI coding agents in PTYs as remote-controllable services.
#[derive(Debug, Parser)]
#[command(name = "agentshim", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: CliCommand,
}

#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Serve many shims over gRPC.
    Serve(serve::ServeArgs),
    /// Run one agent and speak the framed-JSON protocol over an inherited fd or a Unix socket.
    Shim(shim::ShimArgs),
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        CliCommand::Serve(args) => serve::run(args).await,
        CliCommand::Shim(args) => shim::run(args).await,
    }
}
