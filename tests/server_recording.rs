//! Recorded shims against a real server and bash: the recording holds the whole life of the
//! shim (output, what was typed, a person's keys through Attach, resizes, and markers at the
//! deliveries, Completions and state changes), stays readable after the agent died, is
//! accepted by the real `asciinema cat` and `asciinema play`, and goes with its shim.

use futures_util::StreamExt;
use tonic::Code;

use crate::support::asciinema;
use crate::support::grpc_attach::GrpcAttached;
use crate::support::server::{TestServer, bash_shim, create_ready_with};
use agentshim::client::{Client, SendOptions};
use agentshim::rpc::AttachMode;

/// The recording of `shim_id` as GetRecording returns it now.
async fn recording(client: &mut Client, shim_id: &str) -> String {
    let mut chunks = client.get_recording(shim_id).await.expect("GetRecording");
    let mut bytes = Vec::new();
    while let Some(chunk) = chunks.next().await {
        bytes.extend(chunk.expect("a chunk").data);
    }
    String::from_utf8(bytes).expect("a recording is UTF-8")
}

/// The recording's header and its events as `(code, text)`.
fn parse(recording: &str) -> (serde_json::Value, Vec<(String, String)>) {
    let mut lines = recording.lines();
    let header = serde_json::from_str(lines.next().expect("a header")).expect("JSON header");
    let events = lines
        .map(|line| {
            let event: serde_json::Value = serde_json::from_str(line).expect("a JSON event");
            (
                event[1].as_str().unwrap().to_owned(),
                event[2].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (header, events)
}

fn waiting() -> SendOptions {
    SendOptions {
        wait: true,
        ..SendOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_holds_the_shims_life_and_asciinema_plays_it() {
    let server = TestServer::start_default().await;
    let mut client = server.client().await;
    let info = create_ready_with(&mut client, bash_shim("rec1").recorded().into_request()).await;
    assert!(info.recorded);
    let sent = client
        .send_message("rec1", "echo recorded-$((20+1))", waiting())
        .await
        .unwrap();
    assert_eq!(sent.completion.unwrap().response.trim(), "recorded-21");
    client.resize("rec1", 30, 90).await.unwrap();
    client
        .send_message("rec1", "echo second", waiting())
        .await
        .unwrap();
    let writer = GrpcAttached::new(&mut client, "rec1", AttachMode::Write)
        .await
        .unwrap();
    writer.types("echo by-hand\r").await;
    let mut writer = writer;
    writer.shows("\nby-hand").await;
    drop(writer);
    client.kill("rec1").await.unwrap();

    // Readable after the agent died; its last marker, the death, is written by then.
    let text = crate::support::eventually::eventually_async(
        || "the recording never ended with the death".to_owned(),
        async || {
            let text = recording(&mut client, "rec1").await;
            parse(&text)
                .1
                .last()
                .is_some_and(|(code, label)| code == "m" && label.starts_with("died"))
                .then_some(text)
        },
    )
    .await;
    let (header, events) = parse(&text);
    assert_eq!(header["version"], 2);
    assert_eq!(
        (header["width"].as_u64(), header["height"].as_u64()),
        (Some(220), Some(50))
    );
    let has = |code: &str, part: &str| events.iter().any(|(c, t)| c == code && t.contains(part));
    assert!(has("o", "recorded-21"), "the agent's output");
    assert!(has("i", "echo recorded-$((20+1))"), "the typed message");
    assert!(has("r", "90x30"), "the resize");
    assert!(has("i", "echo by-hand"), "a person's keys");
    let markers: Vec<&str> = events
        .iter()
        .filter(|(code, _)| code == "m")
        .map(|(_, label)| label.as_str())
        .collect();
    let delivered = markers
        .iter()
        .position(|m| m.starts_with("delivered "))
        .expect("delivered");
    let completion = markers
        .iter()
        .position(|m| m.starts_with("completion "))
        .expect("completion");
    assert!(delivered < completion, "{markers:?}");
    assert!(markers.contains(&"idle -> working"), "{markers:?}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rec1.cast");
    std::fs::write(&file, &text).unwrap();
    assert!(asciinema::cat(&file).contains("recorded-21"));
    assert!(asciinema::play(&file).contains("second"));

    client.delete_shim("rec1").await.unwrap();
    let gone = client
        .get_recording("rec1")
        .await
        .expect_err("gone with its shim");
    assert_eq!(gone.code(), Some(Code::NotFound), "{gone}");
    let left = std::fs::read_dir(server.state_dir().join("recordings"))
        .unwrap()
        .count();
    assert_eq!(left, 0, "the recording is removed with its shim");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shim_not_recorded_says_so() {
    let server = TestServer::start_default().await;
    let mut client = server.client().await;
    let info = create_ready_with(&mut client, bash_shim("plain").into_request()).await;
    assert!(!info.recorded);
    let refused = client.get_recording("plain").await.err().unwrap();
    assert_eq!(refused.code(), Some(Code::FailedPrecondition), "{refused}");
    assert!(refused.to_string().contains("not recorded"), "{refused}");
}
