//! The `agentshim` binary: parse the command line, keep the server's secrets from its agents,
//! set up logging, build the runtime (one thread for a shim process), run, map errors to exit
//! codes. Everything else lives in the library.

use clap::Parser;

use agentshim::cli::{Cli, CliCommand, LogFormat, run};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if let Err(error) = protect_secrets(&cli) {
        eprintln!("agentshim: cannot protect the server's memory from its agents: {error}");
        return std::process::ExitCode::FAILURE;
    }
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("agentshim=info"));
    // Colour only for a person reading a terminal who did not ask for none: a shim process
    // logs into a file.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    match cli.log_format() {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    agentshim::shim::process::raise_open_files_limit();
    // A shim process runs one agent: one thread serves it (and leaves the memory of a pool
    // of workers to the server).
    let mut builder = match cli.command {
        CliCommand::Shim(_) => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("agentshim: cannot start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let owns_agents = matches!(cli.command, CliCommand::Shim(_));
    let json_errors = cli.json_errors();
    if matches!(cli.command, CliCommand::Serve(_)) {
        // What owners that are gone (a crashed server's shim processes) left is killed now.
        agentshim::shim::process_tracking::sweep_leftovers();
    }
    let served = runtime.block_on(async {
        // A shim process owns its agent's processes: whatever is left when it returns is
        // killed then.
        let _agents = owns_agents
            .then(agentshim::shim::process_tracking::own_agents)
            .transpose()?;
        run(cli).await
    });
    match served {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            agentshim::cli::print_error(&error, json_errors);
            std::process::ExitCode::FAILURE
        }
    }
}

/// Agents run as the server's uid, so without this they could read the token from
/// `/proc/<server>/environ` or `/proc/<server>/mem`. Must run while the process has one thread.
fn protect_secrets(cli: &Cli) -> nix::Result<()> {
    // clap has copied AGENTSHIM_TOKEN into the arguments; the environment need not keep it.
    // (Agents never inherit it either: the shim removes it from theirs.)
    // SAFETY: no other thread exists yet: nothing before this point starts one, and the
    // runtime, the first thing that does, is built after it.
    unsafe { std::env::remove_var("AGENTSHIM_TOKEN") };
    if matches!(cli.command, CliCommand::Serve(_)) {
        // A process that is not dumpable has its /proc/PID/{environ,mem,maps,fd,...} owned by
        // root and closed to processes without CAP_SYS_PTRACE, the same uid included, and it
        // cannot be ptraced or dump core. Agents become dumpable again when they exec.
        nix::sys::prctl::set_dumpable(false)?;
    }
    Ok(())
}
