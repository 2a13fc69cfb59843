//! The `agentshim` binary: parse the command line, set up logging, run, map errors to exit
//! codes. Everything else lives in the library.

use clap::Parser;

use agentshim::cli::{Cli, LogFormat, run};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("agentshim=info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("agentshim: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
