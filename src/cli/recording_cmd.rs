//! `agentshim recording SHIM [-o FILE]`: the recording of a recorded shim (asciicast v2) as it
//! is now, written to FILE or stdout, ready for `asciinema play`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use super::connect_args::ConnectArgs;

#[derive(Debug, Args)]
pub struct RecordingArgs {
    /// The shim's id.
    shim_id: String,
    /// Write the recording to this file (default: stdout).
    #[arg(short, long, value_name = "FILE")]
    out: Option<PathBuf>,
    #[command(flatten)]
    pub(super) connect: ConnectArgs,
}

pub async fn run(args: RecordingArgs) -> anyhow::Result<()> {
    let mut chunks = args
        .connect
        .connect()
        .await?
        .get_recording(&args.shim_id)
        .await?;
    let mut out: Box<dyn tokio::io::AsyncWrite + Unpin> = match &args.out {
        Some(path) => Box::new(
            tokio::fs::File::create(path)
                .await
                .with_context(|| format!("cannot write {}", path.display()))?,
        ),
        None => Box::new(tokio::io::stdout()),
    };
    let mut bytes = 0;
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.context("the recording stopped coming")?;
        out.write_all(&chunk.data).await?;
        bytes += chunk.data.len();
    }
    out.flush().await?;
    if let Some(path) = &args.out {
        eprintln!("agentshim: wrote {bytes} bytes to {}", path.display());
    }
    Ok(())
}
