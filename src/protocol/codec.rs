//! The async side of the framed-JSON wire: a tokio codec that produces and accepts exactly the
//! bytes of the blocking [`Channel`](super::Channel) (4-byte big-endian length, JSON payload,
//! at most [`MAX_FRAME_LEN`] bytes). Framing is `tokio-util`'s length-delimited codec; this
//! module only adds JSON and typed errors.
//!
//! A frame whose JSON does not parse is returned as `Err(MalformedFrame)` in the stream's item,
//! so the connection stays usable; an oversize frame is a [`FrameError::TooLarge`] stream error,
//! after which the byte stream cannot be trusted and the connection should be closed.

use std::marker::PhantomData;

use bytes::{Bytes, BytesMut};
use serde::{Serialize, de::DeserializeOwned};
use tokio_util::codec::{
    Decoder, Encoder, LengthDelimitedCodec, LengthDelimitedCodecError, length_delimited,
};

use super::MAX_FRAME_LEN;

/// Why a frame could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The frame (announced or produced) is larger than the protocol allows.
    #[error("frame too large: {len} bytes exceeds the {MAX_FRAME_LEN}-byte limit")]
    TooLarge { len: usize },
    /// The value could not be turned into JSON.
    #[error("cannot encode frame as JSON: {0}")]
    Encode(#[source] serde_json::Error),
    /// The underlying socket failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// A well-framed payload that is not a valid message of the expected type.
#[derive(Debug, thiserror::Error)]
#[error("malformed frame ({} bytes): {source}", payload.len())]
pub struct MalformedFrame {
    /// The payload as received.
    pub payload: Bytes,
    /// What serde said about it.
    #[source]
    pub source: serde_json::Error,
}

impl MalformedFrame {
    /// The value of `field` when the payload is a JSON object with a string there (for
    /// example the `cmd` of an unknown command).
    pub fn string_field(&self, field: &str) -> Option<String> {
        let value: serde_json::Value = serde_json::from_slice(&self.payload).ok()?;
        value.get(field)?.as_str().map(str::to_owned)
    }
}

/// Length-delimited JSON frames: decodes `In`, encodes anything serialisable.
#[derive(Debug)]
pub struct JsonFrameCodec<In> {
    frames: LengthDelimitedCodec,
    _in: PhantomData<fn() -> In>,
}

impl<In> Default for JsonFrameCodec<In> {
    fn default() -> Self {
        Self {
            frames: length_delimited::Builder::new()
                .length_field_length(4)
                .big_endian()
                .max_frame_length(MAX_FRAME_LEN)
                .new_codec(),
            _in: PhantomData,
        }
    }
}

impl<In> JsonFrameCodec<In> {
    /// A codec with the protocol's framing and size limit.
    pub fn new() -> Self {
        Self::default()
    }
}

/// The announced length of the frame at the head of `src`, if its header is complete.
fn announced_len(src: &BytesMut) -> Option<usize> {
    let header: [u8; 4] = src.get(..4)?.try_into().ok()?;
    Some(u32::from_be_bytes(header) as usize)
}

/// Whether a length-delimited decoding error is its frame-too-large rejection.
fn is_too_large(error: &std::io::Error) -> bool {
    error
        .get_ref()
        .is_some_and(|inner| inner.is::<LengthDelimitedCodecError>())
}

impl<In: DeserializeOwned> Decoder for JsonFrameCodec<In> {
    type Item = Result<In, MalformedFrame>;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, FrameError> {
        // The size check must be the length-delimited codec's: once it has read a header it
        // consumes it and waits for the payload, so `src` then starts mid-frame, not at a header.
        let frame = match self.frames.decode(src) {
            Ok(Some(frame)) => frame,
            Ok(None) => return Ok(None),
            Err(e) if is_too_large(&e) => {
                // Rejected headers are left in `src`.
                let len = announced_len(src).unwrap_or(usize::MAX);
                return Err(FrameError::TooLarge { len });
            }
            Err(e) => return Err(e.into()),
        };
        let frame = frame.freeze();
        Ok(Some(serde_json::from_slice(&frame).map_err(|source| {
            MalformedFrame {
                payload: frame,
                source,
            }
        })))
    }
}

impl<In, Out: Serialize> Encoder<&Out> for JsonFrameCodec<In> {
    type Error = FrameError;

    fn encode(&mut self, item: &Out, dst: &mut BytesMut) -> Result<(), FrameError> {
        let json = serde_json::to_vec(item).map_err(FrameError::Encode)?;
        if json.len() > MAX_FRAME_LEN {
            return Err(FrameError::TooLarge { len: json.len() });
        }
        self.frames.encode(Bytes::from(json), dst)?;
        Ok(())
    }
}
