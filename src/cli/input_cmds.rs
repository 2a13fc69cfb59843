//! The client commands that answer an agent's questions: `answer SHIM OPTION` picks an option
//! of the question the agent waits on (state `awaiting_input`, announced by an
//! `InputRequested` event) and prints the option's text; `keys SHIM KEYS` types raw input with
//! named keys (`'<Down><Enter>'`, `'y<Enter>'`, `'<C-c>'`). Both take `--json` like the other
//! client commands; refusals exit non-zero with the server's message and status code.

use clap::Args;
use serde_json::json;

use super::connect_args::ConnectArgs;
use super::output::{print_json, print_line};

#[derive(Debug, Args)]
pub struct AnswerArgs {
    /// The shim's id.
    shim_id: String,
    /// The option to pick, 1-based, as numbered by the InputRequested event.
    option: u32,
    #[command(flatten)]
    pub(super) connect: ConnectArgs,
}

#[derive(Debug, Args)]
pub struct KeysArgs {
    /// The shim's id.
    shim_id: String,
    /// Text and named keys: <Enter> <Esc> <Tab> <S-Tab> <BS> <Del> <Space> <Up> <Down> <Left>
    /// <Right> <Home> <End> <PageUp> <PageDown> <F1>..<F12> <C-x> <M-x>; <lt> is a literal `<`.
    #[arg(allow_hyphen_values = true)]
    keys: String,
    #[command(flatten)]
    pub(super) connect: ConnectArgs,
}

/// `agentshim answer SHIM OPTION`: prints the text of the option picked.
pub async fn answer(args: AnswerArgs) -> anyhow::Result<()> {
    let mut client = args.connect.connect().await?;
    let chosen = client.answer(&args.shim_id, args.option).await?;
    if args.connect.json {
        print_json(&json!({"shim_id": args.shim_id, "option": args.option, "chosen": chosen}))?;
    } else {
        print_line(&chosen)?;
    }
    Ok(())
}

/// `agentshim keys SHIM KEYS`: silent on success (a JSON line with `--json`).
pub async fn keys(args: KeysArgs) -> anyhow::Result<()> {
    let mut client = args.connect.connect().await?;
    client.send_keys(&args.shim_id, &args.keys).await?;
    if args.connect.json {
        print_json(&json!({"shim_id": args.shim_id, "keys": args.keys}))?;
    }
    Ok(())
}
