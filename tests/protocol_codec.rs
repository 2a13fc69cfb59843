//! Proves that the async `JsonFrameCodec` speaks exactly the blocking `Channel`'s wire:
//!
//! - every `Command` and `Event` variant written by a blocking `Channel` is read by a tokio
//!   `FramedRead`, and every one written by a `FramedWrite` is read by a blocking `Channel`;
//! - the codec's bytes for a value are identical to the bytes `Channel` writes for it;
//! - framing edge cases: a malformed payload is a recoverable item, an oversize header is
//!   `FrameError::TooLarge` at once, a payload of exactly `MAX_FRAME_LEN` bytes is accepted,
//!   encoding an oversize value fails without output, and frames split across reads decode.

use std::io::Read;
use std::os::unix::net::UnixStream as StdUnixStream;

use agentshim::protocol::codec::{FrameError, JsonFrameCodec, MalformedFrame};
use agentshim::protocol::{Channel, Command, Event, MAX_FRAME_LEN, socketpair};
use bytes::BytesMut;
use futures_util::{SinkExt, StreamExt};
use serde::{Serialize, de::DeserializeOwned};
use tokio::io::AsyncWriteExt;
use tokio_util::codec::{Decoder, Encoder, FramedRead, FramedWrite};

use crate::support::frame_limit;
use crate::support::protocol_samples as samples;

fn json(value: &impl Serialize) -> String {
    serde_json::to_string(value).expect("serialize")
}

/// The codec's encoding of `value`.
fn encode(value: &impl Serialize) -> BytesMut {
    let mut dst = BytesMut::new();
    JsonFrameCodec::<Command>::new()
        .encode(value, &mut dst)
        .expect("encode");
    dst
}

/// A frame built by hand: 4-byte big-endian length, then `payload`.
fn frame(payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).expect("fits u32");
    [&len.to_be_bytes()[..], payload].concat()
}

fn tokio_stream(stream: StdUnixStream) -> tokio::net::UnixStream {
    stream.set_nonblocking(true).expect("set nonblocking");
    tokio::net::UnixStream::from_std(stream).expect("register with tokio")
}

/// Sends `values` with a blocking `Channel`, reads them with a `FramedRead` until EOF and asserts
/// the same JSON arrived, in order.
async fn assert_blocking_to_async<T>(values: Vec<T>)
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    let expected: Vec<String> = values.iter().map(json).collect();
    let (writer_end, reader_end) = socketpair().expect("socketpair");
    let writer = tokio::task::spawn_blocking(move || {
        let mut channel = Channel::new(writer_end);
        values.iter().try_for_each(|value| channel.send(value))
    });
    let received: Vec<String> =
        FramedRead::new(tokio_stream(reader_end), JsonFrameCodec::<T>::new())
            .map(|item| json(&item.expect("framing").expect("well-formed")))
            .collect()
            .await;
    writer.await.expect("writer task").expect("blocking send");
    assert_eq!(received, expected);
}

/// Sends `values` with a `FramedWrite`, reads them with a blocking `Channel` until EOF and asserts
/// the same JSON arrived, in order.
async fn assert_async_to_blocking<T>(values: Vec<T>)
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    let expected: Vec<String> = values.iter().map(json).collect();
    let (writer_end, reader_end) = socketpair().expect("socketpair");
    let reader = tokio::task::spawn_blocking(move || {
        let mut channel = Channel::new(reader_end);
        let mut received = Vec::new();
        while let Some(value) = channel.recv::<T>().expect("blocking recv") {
            received.push(json(&value));
        }
        received
    });
    let mut sink = FramedWrite::new(tokio_stream(writer_end), JsonFrameCodec::<T>::new());
    for value in &values {
        sink.send(value).await.expect("async send");
    }
    SinkExt::<&T>::close(&mut sink)
        .await
        .expect("shut down the write half");
    assert_eq!(reader.await.expect("reader task"), expected);
}

#[tokio::test]
async fn blocking_channel_commands_are_read_by_framed_read() {
    assert_blocking_to_async(samples::ours::commands()).await;
}

#[tokio::test]
async fn blocking_channel_events_are_read_by_framed_read() {
    assert_blocking_to_async(samples::ours::events()).await;
}

#[tokio::test]
async fn framed_write_commands_are_read_by_blocking_channel() {
    assert_async_to_blocking(samples::ours::commands()).await;
}

#[tokio::test]
async fn framed_write_events_are_read_by_blocking_channel() {
    assert_async_to_blocking(samples::ours::events()).await;
}

#[tokio::test]
async fn frames_of_the_limit_cross_between_blocking_and_async_sides() {
    let largest = || vec![frame_limit::message_with_json_len(MAX_FRAME_LEN)];
    assert_blocking_to_async(largest()).await;
    assert_async_to_blocking(largest()).await;
}

/// Sends each value with a blocking `Channel` and asserts the raw bytes arriving at the peer are
/// exactly the codec's encoding, with nothing else on the wire.
fn assert_channel_writes_codec_bytes(values: &[impl Serialize]) {
    let (writer_end, mut raw_reader) = socketpair().expect("socketpair");
    let mut channel = Channel::new(writer_end);
    for value in values {
        let encoded = encode(value);
        assert_eq!(encoded[..], frame(json(value).as_bytes())[..]);
        channel.send(value).expect("send");
        let mut written = vec![0; encoded.len()];
        raw_reader.read_exact(&mut written).expect("read the frame");
        assert_eq!(written[..], encoded[..], "{}", json(value));
    }
    drop(channel);
    let mut rest = Vec::new();
    raw_reader.read_to_end(&mut rest).expect("read to EOF");
    assert!(
        rest.is_empty(),
        "Channel wrote {} unexpected bytes",
        rest.len()
    );
}

#[test]
fn codec_bytes_are_identical_to_channel_bytes_for_every_variant() {
    assert_channel_writes_codec_bytes(&samples::ours::commands());
    assert_channel_writes_codec_bytes(&samples::ours::events());
}

#[tokio::test]
async fn malformed_frames_are_items_and_the_next_frame_still_decodes() {
    let truncated_json = br#"{"cmd":"Ping""#;
    let unknown_command = br#"{"cmd":"Reboot"}"#;
    let mut wire = frame(truncated_json);
    wire.extend(frame(unknown_command));
    wire.extend(frame(
        json(&Command::Resize { rows: 24, cols: 80 }).as_bytes(),
    ));
    let mut frames = FramedRead::new(wire.as_slice(), JsonFrameCodec::<Command>::new());

    for payload_len in [truncated_json.len(), unknown_command.len()] {
        let item = frames.next().await;
        assert!(
            matches!(&item, Some(Ok(Err(MalformedFrame { payload, .. }))) if payload.len() == payload_len),
            "{item:?}"
        );
    }
    let item = frames.next().await;
    assert!(
        matches!(item, Some(Ok(Ok(Command::Resize { rows: 24, cols: 80 })))),
        "{item:?}"
    );
    assert!(frames.next().await.is_none());
}

#[tokio::test]
async fn header_announcing_more_than_the_limit_is_too_large_without_waiting_for_payload() {
    let announced = u32::try_from(MAX_FRAME_LEN + 1).expect("fits u32");
    let header = announced.to_be_bytes();
    let mut frames = FramedRead::new(&header[..], JsonFrameCodec::<Command>::new());
    let item = frames.next().await;
    assert!(
        matches!(item, Some(Err(FrameError::TooLarge { len })) if len == MAX_FRAME_LEN + 1),
        "{item:?}"
    );
}

#[tokio::test]
async fn payload_of_exactly_the_limit_is_accepted() {
    let largest = frame_limit::message_with_json_len(MAX_FRAME_LEN);
    let wire = frame(json(&largest).as_bytes());
    assert_eq!(encode(&largest)[..], wire[..]);

    let mut frames = FramedRead::new(wire.as_slice(), JsonFrameCodec::<Command>::new());
    let decoded = frames
        .next()
        .await
        .expect("a frame")
        .expect("framing")
        .expect("JSON");
    assert_eq!(json(&decoded), json(&largest));
    assert!(frames.next().await.is_none());
}

#[test]
fn encoding_more_than_the_limit_is_too_large_and_writes_nothing() {
    let too_large = frame_limit::message_with_json_len(MAX_FRAME_LEN + 1);
    let mut dst = BytesMut::new();
    let result = JsonFrameCodec::<Command>::new().encode(&too_large, &mut dst);
    assert!(
        matches!(result, Err(FrameError::TooLarge { len }) if len == MAX_FRAME_LEN + 1),
        "{result:?}"
    );
    assert!(dst.is_empty());
}

#[test]
fn frames_fed_one_byte_at_a_time_decode_exactly_when_complete() {
    let mut codec = JsonFrameCodec::<Event>::new();
    let mut buffer = BytesMut::new();
    for event in samples::ours::events() {
        let wire = encode(&event);
        let (last, head) = wire.split_last().expect("non-empty frame");
        for byte in head {
            buffer.extend_from_slice(&[*byte]);
            let partial = codec.decode(&mut buffer);
            assert!(matches!(partial, Ok(None)), "{}: {partial:?}", json(&event));
        }
        buffer.extend_from_slice(&[*last]);
        let decoded = codec
            .decode(&mut buffer)
            .expect("framing")
            .expect("complete");
        assert_eq!(json(&decoded.expect("well-formed")), json(&event));
    }
    assert!(buffer.is_empty());
}

#[tokio::test]
async fn frames_split_across_small_reads_decode() {
    let events = samples::ours::events();
    let expected: Vec<String> = events.iter().map(json).collect();
    let wire: Vec<u8> = events
        .iter()
        .flat_map(|event| encode(event).to_vec())
        .collect();
    let (mut writer, reader) = tokio::io::duplex(3);
    let write_all = tokio::spawn(async move { writer.write_all(&wire).await });
    let received: Vec<String> = FramedRead::new(reader, JsonFrameCodec::<Event>::new())
        .map(|item| json(&item.expect("framing").expect("well-formed")))
        .collect()
        .await;
    write_all.await.expect("writer task").expect("write");
    assert_eq!(received, expected);
}
