//! The link between a host and a shim process (`agentshim::server::link` on one side,
//! `agentshim shim --socket` on the other): a linked handle answers every call as a shim in
//! the host's own process would, refusals keep their kind, events arrive in the host's log
//! under the shim's id with the time the shim emitted them; a new link from the last cursor
//! gets exactly what happened while no host was linked (nothing lost, nothing twice); and a
//! shim process that breaks the protocol or goes away gives precise errors, never a hang. A
//! status lookup is answered from the status the shim published while that is current, and is
//! a call otherwise. A shim process started from a spec file (`--spec`, as a host starts one)
//! keeps every setting.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use agentshim::protocol::Channel;
use agentshim::protocol::codec::JsonFrameCodec;
use agentshim::protocol::link::{Call, CallReply, LINK_VERSION};
use agentshim::protocol::{Command, Event, ShimState, ShutdownReason};
use agentshim::server::link::{CALL_TIMEOUT, LinkError, LinkedShim, UNANSWERED, link};
use agentshim::shim::events::EventLog;
use agentshim::shim::{MessageLimits, ShimError};
use futures_util::{SinkExt, StreamExt};
use tokio::net::UnixListener;
use tokio_util::codec::Framed;

use crate::support::eventually::{eventually, eventually_async};
use crate::support::shim::{EventReader, bash_spec};
use crate::support::shim_socket::{self, ShimProcess, SocketShim};

/// Links the host log `events` to the shim process on `socket`, from `after_seq`.
async fn link_to(socket: &Path, events: &Arc<EventLog>, after_seq: u64) -> LinkedShim {
    eventually(
        || format!("no socket at {socket:?}"),
        || socket.exists().then_some(()),
    )
    .await;
    link(socket, Arc::from("linked"), Arc::clone(events), after_seq)
        .await
        .expect("link")
}

#[tokio::test]
async fn a_linked_shim_process_answers_every_call_as_a_shim_in_process_does() {
    let shim = SocketShim::start(&[]);
    let events = EventLog::new(1000);
    let linked = link_to(&shim.path, &events, 0).await;
    assert_eq!(linked.version, LINK_VERSION);
    let mut reader = EventReader::new(&linked.handle);
    reader.ready().await;
    let handle = &linked.handle;

    let status = handle.status().await.unwrap();
    assert_eq!(status.pid, linked.pid);
    assert_eq!(status.state.state, ShimState::Idle);
    assert_eq!(status.last_event_seq, events.last_seq());

    let receipt = handle
        .send_message("test", "echo linked-$((6*7))", Some("m1".into()))
        .await
        .unwrap();
    assert_eq!((receipt.id.as_str(), receipt.queued), ("m1", false));
    assert!(reader.completion_of("m1").await.contains("linked-42"));

    let capture = handle.capture(None).await.unwrap();
    assert!(capture.content.contains("linked-42"), "{}", capture.content);
    assert_eq!((capture.rows, capture.cols), (50, 220));
    handle.resize(20, 60).await.unwrap();
    let capture = handle.capture(Some(3)).await.unwrap();
    assert_eq!((capture.rows, capture.cols), (20, 60));

    handle
        .send_keys("echo keyed-$((2+2))<Enter>")
        .await
        .unwrap();
    eventually_async(
        || "the typed keys ran".into(),
        async || {
            let capture = handle.capture(None).await.unwrap();
            capture.content.contains("keyed-4").then_some(())
        },
    )
    .await;
    handle.ping().await.unwrap();
    let explanation = handle.explain().await.unwrap();
    assert!(!explanation.decisions.is_empty());
    assert!(
        explanation
            .decisions
            .iter()
            .all(|d| !d.cause.to_string().is_empty())
    );

    // Refusals keep their kind over the link.
    let body = "x".repeat(300 * 1024);
    match handle.send_message("test", body, Some("big".into())).await {
        Err(refused) => assert!(
            matches!(&refused.error, ShimError::TooLarge { what, .. } if what == "message body"),
            "{refused:?}"
        ),
        Ok(receipt) => panic!("an oversize body was accepted: {receipt:?}"),
    }
    handle
        .send_message("test", "sleep 2", Some("m2".into()))
        .await
        .unwrap();
    match handle.send_message("test", "true", Some("m2".into())).await {
        Err(refused) => assert!(
            matches!(refused.error, ShimError::DuplicateMessage(ref id) if id == "m2"),
            "{refused:?}"
        ),
        Ok(receipt) => panic!("a duplicate id was accepted: {receipt:?}"),
    }

    // Every event is the shim's, in the host's order, stamped when the shim emitted it.
    let exit_code = handle.kill().await.unwrap();
    assert_eq!(exit_code, Some(137));
    reader.state(ShimState::Dead).await;
    let status = handle.status().await.unwrap();
    assert_eq!(status.state.state, ShimState::Dead);
    assert_eq!(status.last_event_seq, events.last_seq());
    let envelopes: Vec<_> = reader.seen.iter().collect();
    assert!(envelopes.iter().all(|e| &*e.shim_id == "linked"));
    assert!(envelopes.windows(2).all(|w| w[1].seq == w[0].seq + 1));
    assert!(envelopes.windows(2).all(|w| w[1].unix_ms >= w[0].unix_ms));
}

#[tokio::test]
async fn a_new_link_gets_what_happened_while_none_was_linked_exactly_once() {
    let shim = SocketShim::start(&[]);
    let first_log = EventLog::new(1000);
    let first = link_to(&shim.path, &first_log, 0).await;
    let mut reader = EventReader::new(&first.handle);
    reader.ready().await;
    first
        .handle
        .send_message("test", "echo before", Some("m1".into()))
        .await
        .unwrap();
    reader.completion_of("m1").await;
    let cursor = first.cursor();
    drop(first);

    // While no host is linked, a plain client has a turn of its own.
    let (mut client, _) = shim.connect();
    shim_socket::send(&mut client, "m2", "echo while-away");
    assert!(shim_socket::completion(&mut client, "m2").contains("while-away"));

    // A restarted host links from its cursor into a fresh log.
    let second_log = EventLog::new(1000);
    let second = link_to(&shim.path, &second_log, cursor).await;
    let mut reader = EventReader::new(&second.handle);
    assert!(reader.completion_of("m2").await.contains("while-away"));
    second
        .handle
        .send_message("test", "echo after", Some("m3".into()))
        .await
        .unwrap();
    reader.completion_of("m3").await;
    let completions: Vec<_> = reader
        .events()
        .filter_map(|e| match e {
            Event::Completion { message_id, .. } => message_id.clone(),
            _ => None,
        })
        .collect();
    assert_eq!(completions, ["m2", "m3"]);
    assert!(
        !reader
            .events()
            .any(|e| matches!(e, Event::Ready | Event::Warning { .. })),
        "{}",
        reader.describe()
    );
    let status = second.handle.status().await.unwrap();
    assert_eq!(second.cursor(), cursor + second_log.last_seq());
    assert_eq!(status.last_event_seq, second_log.last_seq());
}

#[tokio::test]
async fn a_shim_process_started_from_a_spec_file_keeps_every_setting() {
    let dir = tempfile::tempdir().unwrap();
    let spec = bash_spec("from-spec")
        .size(24, 80)
        .queue_capacity(1)
        .message_limits(MessageLimits {
            max_body_bytes: 64,
            max_id_bytes: 40,
        });
    let spec_file = dir.path().join("spec.json");
    std::fs::write(&spec_file, serde_json::to_vec(&spec).unwrap()).unwrap();
    let socket = dir.path().join("shim.sock");
    let mut command = shim_socket::bare_shim_command();
    command
        .arg("--spec")
        .arg(&spec_file)
        .arg("--socket")
        .arg(&socket);
    let _process = ShimProcess(command.spawn().unwrap());
    let events = EventLog::new(100);
    let linked = link_to(&socket, &events, 0).await;
    assert_eq!(linked.shim_id, "from-spec");
    let mut reader = EventReader::new(&linked.handle);
    reader.ready().await;
    let handle = &linked.handle;
    let capture = handle.capture(None).await.unwrap();
    assert_eq!((capture.rows, capture.cols), (24, 80));
    let refused = handle
        .send_message("test", "x".repeat(65), None)
        .await
        .unwrap_err();
    assert!(
        matches!(refused.error, ShimError::TooLarge { limit: 64, .. }),
        "{refused:?}"
    );
    handle
        .send_message("test", "sleep 5", Some("m1".into()))
        .await
        .unwrap();
    let queued = handle.send_message("test", "true", Some("m2".into()));
    assert!(queued.await.unwrap().queued);
    let refused = handle
        .send_message("test", "true", Some("m3".into()))
        .await
        .unwrap_err();
    assert!(
        matches!(refused.error, ShimError::QueueFull { capacity: 1 }),
        "{refused:?}"
    );
    handle.kill().await.unwrap();
}

#[tokio::test]
async fn a_shim_spec_file_that_does_not_parse_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let spec_file = dir.path().join("spec.json");
    std::fs::write(&spec_file, br#"{"id": "x", "agent": "no-such-agent"}"#).unwrap();
    let output = shim_socket::bare_shim_command()
        .arg("--spec")
        .arg(&spec_file)
        .arg("--socket")
        .arg(dir.path().join("shim.sock"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is not a shim spec"), "{stderr}");
    assert!(
        stderr.contains("unknown agent kind `no-such-agent`"),
        "{stderr}"
    );
}

#[tokio::test]
async fn plain_clients_never_push_a_link_out() {
    let shim = SocketShim::start(&["--max-clients", "1"]);
    let events = EventLog::new(100);
    let linked = link_to(&shim.path, &events, 0).await;
    let (mut first, _) = shim.connect();
    shim_socket::ping(&mut first);
    // The second plain client takes the first one's place; the link stays.
    let (mut second, _) = shim.connect();
    shim_socket::ping(&mut second);
    shim_socket::wait_for(
        &mut first,
        "the Error that displaces it",
        |e| matches!(e, Event::Error { reason, .. } if reason.contains("make room")),
    );
    linked.handle.ping().await.unwrap();
}

#[tokio::test]
async fn a_cursor_ahead_of_the_shim_is_refused() {
    let shim = SocketShim::start(&[]);
    let events = EventLog::new(10);
    link_to(&shim.path, &events, 0).await; // waits for the socket
    match link(&shim.path, Arc::from("ahead"), events, 1_000_000).await {
        Err(LinkError::Refused(reason)) => assert!(reason.contains("ahead"), "{reason}"),
        other => panic!("a cursor ahead was accepted: {other:?}"),
    }
}

/// A shim process of the test's own making, speaking frames by hand.
struct FakeShim {
    listener: UnixListener,
    path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

type FakeConnection = Framed<tokio::net::UnixStream, JsonFrameCodec<Command>>;

impl FakeShim {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fake.sock");
        let listener = UnixListener::bind(&path).unwrap();
        Self {
            listener,
            path,
            _dir: dir,
        }
    }

    /// A host's link to this shim, into a log of its own, and the shim's end of it.
    async fn linked(&self) -> (LinkedShim, FakeConnection) {
        let events = EventLog::new(100);
        let (linked, connection) = tokio::join!(
            link(&self.path, Arc::from("fake"), events, 0),
            self.accept_link()
        );
        (linked.expect("link"), connection)
    }

    /// Accepts the host's connection and answers its `Link` with `Linked` and, as a shim of
    /// link version 2 does, its status (version 1: idle, nothing queued, no event yet).
    async fn accept_link(&self) -> FakeConnection {
        let (stream, _) = self.listener.accept().await.unwrap();
        let mut connection = Framed::new(stream, JsonFrameCodec::<Command>::new());
        match connection.next().await {
            Some(Ok(Ok(Command::Link { .. }))) => {}
            other => panic!("no Link: {other:?}"),
        }
        let linked = Event::Linked {
            version: LINK_VERSION,
            shim_id: "fake".into(),
            pid: 4242,
            last_seq: 0,
        };
        connection.send(&linked).await.unwrap();
        connection.send(&published(1, 0, 0)).await.unwrap();
        connection
    }
}

/// The next call the host makes, with its id.
async fn next_call(connection: &mut FakeConnection) -> (u64, Call) {
    match connection.next().await {
        Some(Ok(Ok(Command::Call { call_id, call }))) => (call_id, call),
        other => panic!("no Call: {other:?}"),
    }
}

fn logged(seq: u64, event: Event) -> Event {
    Event::Logged {
        seq,
        unix_ms: 1_700_000_000_000 + seq,
        emitted: Box::new(event),
    }
}

#[tokio::test]
async fn a_shim_process_that_vanishes_mid_call_fails_the_call_and_ends_the_link() {
    let fake = FakeShim::new();
    let (linked, mut connection) = fake.linked().await;
    assert_eq!(linked.pid, 4242);
    let handle = linked.handle.clone();
    let ping = tokio::spawn(async move { handle.ping().await });
    let (_, call) = next_call(&mut connection).await;
    assert_eq!(call, Call::Ping);
    drop(connection);
    match ping.await.unwrap() {
        Err(ShimError::LinkLost(reason)) => assert!(reason.contains("closed"), "{reason}"),
        other => panic!("the call did not fail with the link: {other:?}"),
    }
    assert!(linked.ended().await.contains("closed its socket"));
    assert!(matches!(
        linked.handle.ping().await,
        Err(ShimError::ShimGone)
    ));
    // Its agent is gone with it, and the log says so: why, then `Died` without a code.
    let mut reader = EventReader::new(&linked.handle);
    match reader.next().await {
        Event::Warning { message, .. } => {
            assert!(message.contains("the shim process is gone"), "{message}")
        }
        other => panic!("no warning: {other:?}"),
    }
    let died = reader.next().await;
    assert!(
        matches!(&died, Event::Died { exit_code: None, last_lines } if last_lines.is_empty()),
        "{died:?}"
    );
}

#[tokio::test]
async fn what_describes_a_completion_stays_next_to_it_in_a_shared_log() {
    let fake = FakeShim::new();
    let (linked, mut connection) = fake.linked().await;
    let log = Arc::clone(linked.handle.event_log());
    let exited = Event::CommandExited {
        message_id: Some("m".into()),
        exit_code: 3,
    };
    // A ping answered after the CommandExited: once it is, the link has read that event.
    let handle = linked.handle.clone();
    let ping = tokio::spawn(async move { handle.ping().await });
    let (call_id, _) = next_call(&mut connection).await;
    connection.send(&logged(1, exited.clone())).await.unwrap();
    let done = Event::Reply {
        call_id,
        reply: CallReply::Done,
        status_version: None,
    };
    connection.send(&done).await.unwrap();
    ping.await.unwrap().expect("ping");
    // Another shim of the host's log appends while the Completion is still on its way.
    let mut all = log.subscribe(0, None);
    log.append(&Arc::from("other"), Event::Ready);
    let completion = Event::Completion {
        message_id: Some("m".into()),
        response: "r".into(),
        last_lines: String::new(),
    };
    connection
        .send(&logged(2, completion.clone()))
        .await
        .unwrap();
    let mut order = Vec::new();
    while order.len() < 3 {
        match all.next().await {
            Some(agentshim::shim::events::LogItem::Event(envelope)) => {
                order.push(format!("{} {:?}", envelope.shim_id, envelope.event))
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        order[1..],
        [format!("fake {exited:?}"), format!("fake {completion:?}")]
    );
    eventually(
        || "the cursor at 2".into(),
        || (linked.cursor() == 2).then_some(()),
    )
    .await;
}

#[tokio::test]
async fn a_wrong_reply_fails_its_call_precisely_and_lost_events_are_named() {
    let fake = FakeShim::new();
    let (linked, mut connection) = fake.linked().await;
    let mut reader = EventReader::new(&linked.handle);

    let handle = linked.handle.clone();
    let ping = tokio::spawn(async move { handle.ping().await });
    let (call_id, _) = next_call(&mut connection).await;
    let wrong = CallReply::Answered { text: "yes".into() };
    let reply = Event::Reply {
        call_id,
        reply: wrong,
        status_version: None,
    };
    connection.send(&reply).await.unwrap();
    match ping.await.unwrap() {
        Err(ShimError::LinkLost(reason)) => {
            assert!(reason.contains("a ping call with answered"), "{reason}")
        }
        other => panic!("a wrong reply was taken: {other:?}"),
    }

    // Seq 1, a repeat of 1, a jump to 4, then an evicted range: every loss is a Warning.
    for frame in [
        logged(1, Event::Ready),
        logged(1, Event::Ready),
        logged(4, Event::Pong),
        Event::EventsLost {
            first_lost: 5,
            last_lost: 9,
        },
        logged(10, Event::Ready),
    ] {
        connection.send(&frame).await.unwrap();
    }
    let mut seen = Vec::new();
    for _ in 0..5 {
        let envelope = reader.next_envelope().await;
        seen.push((envelope.unix_ms, envelope.event.clone()));
    }
    let names: Vec<_> = seen.iter().map(|(_, e)| e.name()).collect();
    assert_eq!(names, ["Ready", "Warning", "Pong", "Warning", "Ready"]);
    assert_eq!(seen[0].0, 1_700_000_000_001);
    let warning = |i: usize| match &seen[i].1 {
        Event::Warning { message, .. } => message.clone(),
        _ => unreachable!(),
    };
    assert!(warning(1).contains("events 2..=3"), "{}", warning(1));
    assert!(warning(3).contains("events 5..=9"), "{}", warning(3));
    eventually(
        || "the cursor at 10".into(),
        || (linked.cursor() == 10).then_some(()),
    )
    .await;

    // A link frame logged as an event is a broken protocol: the link ends.
    connection
        .send(&logged(11, logged(12, Event::Ready)))
        .await
        .unwrap();
    assert!(linked.ended().await.contains("logged a Logged frame"));
}

/// On a virtual clock: a stuck shim process fails a call at its deadline, a shutdown gets its
/// own timeout on top, and the link stays for the shim that recovers.
#[tokio::test(start_paused = true)]
async fn a_call_a_stuck_shim_process_does_not_answer_fails_in_time_and_the_link_stays() {
    let fake = FakeShim::new();
    let (linked, mut connection) = fake.linked().await;
    let started = tokio::time::Instant::now();
    let (ping, call) = tokio::join!(linked.handle.ping(), next_call(&mut connection));
    match ping {
        Err(ShimError::LinkLost(reason)) => {
            assert!(
                reason.contains("did not answer a ping call within 30 s"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(started.elapsed(), CALL_TIMEOUT);
    assert_eq!(call.1, Call::Ping);

    let started = tokio::time::Instant::now();
    let shutdown = linked
        .handle
        .shutdown(Duration::from_secs(5), ShutdownReason::Requested);
    let (shutdown, _) = tokio::join!(shutdown, next_call(&mut connection));
    assert!(
        matches!(shutdown, Err(ShimError::LinkLost(_))),
        "{shutdown:?}"
    );
    assert_eq!(started.elapsed(), CALL_TIMEOUT + Duration::from_secs(5));

    // A late answer is dropped; the next call is answered as usual.
    let late = Event::Reply {
        call_id: call.0,
        reply: CallReply::Done,
        status_version: None,
    };
    connection.send(&late).await.unwrap();
    let answer = async {
        let (call_id, _) = next_call(&mut connection).await;
        let reply = Event::Reply {
            call_id,
            reply: CallReply::Done,
            status_version: None,
        };
        connection.send(&reply).await.unwrap();
    };
    let (ping, ()) = tokio::join!(linked.handle.ping(), answer);
    ping.unwrap();
}

/// A published `Status` at `version`: idle with `queued` messages, after event `last_event_seq`.
fn published(version: u64, queued: usize, last_event_seq: u64) -> Event {
    Event::Status {
        version,
        state: ShimState::Idle,
        entered_unix_ms: agentshim::unix_time::now_unix_ms() - 1000,
        pid: 4242,
        exit_code: None,
        queued_messages: queued,
        last_event_seq,
    }
}

/// Asks the linked shim's status, then pings it; whether the fake shim process got a call
/// for the status shows in the first call it gets: a status answered from what was
/// published makes none, so the ping's comes first. A status call is answered with
/// `answer_call_with` (its `call_id` set).
async fn status_asked(
    linked: &LinkedShim,
    connection: &mut FakeConnection,
    mut answer_call_with: Event,
) -> (agentshim::shim::ShimStatus, bool) {
    let handle = linked.handle.clone();
    let asking = tokio::spawn(async move {
        let status = handle.status().await;
        (status, handle.ping().await)
    });
    let (mut call_id, mut call) = next_call(connection).await;
    let called = call == Call::Status;
    if called {
        if let Event::Reply { call_id: id, .. } = &mut answer_call_with {
            *id = call_id;
        }
        connection.send(&answer_call_with).await.unwrap();
        (call_id, call) = next_call(connection).await;
    }
    assert_eq!(call, Call::Ping);
    let done = Event::Reply {
        call_id,
        reply: CallReply::Done,
        status_version: None,
    };
    connection.send(&done).await.unwrap();
    let (status, ping) = asking.await.unwrap();
    ping.expect("ping");
    (status.expect("status"), called)
}

/// The status reply a fake shim process gives to a status call: `queued` messages, after
/// event `last_event_seq`, its step at status `version`.
fn status_reply(queued: usize, last_event_seq: u64, version: u64) -> Event {
    Event::Reply {
        call_id: 0,
        reply: CallReply::Status {
            state: ShimState::Idle,
            since_ms: 1000,
            pid: 4242,
            exit_code: None,
            queued_messages: queued,
            last_event_seq,
        },
        status_version: Some(version),
    }
}

#[tokio::test]
async fn a_status_is_answered_from_what_the_shim_published_while_that_is_current() {
    let fake = FakeShim::new();
    let (linked, mut connection) = fake.linked().await;
    // The status that came with `Linked`, and nothing happened since: no call.
    let (status, called) = status_asked(&linked, &mut connection, status_reply(0, 0, 1)).await;
    assert!(!called);
    assert_eq!(status.state.state, ShimState::Idle);
    assert_eq!(status.pid, 4242);

    // An event the published status does not know of: a call again, until one that does.
    connection.send(&logged(1, Event::Ready)).await.unwrap();
    eventually(
        || "the cursor at 1".into(),
        || (linked.cursor() == 1).then_some(()),
    )
    .await;
    let (_, called) = status_asked(&linked, &mut connection, status_reply(0, 1, 1)).await;
    assert!(called, "a status older than the newest event is not used");
    connection.send(&published(2, 0, 1)).await.unwrap();
    eventually_async(
        || "the status that knows of event 1 used".into(),
        async || {
            let asked = status_asked(&linked, &mut connection, status_reply(0, 1, 2)).await;
            (!asked.1).then_some(())
        },
    )
    .await;

    // A reply from a later step (a message queued): the published status does not hold it,
    // so the lookup is a call, whose answer counts the message.
    let handle = linked.handle.clone();
    let sending =
        tokio::spawn(async move { handle.send_message("t", "echo hi", Some("m1".into())).await });
    let (call_id, _) = next_call(&mut connection).await;
    let sent = Event::Reply {
        call_id,
        reply: CallReply::Sent {
            id: "m1".into(),
            queued: true,
            removed: None,
        },
        status_version: Some(3),
    };
    connection.send(&sent).await.unwrap();
    sending.await.unwrap().expect("sent");
    let (status, called) = status_asked(&linked, &mut connection, status_reply(1, 1, 3)).await;
    assert!(called, "a status older than a reply is not used");
    assert_eq!(status.queued_messages, 1);
    connection.send(&published(3, 1, 1)).await.unwrap();
    let status = eventually_async(
        || "the status of the send's step used".into(),
        async || {
            let asked = status_asked(&linked, &mut connection, status_reply(1, 1, 3)).await;
            (!asked.1).then_some(asked.0)
        },
    )
    .await;
    assert_eq!(status.queued_messages, 1);

    // An older status that comes late changes nothing (a ping answered after it shows that
    // the link has read it).
    connection.send(&published(1, 0, 1)).await.unwrap();
    let (_, called) = status_asked(&linked, &mut connection, status_reply(1, 1, 3)).await;
    assert!(!called);
    let (status, called) = status_asked(&linked, &mut connection, status_reply(1, 1, 3)).await;
    assert!(!called);
    assert_eq!(status.queued_messages, 1, "the older status was not taken");

    // While an attachment shows the terminal, lookups are calls.
    let attachment = linked.attachment();
    let (_, called) = status_asked(&linked, &mut connection, status_reply(1, 1, 3)).await;
    assert!(
        called,
        "an attachment's frames are in no order with the link's"
    );
    drop(attachment);
    let (_, called) = status_asked(&linked, &mut connection, status_reply(1, 1, 3)).await;
    assert!(!called);
}

/// On a virtual clock: a published status is not vouched for while the shim process leaves
/// a call unanswered for [`UNANSWERED`], nor after a call expired until it is heard from.
#[tokio::test(start_paused = true)]
async fn a_shim_process_that_does_not_answer_is_not_vouched_for() {
    let fake = FakeShim::new();
    let (linked, mut connection) = fake.linked().await;
    // A ping the shim process does not answer.
    let handle = linked.handle.clone();
    let ping = tokio::spawn(async move { handle.ping().await });
    let (ping_id, call) = next_call(&mut connection).await;
    assert_eq!(call, Call::Ping);
    let handle = linked.handle.clone();
    let status = handle.status().await;
    assert!(status.is_ok(), "at once, the published status still serves");
    tokio::time::sleep(UNANSWERED).await;
    let asking = tokio::spawn(async move { handle.status().await });
    let (status_id, call) = next_call(&mut connection).await;
    assert_eq!(
        call,
        Call::Status,
        "{UNANSWERED:?} without an answer: a call"
    );
    // The ping expires; the status call is answered, and the published status serves again.
    assert!(matches!(ping.await.unwrap(), Err(ShimError::LinkLost(_))));
    let mut reply = status_reply(0, 0, 1);
    if let Event::Reply { call_id, .. } = &mut reply {
        *call_id = status_id;
    }
    connection.send(&reply).await.unwrap();
    asking.await.unwrap().expect("status");
    let late = Event::Reply {
        call_id: ping_id,
        reply: CallReply::Done,
        status_version: None,
    };
    connection.send(&late).await.unwrap();
    let (_, called) = status_asked(&linked, &mut connection, status_reply(0, 0, 1)).await;
    assert!(!called, "heard from again, the shim process is vouched for");
}

/// Reads frames of a link after those `seen` already until `done` says they hold what it
/// needs, returning them all.
fn frames_until(
    client: &mut Channel,
    what: &str,
    mut seen: Vec<Event>,
    done: impl Fn(&[Event]) -> bool,
) -> Vec<Event> {
    while !done(&seen) {
        match client.recv::<Event>() {
            Ok(Some(event)) => seen.push(event),
            other => panic!("no {what}: {other:?}; seen {seen:#?}"),
        }
    }
    seen
}

/// The reply of call `call_id` among `frames`, with its status version.
fn reply_of(frames: &[Event], call_id: u64) -> Option<(&CallReply, Option<u64>)> {
    frames.iter().find_map(|frame| match frame {
        Event::Reply {
            call_id: id,
            reply,
            status_version,
        } if *id == call_id => Some((reply, *status_version)),
        _ => None,
    })
}

/// The first `Status` among `frames` at least as new as `version`, with its queue length.
fn status_from(frames: &[Event], version: u64) -> Option<usize> {
    frames.iter().find_map(|frame| match frame {
        Event::Status {
            version: v,
            queued_messages,
            ..
        } if *v >= version => Some(*queued_messages),
        _ => None,
    })
}

/// A real shim process, linked at version 2: it pushes its status, and the status version a
/// reply names holds what the call did (the actor publishes a step's status before it
/// answers the step's calls).
#[test]
fn a_version_2_link_gets_each_status_and_replies_name_the_status_that_holds_them() {
    let shim = SocketShim::start(&[]);
    let (mut client, _stream) = shim.connect();
    client
        .send(&Command::Link {
            version: 2,
            after_seq: 0,
        })
        .unwrap();
    // What the connection got before it was a link is not the link's.
    let linked = |seen: &[Event]| seen.iter().position(|e| matches!(e, Event::Linked { .. }));
    let before = frames_until(
        &mut client,
        "Linked and the frame after it",
        Vec::new(),
        |seen| linked(seen).is_some_and(|at| seen.len() > at + 1),
    );
    let first = before[linked(&before).unwrap()..].to_vec();
    assert!(
        matches!(first[..], [Event::Linked { .. }, Event::Status { .. }]),
        "the status comes right after Linked: {first:#?}"
    );
    frames_until(&mut client, "Ready and an idle Status", first, |seen| {
        seen.iter().any(
            |e| matches!(e, Event::Logged { emitted, .. } if matches!(**emitted, Event::Ready)),
        ) && seen.iter().any(|e| {
            matches!(
                e,
                Event::Status {
                    state: ShimState::Idle,
                    ..
                }
            )
        })
    });
    // `cat` reads its input until the end: its turn lasts, and the next message queues.
    for (call_id, body) in [(1, "cat"), (2, "echo later")] {
        let call = Call::Send {
            message_id: format!("m{call_id}"),
            from: "test".into(),
            body: body.into(),
        };
        client.send(&Command::Call { call_id, call }).unwrap();
        let what = "the reply and the status it names";
        let frames = frames_until(&mut client, what, Vec::new(), |seen| {
            reply_of(seen, call_id)
                .and_then(|(_, version)| status_from(seen, version?))
                .is_some()
        });
        let (reply, version) = reply_of(&frames, call_id).unwrap();
        let queued = status_from(&frames, version.unwrap()).unwrap();
        let expected = usize::from(call_id == 2);
        assert!(
            matches!(reply, CallReply::Sent { queued, .. } if *queued == (call_id == 2)),
            "{reply:?}"
        );
        assert_eq!(
            queued, expected,
            "the status of call {call_id}'s step: {frames:#?}"
        );
    }
}

/// A host of link version 1 gets no `Status` and no status versions.
#[test]
fn a_version_1_link_gets_what_version_1_has() {
    let shim = SocketShim::start(&[]);
    let (mut client, _stream) = shim.connect();
    client
        .send(&Command::Link {
            version: 1,
            after_seq: 0,
        })
        .unwrap();
    let mut frames = Vec::new();
    for call_id in 1..=2 {
        client
            .send(&Command::Call {
                call_id,
                call: Call::Ping,
            })
            .unwrap();
        frames = frames_until(&mut client, "the ping's reply", frames, |seen| {
            reply_of(seen, call_id).is_some()
        });
        assert_eq!(reply_of(&frames, call_id).unwrap().1, None);
    }
    assert!(
        !frames.iter().any(|e| matches!(e, Event::Status { .. })),
        "{frames:#?}"
    );
}

#[tokio::test]
async fn a_refused_link_says_why() {
    let fake = FakeShim::new();
    let events = EventLog::new(10);
    let refuse = async {
        let (stream, _) = fake.listener.accept().await.unwrap();
        let mut connection = Framed::new(stream, JsonFrameCodec::<Command>::new());
        connection.next().await;
        let error = Event::Error {
            command: "Link".into(),
            reason: "not today".into(),
        };
        connection.send(&error).await.unwrap();
        connection
    };
    let (linked, _connection) = tokio::join!(link(&fake.path, Arc::from("f"), events, 0), refuse);
    match linked {
        Err(LinkError::Refused(reason)) => assert_eq!(reason, "not today"),
        other => panic!("not refused: {other:?}"),
    }
}
