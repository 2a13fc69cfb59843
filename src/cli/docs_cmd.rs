//! `agentshim completions SHELL` and `agentshim man`: shell completions (clap_complete) and
//! man pages (clap_mangen), generated from the same definitions as the command line itself,
//! so they can never disagree with it.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, CommandFactory};

use super::Cli;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell. Bash: `agentshim completions bash >
    /// ~/.local/share/bash-completion/completions/agentshim`.
    shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `agentshim.1` and one page per subcommand (`agentshim-serve.1`, ...) into DIR
    /// instead of printing `agentshim.1`.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
}

pub fn completions(args: &CompletionsArgs) -> anyhow::Result<()> {
    let mut command = Cli::command();
    clap_complete::generate(
        args.shell,
        &mut command,
        "agentshim",
        &mut std::io::stdout(),
    );
    Ok(())
}

pub fn man(args: &ManArgs) -> anyhow::Result<()> {
    let command = Cli::command();
    let Some(dir) = &args.out_dir else {
        let mut page = Vec::new();
        clap_mangen::Man::new(command).render(&mut page)?;
        std::io::stdout().write_all(&page)?;
        return Ok(());
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot make {}", dir.display()))?;
    clap_mangen::generate_to(command, dir)
        .with_context(|| format!("cannot write the man pages into {}", dir.display()))?;
    Ok(())
}
