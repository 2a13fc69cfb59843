//! `agentshim events [ID] [--follow] [--after SEQ]`: prints a shim's events (or every shim's),
//! one per line; see [`super::event_format`] for the human and `--json` shapes.
//!
//! Without `--follow` it prints what the server retains after SEQ and exits once caught up.
//! "Caught up" is decided before streaming: the command first asks for the newest seq
//! (`GetShim`'s `last_event_seq` for one shim, the largest over `ListShims` for all), then
//! stops after printing the event with that seq (or a lost range reaching it). Events that
//! happen meanwhile are not waited for. Retained events of shims already removed with `rm`
//! only show when a live shim has a newer event, or with `--follow`.
//!
//! With `--follow` it keeps printing live events until interrupted or until the server ends
//! the stream: for one shim, after its `Died` (or when it is removed, or at once for a dead
//! shim that has nothing after SEQ), saying so on stderr. An `EventsLost` envelope (the server evicted events before this stream read
//! them) prints as a gap line naming the lost range.

use clap::Args;

use super::connect_args::ConnectArgs;
use super::event_format::{event_json, event_text};
use super::output::{print_json, print_line};
use crate::client::Client;
use crate::rpc::EventEnvelope;
use crate::rpc::event_envelope::Event;

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Only this shim's events (default: every shim's).
    shim_id: Option<String>,
    /// Keep printing live events until interrupted.
    #[arg(long, short = 'f')]
    follow: bool,
    /// Print only events with a greater seq (0: everything the server still retains).
    #[arg(long, default_value_t = 0, value_name = "SEQ")]
    after: u64,
    #[command(flatten)]
    pub(super) connect: ConnectArgs,
}

/// Runs `agentshim events`.
pub async fn run(args: EventsArgs) -> anyhow::Result<()> {
    let mut client = args.connect.connect().await?;
    let shim_id = args.shim_id.as_deref();
    let caught_up_at = if args.follow {
        None
    } else {
        let newest = newest_seq(&mut client, shim_id).await?;
        if newest <= args.after {
            return Ok(());
        }
        Some(newest)
    };
    let mut events = client.stream_events(shim_id, args.after).await?;
    let mut died = None;
    while let Some(envelope) = events.next_event().await? {
        if let Some(Event::Died(dead)) = &envelope.event {
            died = Some(dead.exit_code);
        }
        let printed = if args.connect.json {
            print_json(&event_json(&envelope))
        } else {
            print_line(&event_text(&envelope))
        };
        match printed {
            Ok(()) => {}
            // The reader went away (`agentshim events | head`): nothing left to do.
            Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            Err(error) => return Err(error.into()),
        }
        if caught_up_at.is_some_and(|newest| reaches(&envelope, newest)) {
            return Ok(());
        }
    }
    if args.follow {
        match (shim_id, died) {
            (Some(shim_id), Some(exit_code)) => {
                let exit_code = exit_code.map_or("unknown".to_owned(), |c| c.to_string());
                eprintln!(
                    "agentshim: shim `{shim_id}` died (exit code {exit_code}): no more events"
                );
            }
            (Some(shim_id), None) => {
                eprintln!(
                    "agentshim: the server ended the events of shim `{shim_id}` (it is dead, \
                     was removed, or the server stopped)"
                )
            }
            (None, _) => eprintln!("agentshim: the server ended the event stream"),
        }
    }
    Ok(())
}

/// The newest seq the server reports for `shim_id` (or for every shim).
async fn newest_seq(client: &mut Client, shim_id: Option<&str>) -> anyhow::Result<u64> {
    Ok(match shim_id {
        Some(shim_id) => client.get_shim(shim_id).await?.last_event_seq,
        None => client
            .list_shims()
            .await?
            .iter()
            .map(|shim| shim.last_event_seq)
            .max()
            .unwrap_or(0),
    })
}

/// Whether `envelope` is (or covers) the event with seq `newest`, or one after it.
fn reaches(envelope: &EventEnvelope, newest: u64) -> bool {
    match &envelope.event {
        Some(Event::EventsLost(lost)) => lost.last_seq >= newest || envelope.seq >= newest,
        _ => envelope.seq >= newest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::{EventsLost, Ready};

    #[test]
    fn caught_up_by_seq_or_by_a_lost_range() {
        let ready = |seq| EventEnvelope {
            seq,
            event: Some(Event::Ready(Ready {})),
            ..EventEnvelope::default()
        };
        assert!(!reaches(&ready(4), 5));
        assert!(reaches(&ready(5), 5));
        assert!(reaches(&ready(6), 5));
        let lost = EventEnvelope {
            seq: 0,
            event: Some(Event::EventsLost(EventsLost {
                first_seq: 1,
                last_seq: 9,
            })),
            ..EventEnvelope::default()
        };
        assert!(reaches(&lost, 5));
        assert!(!reaches(&lost, 10));
    }
}
