//! `agentshim record`: runs a program in a PTY, spawned exactly as a shim spawns its agent
//! (`shim::process::spawn`: own session, `TERM=xterm-256color`), and writes everything it prints,
//! with timing, to an asciicast v2 file ([`crate::asciicast`]). Such recordings are the fixtures of
//! the replay tests, which feed them through agentshim's screen and a driver.
//!
//! Two ways to drive the program:
//! - interactive (the default): this terminal is attached in raw mode, keys go to the program,
//!   its output to the screen, and the terminal's size follows this one's;
//! - `--script FILE`: steps that wait for text on the screen and type messages the way agentshim
//!   types them (`record_script.rs`); terminal queries are answered by agentshim's screen, as
//!   under a shim.
//!
//! The recording ends when the program exits (or, with a script, after its last step; the
//! program's whole session is then killed).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::record_script::Script;
use super::terminal::{RawMode, stdin_keys, terminal_size};
use crate::asciicast::Cast;
use crate::shim::process::{self, AgentProcess, ProcessSpec};
use crate::shim::{AgentKind, DEFAULT_COLS, DEFAULT_ROWS};

/// How long output is still recorded after the program exited.
pub(super) const EXIT_DRAIN: Duration = Duration::from_millis(500);

#[derive(Debug, Args)]
pub struct RecordArgs {
    /// The asciicast v2 file to write.
    #[arg(short, long, value_name = "FILE")]
    out: PathBuf,
    /// Drive the program with the steps in this file instead of the keyboard: `wait TEXT`,
    /// `gone TEXT`, `quiet SECS`, `sleep SECS`, `type TEXT`, `key NAME...`, `exit`,
    /// `timeout SECS` (TEXT is the rest of the line, or a JSON string).
    #[arg(long, value_name = "FILE")]
    script: Option<PathBuf>,
    /// Terminal rows (default: this terminal's, or 50 with --script).
    #[arg(long)]
    rows: Option<u16>,
    /// Terminal columns (default: this terminal's, or 220 with --script).
    #[arg(long)]
    cols: Option<u16>,
    /// Working directory of the program.
    #[arg(long)]
    cwd: Option<PathBuf>,
    /// Environment variable for the program, KEY=VALUE (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = super::shim::parse_env)]
    env: Vec<(String, String)>,
    /// Title written into the recording's header.
    #[arg(long)]
    title: Option<String>,
    /// Start the program as a shim of this agent kind would with its turn signals (an
    /// interactive bash gets its semantic prompt marks, Claude Code its hooks, Codex its
    /// notify program), so the recording holds what the shim would see.
    #[arg(long, value_name = "KIND")]
    agent: Option<AgentKind>,
    /// The program and its arguments.
    #[arg(last = true, required = true, value_name = "PROGRAM [ARGS]...")]
    program: Vec<String>,
}

/// What goes to the program: bytes, or a new terminal size.
pub(super) enum ToPty {
    Bytes(Vec<u8>),
    Resize(u16, u16),
}

pub async fn run(args: RecordArgs) -> anyhow::Result<()> {
    let script = args.script.as_deref().map(Script::load).transpose()?;
    let terminal = terminal_size();
    if script.is_none() && terminal.is_none() {
        bail!("stdin is not a terminal: record interactively from a terminal, or give --script");
    }
    let (rows, cols) = terminal.unwrap_or((DEFAULT_ROWS, DEFAULT_COLS));
    let size = (args.rows.unwrap_or(rows), args.cols.unwrap_or(cols));
    let (program, program_args) = args.program.split_first().context("no program given")?;
    let mut spec = ProcessSpec {
        program: program.into(),
        args: program_args.iter().map(Into::into).collect(),
        cwd: args.cwd.clone(),
        env_set: args.env.iter().map(|(k, v)| (k.into(), v.into())).collect(),
        env_remove: Vec::new(),
        rows: size.0,
        cols: size.1,
        files: Vec::new(),
    };
    if let Some(agent) = args.agent {
        agent.driver().prepare_process(&mut spec);
    }
    let mut cast = Cast::create(
        &args.out,
        size,
        &args.program.join(" "),
        args.title.as_deref(),
        std::time::Instant::now(),
        u64::MAX,
    )
    .with_context(|| format!("cannot write {}", args.out.display()))?;
    let (pty, process) = process::spawn(&spec).context("cannot start the program")?;
    let (reader, writer) = pty.into_split();
    let to_pty = spawn_writer(writer);
    let outcome = match script {
        Some(script) => script.run(size, reader, to_pty, process, &mut cast).await,
        None => interactive(reader, to_pty, process, &mut cast).await,
    };
    let events = cast.finish()?;
    eprintln!(
        "agentshim: recorded {events} events to {}",
        args.out.display()
    );
    outcome
}

/// Writes to the program from its own task, so a program that does not read never stalls the
/// recording of its output.
fn spawn_writer(mut writer: pty_process::OwnedWritePty) -> mpsc::UnboundedSender<ToPty> {
    let (to_pty, mut from_recorder) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(item) = from_recorder.recv().await {
            match item {
                ToPty::Bytes(bytes) => {
                    if writer.write_all(&bytes).await.is_err() {
                        break;
                    }
                }
                ToPty::Resize(rows, cols) => {
                    let _ = writer.resize(pty_process::Size::new(rows, cols));
                }
            }
        }
    });
    to_pty
}

/// Notes the program's exit (reaping it and whatever it left in its session).
pub(super) fn exited(process: &AgentProcess, status: std::io::Result<std::process::ExitStatus>) {
    process.kill_session();
    match status.ok().and_then(process::exit_code) {
        Some(code) => eprintln!("agentshim: the program exited with {code}"),
        None => eprintln!("agentshim: the program exited"),
    }
}

async fn interactive(
    mut reader: pty_process::OwnedReadPty,
    to_pty: mpsc::UnboundedSender<ToPty>,
    mut process: AgentProcess,
    cast: &mut Cast,
) -> anyhow::Result<()> {
    let _raw = RawMode::enable()?;
    let mut keys = stdin_keys();
    let mut resized = signal(SignalKind::window_change())?;
    let mut stdout = tokio::io::stdout();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut drain_until = None;
    loop {
        tokio::select! {
            read = reader.read(&mut buffer) => match read {
                Ok(n) if n > 0 => {
                    cast.output(std::time::Instant::now(), &buffer[..n])?;
                    stdout.write_all(&buffer[..n]).await?;
                    stdout.flush().await?;
                }
                // End of file, or EIO once the program and its children are gone.
                _ => return Ok(()),
            },
            Some(bytes) = keys.recv() => {
                cast.input(std::time::Instant::now(), &bytes)?;
                let _ = to_pty.send(ToPty::Bytes(bytes));
            }
            _ = resized.recv() => if let Some((rows, cols)) = terminal_size() {
                cast.resize(std::time::Instant::now(), rows, cols)?;
                let _ = to_pty.send(ToPty::Resize(rows, cols));
            },
            status = process.wait(), if drain_until.is_none() => {
                exited(&process, status);
                drain_until = Some(Instant::now() + EXIT_DRAIN);
            }
            () = tokio::time::sleep_until(drain_until.unwrap_or_else(Instant::now)),
                if drain_until.is_some() => return Ok(()),
        }
    }
}
