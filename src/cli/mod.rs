//! The `agentshim` command line: one clap subcommand per file. Errors are `anyhow` here (the
//! edge of the program); `main.rs` prints them and picks the exit code.

mod attach_cmd;
mod client_cmds;
mod connect_args;
mod docs_cmd;
pub mod event_format;
mod events_cmd;
mod explain_cmd;
mod health;
mod heap_trim;
mod input_cmds;
mod mcp_cmd;
pub(crate) mod output;
mod record;
mod record_script;
mod recording_cmd;
mod send_progress;
mod serve;
mod shim;
mod terminal;

use clap::{Parser, Subcommand};

/// Run interactive AI coding agents in PTYs as remote-controllable services.
#[derive(Debug, Parser)]
#[command(name = "agentshim", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: CliCommand,
}

impl Cli {
    /// How the command logs: as `--log-format` says for the commands that log (`serve`,
    /// `shim`), as text for the others.
    pub fn log_format(&self) -> LogFormat {
        match &self.command {
            CliCommand::Serve(args) => args.log_format,
            CliCommand::Shim(args) => args.log_format,
            _ => LogFormat::Text,
        }
    }

    /// Whether errors are printed as JSON (`--json`).
    pub fn json_errors(&self) -> bool {
        match &self.command {
            CliCommand::Client(command) => command.json(),
            _ => false,
        }
    }
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
    /// Serve a server's shims as MCP tools over stdio (for agents that drive agents).
    Mcp(mcp_cmd::McpArgs),
    /// Ask a server's grpc.health.v1 service; exits 0 only when it is SERVING.
    Health(health::HealthArgs),
    /// Print the shell completion script for SHELL.
    Completions(docs_cmd::CompletionsArgs),
    /// Print the man page (roff), or write one per subcommand with --out-dir.
    Man(docs_cmd::ManArgs),
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        CliCommand::Serve(args) => serve::run(args).await,
        CliCommand::Shim(args) => shim::run(args).await,
        CliCommand::Record(args) => record::run(args).await,
        CliCommand::Client(command) => client_cmds::run(command).await,
        CliCommand::Mcp(args) => mcp_cmd::run(args).await,
        CliCommand::Health(args) => health::run(args).await,
        CliCommand::Completions(args) => docs_cmd::completions(&args),
        CliCommand::Man(args) => docs_cmd::man(&args),
    }
}

/// Prints why the command failed on stderr: `agentshim: ERROR: CAUSE...` (each cause once),
/// or with `json`, one JSON object `{"error": ..., "code": ...}` whose `code` is the gRPC
/// status code (`NOT_FOUND`, ...) of a refusal by the server, `null` for other failures.
pub fn print_error(error: &anyhow::Error, json: bool) {
    let text = crate::client::with_causes(error.to_string(), error.source());
    if json {
        let code = error
            .chain()
            .find_map(|cause| cause.downcast_ref::<crate::client::ClientError>())
            .and_then(crate::client::ClientError::code)
            .map(output::status_code_name);
        eprintln!("{}", serde_json::json!({"error": text, "code": code}));
    } else {
        eprintln!("agentshim: {text}");
    }
}
