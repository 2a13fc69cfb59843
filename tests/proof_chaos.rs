//! Chaos against a real in-process server: many bash shims, many messages, and at random (a
//! seeded generator, so the sequence of operations replays) a Kill, an outside SIGKILL of the
//! agent, a DeleteShim or a Shutdown while messages are queued, typed or running. Every message
//! the server accepted must end in exactly one terminal outcome a client can match by id
//! (Completion, DeliveryFailed or TurnInterrupted), and no outcome may name a message that was
//! never accepted. Short mode in `cargo test`; `scripts/soak.sh` sends 3,000 messages.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use agentshim::client::SendOptions;
use agentshim::rpc::ShutdownReason;
use agentshim::rpc::event_envelope::Event as Pb;
use agentshim::shim::events::LogBounds;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::support::server::{Client, Events, TIMEOUT, TestServer, bash_shim, test_options};
use crate::support::soak;

const SEED: u64 = 0xc4a0_5eed;
/// Shims alive at once; a dead one is replaced by a new one.
const SHIMS: usize = 6;

/// A random way to end a shim, or none.
async fn maybe_end(
    client: &mut Client,
    rng: &mut fastrand::Rng,
    shim: &str,
) -> Option<&'static str> {
    let id = shim.to_owned();
    let how = match rng.u8(0..24) {
        0 => {
            let _ = client.kill(&id).await;
            "kill"
        }
        1 => {
            let info = client.get_shim(&id).await.ok()?;
            let pid = Pid::from_raw(info.pid as i32);
            let _ = kill(pid, Signal::SIGKILL);
            "outside SIGKILL"
        }
        2 => {
            let _ = client.delete_shim(&id).await;
            "delete"
        }
        3 => {
            let timeout = Duration::from_secs(2);
            let _ = client
                .shutdown(&id, timeout, ShutdownReason::Requested)
                .await;
            "shutdown"
        }
        _ => return None,
    };
    Some(how)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_accepted_message_ends_in_exactly_one_outcome_under_chaos() {
    let messages = soak::size(150, 3_000);
    let mut options = test_options();
    options.event_log = LogBounds {
        events: 10_000_000,
        bytes: 1 << 30,
    };
    options.limits.max_shims = 1024;
    let server = TestServer::start(options).await;
    let mut client = server.client().await;
    let mut stream = Events::open(&mut client, "", 0).await;
    let mut rng = fastrand::Rng::with_seed(SEED);
    let (mut live, mut created) = (Vec::new(), 0);
    let mut accepted = HashSet::new();
    let mut endings: BTreeMap<&str, usize> = BTreeMap::new();
    let mut refused = 0;
    for n in 0..messages {
        while live.len() < SHIMS {
            let id = format!("c{created}");
            client.create_shim(bash_shim(&id)).await.expect("create");
            created += 1;
            live.push(id);
        }
        let shim = live[rng.usize(..live.len())].clone();
        let id = format!("m{n}");
        let body = match rng.u8(0..4) {
            0 => format!("sleep 0.{}; echo {id}", rng.u8(1..4)),
            _ => format!("echo {id}"),
        };
        let options = SendOptions {
            from: Some("chaos".into()),
            message_id: Some(id.clone()),
            wait: false,
        };
        match client.send_message(&shim, &body, options).await {
            Ok(_) => {
                accepted.insert(id);
            }
            Err(_) => refused += 1,
        }
        if let Some(how) = maybe_end(&mut client, &mut rng, &shim).await {
            *endings.entry(how).or_default() += 1;
            live.retain(|s| *s != shim);
        }
    }
    for shim in &live {
        client.kill(shim).await.expect("kill");
    }

    // Died is each shim's last event: once all have died, every outcome is in.
    let mut outcomes: BTreeMap<String, Vec<&'static str>> = BTreeMap::new();
    let mut died = 0;
    while died < created {
        let Some(Some(envelope)) = stream.next_within(TIMEOUT).await else {
            panic!(
                "{died} of {created} shims died; outcomes so far: {}",
                outcomes.len()
            );
        };
        let (id, outcome) = match envelope.event {
            Some(Pb::Completion(c)) => (c.message_id, "Completion"),
            Some(Pb::DeliveryFailed(f)) => (Some(f.id), "DeliveryFailed"),
            Some(Pb::TurnInterrupted(t)) => (t.message_id, "TurnInterrupted"),
            Some(Pb::Died(_)) => {
                died += 1;
                continue;
            }
            _ => continue,
        };
        // A Completion without an id is a turn the agent took by itself (none here).
        let id = id.unwrap_or_else(|| format!("(none) at seq {}", envelope.seq));
        outcomes.entry(id).or_default().push(outcome);
    }
    let mut tally: BTreeMap<&str, usize> = BTreeMap::new();
    for kinds in outcomes.values() {
        for kind in kinds {
            *tally.entry(kind).or_default() += 1;
        }
    }
    eprintln!(
        "proof_chaos: seed {SEED:#x}: {messages} sent, {} accepted, {refused} refused, \
         {created} shims, endings {endings:?}, outcomes {tally:?}",
        accepted.len()
    );
    let unanswered: Vec<&String> = accepted
        .iter()
        .filter(|id| !outcomes.contains_key(*id))
        .collect();
    let twice: Vec<_> = outcomes.iter().filter(|(_, k)| k.len() > 1).collect();
    let strangers: Vec<&String> = outcomes
        .keys()
        .filter(|id| !accepted.contains(*id))
        .collect();
    assert!(
        unanswered.is_empty(),
        "accepted, never ended: {unanswered:?}"
    );
    assert!(twice.is_empty(), "more than one outcome: {twice:?}");
    assert!(
        strangers.is_empty(),
        "outcomes of messages never accepted: {strangers:?}"
    );
    assert!(
        accepted.len() > messages / 2,
        "too few accepted to prove anything"
    );
}
