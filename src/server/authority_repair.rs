//! Standard gRPC clients over the server's Unix socket, unchanged. grpc-go (`grpcurl -unix
//! PATH`) sends the socket path as the `:authority` of each request, gRPC C-core (Python's
//! `grpc.insecure_channel('unix:PATH')`) its percent-encoded form; neither is a URI authority,
//! and h2 resets such a stream with PROTOCOL_ERROR before tonic sees it. Neither h2 nor hyper
//! has a setting for it (hyperium/h2#487 would relax the check; it is not merged), so each
//! connection accepted on the Unix socket is read through [`RepairedStream`], which rewrites the
//! header blocks on their way in:
//!
//! - frames are forwarded as they are, except HEADERS and their CONTINUATIONs;
//! - each header block is decoded (HPACK, with the client's dynamic table), an `:authority`
//!   that is not a valid authority becomes `localhost` (what grpc-go and the Rust client send
//!   over a Unix socket), and the block is encoded again statelessly (literals never indexed, no
//!   Huffman), so h2's decoder never needs the client's table; it is sent as a HEADERS frame
//!   (END_STREAM and PRIORITY kept, padding dropped) plus CONTINUATIONs, each at most 16 KiB
//!   (the frame size every HTTP/2 peer accepts);
//! - what only a broken or hostile client sends (a CONTINUATION out of place, an undecodable
//!   block, more than [`MAX_HEADER_LIST_BYTES`] of headers) closes the connection with an error;
//!   bytes that do not start with the HTTP/2 preface are forwarded untouched, for h2 to refuse.
//!
//! The server's writes pass straight through. Only Unix-socket connections are read this way:
//! over TCP, clients send `host:port`.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, BufMut, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tonic::codegen::http::uri::Authority;
use tonic::transport::server::Connected;

/// What a client sends first on an HTTP/2 connection (RFC 9113 §3.4).
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const FRAME_HEADER_LEN: usize = 9;
const HEADERS: u8 = 0x1;
const CONTINUATION: u8 = 0x9;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY: u8 = 0x20;
const PRIORITY_LEN: usize = 5;
/// The largest frame payload every HTTP/2 peer accepts (SETTINGS_MAX_FRAME_SIZE's minimum).
const MAX_FRAME_PAYLOAD: usize = 16_384;
/// The server's HPACK table size: it never announces another, so clients may use up to this.
const CLIENT_TABLE_SIZE: usize = 4_096;
/// The most header data (encoded block, or decoded names + values + 32 bytes per field) one
/// request may carry; four times hyper's default limit, which h2 enforces after the repair.
pub const MAX_HEADER_LIST_BYTES: usize = 64 * 1024;
/// What an `:authority` that is not one is replaced with.
const REPLACEMENT_AUTHORITY: &[u8] = b"localhost";
/// How much is read from the socket at a time.
const READ_CHUNK: usize = 16 * 1024;

/// Why a client's byte stream cannot be repaired (the connection is then closed).
#[derive(Debug, thiserror::Error)]
pub enum RepairError {
    #[error("CONTINUATION frame without an open header block")]
    StrayContinuation,
    #[error("a frame of type {0:#x} interrupted a header block")]
    InterruptedBlock(u8),
    #[error("HEADERS frame with more padding than payload")]
    BadPadding,
    #[error("header block of more than {MAX_HEADER_LIST_BYTES} bytes")]
    TooLarge,
    #[error("undecodable header block: {0:?}")]
    Hpack(loona_hpack::decoder::DecoderError),
}

/// Where the reader is in the client's byte stream.
enum Position {
    /// In the connection preface, this many bytes in.
    Preface(usize),
    /// At the start of a frame.
    FrameStart,
    /// Inside the payload of a frame that passes unchanged: this many bytes are left.
    Forwarding(usize),
    /// Not HTTP/2: everything passes unchanged.
    Raw,
}

/// A header block being collected from a HEADERS frame and its CONTINUATIONs.
struct OpenBlock {
    stream_id: u32,
    end_stream: bool,
    priority: Option<[u8; PRIORITY_LEN]>,
    fragments: Vec<u8>,
}

/// The sans-I/O core: client bytes in, repaired bytes out.
pub struct HeaderRepair {
    position: Position,
    block: Option<OpenBlock>,
    decoder: loona_hpack::Decoder<'static>,
}

impl Default for HeaderRepair {
    fn default() -> Self {
        let mut decoder = loona_hpack::Decoder::new();
        decoder.set_max_allowed_table_size(CLIENT_TABLE_SIZE);
        Self {
            position: Position::Preface(0),
            block: None,
            decoder,
        }
    }
}

impl HeaderRepair {
    /// Consumes what it can of `input` (a partial frame stays there until more arrives) and
    /// appends the repaired bytes to `output`.
    pub fn feed(&mut self, input: &mut BytesMut, output: &mut BytesMut) -> Result<(), RepairError> {
        loop {
            match self.position {
                Position::Raw => {
                    output.extend_from_slice(&input.split());
                    return Ok(());
                }
                Position::Preface(seen) => {
                    let take = input.len().min(PREFACE.len() - seen);
                    if take == 0 {
                        return Ok(());
                    }
                    if input[..take] != PREFACE[seen..seen + take] {
                        self.position = Position::Raw;
                        continue;
                    }
                    output.extend_from_slice(&input.split_to(take));
                    self.position = match seen + take {
                        done if done == PREFACE.len() => Position::FrameStart,
                        partial => Position::Preface(partial),
                    };
                }
                Position::Forwarding(left) => {
                    let take = input.len().min(left);
                    if take == 0 {
                        return Ok(());
                    }
                    output.extend_from_slice(&input.split_to(take));
                    self.position = match left - take {
                        0 => Position::FrameStart,
                        left => Position::Forwarding(left),
                    };
                }
                Position::FrameStart => {
                    if input.len() < FRAME_HEADER_LEN {
                        return Ok(());
                    }
                    let length = usize::from(input[0]) << 16
                        | usize::from(input[1]) << 8
                        | usize::from(input[2]);
                    let frame_type = input[3];
                    if frame_type != HEADERS && frame_type != CONTINUATION {
                        if self.block.is_some() {
                            return Err(RepairError::InterruptedBlock(frame_type));
                        }
                        output.extend_from_slice(&input.split_to(FRAME_HEADER_LEN));
                        if length > 0 {
                            self.position = Position::Forwarding(length);
                        }
                        continue;
                    }
                    if length > MAX_HEADER_LIST_BYTES {
                        return Err(RepairError::TooLarge);
                    }
                    if input.len() < FRAME_HEADER_LEN + length {
                        return Ok(());
                    }
                    let flags = input[4];
                    let stream_id =
                        u32::from_be_bytes([input[5], input[6], input[7], input[8]]) & 0x7fff_ffff;
                    input.advance(FRAME_HEADER_LEN);
                    let payload = input.split_to(length);
                    self.header_frame(frame_type, flags, stream_id, &payload, output)?;
                }
            }
        }
    }

    /// Takes in one HEADERS or CONTINUATION frame; repairs the block once it is complete.
    fn header_frame(
        &mut self,
        frame_type: u8,
        flags: u8,
        stream_id: u32,
        payload: &[u8],
        output: &mut BytesMut,
    ) -> Result<(), RepairError> {
        let fragment = if frame_type == HEADERS {
            if self.block.is_some() {
                return Err(RepairError::InterruptedBlock(frame_type));
            }
            let mut rest = payload;
            let padding = if flags & PADDED != 0 {
                let (&padding, after) = rest.split_first().ok_or(RepairError::BadPadding)?;
                rest = after;
                usize::from(padding)
            } else {
                0
            };
            let priority = if flags & PRIORITY != 0 {
                let (priority, after) = rest
                    .split_first_chunk::<PRIORITY_LEN>()
                    .ok_or(RepairError::BadPadding)?;
                rest = after;
                Some(*priority)
            } else {
                None
            };
            let fragment_len = rest
                .len()
                .checked_sub(padding)
                .ok_or(RepairError::BadPadding)?;
            self.block = Some(OpenBlock {
                stream_id,
                end_stream: flags & END_STREAM != 0,
                priority,
                fragments: Vec::new(),
            });
            &rest[..fragment_len]
        } else {
            match &self.block {
                Some(block) if block.stream_id == stream_id => payload,
                _ => return Err(RepairError::StrayContinuation),
            }
        };
        let block = self.block.as_mut().expect("a block is open");
        if block.fragments.len() + fragment.len() > MAX_HEADER_LIST_BYTES {
            return Err(RepairError::TooLarge);
        }
        block.fragments.extend_from_slice(fragment);
        if flags & END_HEADERS != 0 {
            let block = self.block.take().expect("a block is open");
            let encoded = self.repair_block(&block.fragments)?;
            write_header_frames(&block, &encoded, output);
        }
        Ok(())
    }

    /// Decodes a complete header block and encodes it again, repairing `:authority`.
    fn repair_block(&mut self, block: &[u8]) -> Result<Vec<u8>, RepairError> {
        let mut encoded = Vec::with_capacity(block.len() + 64);
        let mut list_size = 0;
        self.decoder
            .decode_with_cb(block, |name, value| {
                list_size += name.len() + value.len() + 32;
                if list_size > MAX_HEADER_LIST_BYTES {
                    return;
                }
                let value: &[u8] =
                    if &*name == b":authority" && Authority::try_from(&*value).is_err() {
                        REPLACEMENT_AUTHORITY
                    } else {
                        &value
                    };
                encode_never_indexed(&name, value, &mut encoded);
            })
            .map_err(RepairError::Hpack)?;
        if list_size > MAX_HEADER_LIST_BYTES {
            return Err(RepairError::TooLarge);
        }
        Ok(encoded)
    }
}

/// A header field as "literal, never indexed, new name" (RFC 7541 §6.2.3), strings raw.
fn encode_never_indexed(name: &[u8], value: &[u8], out: &mut Vec<u8>) {
    out.push(0x10);
    for string in [name, value] {
        encode_integer(string.len(), 7, 0x00, out);
        out.extend_from_slice(string);
    }
}

/// An HPACK integer with an `prefix_bits`-bit prefix after the `first_bits` flags (§5.1).
fn encode_integer(value: usize, prefix_bits: u8, first_bits: u8, out: &mut Vec<u8>) {
    let max_prefix = (1usize << prefix_bits) - 1;
    if value < max_prefix {
        out.push(first_bits | value as u8);
        return;
    }
    out.push(first_bits | max_prefix as u8);
    let mut rest = value - max_prefix;
    while rest >= 0x80 {
        out.push((rest & 0x7f) as u8 | 0x80);
        rest >>= 7;
    }
    out.push(rest as u8);
}

/// `encoded` as a HEADERS frame and as many CONTINUATIONs as it needs.
fn write_header_frames(block: &OpenBlock, encoded: &[u8], output: &mut BytesMut) {
    let priority_len = block.priority.map_or(0, |_| PRIORITY_LEN);
    let first_len = encoded.len().min(MAX_FRAME_PAYLOAD - priority_len);
    let (first, mut rest) = encoded.split_at(first_len);
    let mut flags = 0;
    if block.end_stream {
        flags |= END_STREAM;
    }
    if block.priority.is_some() {
        flags |= PRIORITY;
    }
    if rest.is_empty() {
        flags |= END_HEADERS;
    }
    write_frame_header(
        priority_len + first.len(),
        HEADERS,
        flags,
        block.stream_id,
        output,
    );
    if let Some(priority) = &block.priority {
        output.extend_from_slice(priority);
    }
    output.extend_from_slice(first);
    while !rest.is_empty() {
        let (chunk, after) = rest.split_at(rest.len().min(MAX_FRAME_PAYLOAD));
        rest = after;
        let flags = if rest.is_empty() { END_HEADERS } else { 0 };
        write_frame_header(chunk.len(), CONTINUATION, flags, block.stream_id, output);
        output.extend_from_slice(chunk);
    }
}

fn write_frame_header(
    length: usize,
    frame_type: u8,
    flags: u8,
    stream_id: u32,
    out: &mut BytesMut,
) {
    let length = u32::try_from(length).expect("frames stay under 16 MiB");
    out.put_slice(&length.to_be_bytes()[1..]);
    out.put_u8(frame_type);
    out.put_u8(flags);
    out.put_u32(stream_id);
}

/// A connection whose incoming bytes pass through [`HeaderRepair`]; writes go straight out.
pub struct RepairedStream<S> {
    inner: S,
    repair: HeaderRepair,
    /// Read from `inner`, not yet repaired (an incomplete frame).
    input: BytesMut,
    /// Repaired, not yet handed to the reader.
    output: BytesMut,
    eof: bool,
}

impl<S> RepairedStream<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            repair: HeaderRepair::default(),
            input: BytesMut::new(),
            output: BytesMut::new(),
            eof: false,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for RepairedStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if !this.output.is_empty() {
                let take = buf.remaining().min(this.output.len());
                buf.put_slice(&this.output.split_to(take));
                return Poll::Ready(Ok(()));
            }
            if this.eof {
                return Poll::Ready(Ok(()));
            }
            let mut chunk = [0u8; READ_CHUNK];
            let mut read = ReadBuf::new(&mut chunk);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut read))?;
            if read.filled().is_empty() {
                // A frame cut short by the client's close goes on as it is, for h2 to judge.
                this.eof = true;
                this.output.extend_from_slice(&this.input.split());
                continue;
            }
            this.input.extend_from_slice(read.filled());
            this.repair
                .feed(&mut this.input, &mut this.output)
                .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?;
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for RepairedStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

impl<S: Connected> Connected for RepairedStream<S> {
    type ConnectInfo = S::ConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.inner.connect_info()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Headers = Vec<(Vec<u8>, Vec<u8>)>;

    fn request(authority: &str, extra: &str) -> Headers {
        [
            (":method", "POST"),
            (":scheme", "http"),
            (":path", "/grpc.health.v1.Health/Check"),
            (":authority", authority),
            ("content-type", "application/grpc"),
            ("x-extra", extra),
        ]
        .iter()
        .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect()
    }

    fn frame(frame_type: u8, flags: u8, stream_id: u32, payload: &[u8]) -> Vec<u8> {
        let mut out = BytesMut::new();
        write_frame_header(payload.len(), frame_type, flags, stream_id, &mut out);
        out.extend_from_slice(payload);
        out.to_vec()
    }

    /// A frame as the repair emits or forwards it.
    #[derive(Debug, PartialEq)]
    struct Frame {
        frame_type: u8,
        flags: u8,
        stream_id: u32,
        payload: Vec<u8>,
    }

    /// Splits `bytes` (after the preface) into frames.
    fn frames(mut bytes: &[u8]) -> Vec<Frame> {
        assert!(bytes.starts_with(PREFACE), "no preface");
        bytes = &bytes[PREFACE.len()..];
        let mut frames = Vec::new();
        while !bytes.is_empty() {
            let length =
                usize::from(bytes[0]) << 16 | usize::from(bytes[1]) << 8 | usize::from(bytes[2]);
            frames.push(Frame {
                frame_type: bytes[3],
                flags: bytes[4],
                stream_id: u32::from_be_bytes(bytes[5..9].try_into().unwrap()),
                payload: bytes[9..9 + length].to_vec(),
            });
            bytes = &bytes[9 + length..];
        }
        frames
    }

    /// The header lists of the (HEADERS + CONTINUATION) blocks in `frames`, decoded the way h2
    /// would, with one decoder for the connection.
    fn decoded_blocks(frames: &[Frame]) -> Vec<Headers> {
        let mut decoder = loona_hpack::Decoder::new();
        let mut blocks = Vec::new();
        let mut block = Vec::new();
        for frame in frames {
            match frame.frame_type {
                HEADERS => {
                    let skip = if frame.flags & PRIORITY != 0 {
                        PRIORITY_LEN
                    } else {
                        0
                    };
                    assert_eq!(frame.flags & PADDED, 0, "padding is dropped");
                    block.extend_from_slice(&frame.payload[skip..]);
                }
                CONTINUATION => block.extend_from_slice(&frame.payload),
                _ => continue,
            }
            if frame.flags & END_HEADERS != 0 {
                blocks.push(
                    decoder
                        .decode(&block)
                        .expect("h2 can decode the repaired block"),
                );
                block.clear();
            }
        }
        blocks
    }

    /// Feeds `input` in pieces of `step` bytes; returns everything that came out.
    fn repaired(input: &[u8], step: usize) -> Result<Vec<u8>, RepairError> {
        let mut repair = HeaderRepair::default();
        let mut pending = BytesMut::new();
        let mut output = BytesMut::new();
        for piece in input.chunks(step) {
            pending.extend_from_slice(piece);
            repair.feed(&mut pending, &mut output)?;
        }
        assert!(
            pending.is_empty(),
            "{} bytes left unconsumed",
            pending.len()
        );
        Ok(output.to_vec())
    }

    #[test]
    fn a_socket_path_authority_becomes_localhost_and_the_rest_is_kept() {
        let mut encoder = loona_hpack::Encoder::new();
        let first = encoder.encode(
            request("/tmp/agentshim.sock", "one")
                .iter()
                .map(|(n, v)| (&n[..], &v[..])),
        );
        // The second request refers to the first one's entries in the client's dynamic table.
        let second = encoder.encode(
            request("/tmp/agentshim.sock", "one")
                .iter()
                .map(|(n, v)| (&n[..], &v[..])),
        );
        let third = encoder.encode(
            request("tmp%2Fagentshim.sock", "three")
                .iter()
                .map(|(n, v)| (&n[..], &v[..])),
        );
        let settings = frame(0x4, 0, 0, &[0, 3, 0, 0, 0, 100]);
        let settings_ack = frame(0x4, 0x1, 0, &[]);
        let data = frame(0x0, END_STREAM, 1, b"\0\0\0\0\0");
        // HEADERS with padding and priority, its block split over a CONTINUATION.
        let (head, tail) = first.split_at(first.len() / 2);
        let mut padded = vec![3];
        padded.extend_from_slice(&[0, 0, 0, 0, 15]);
        padded.extend_from_slice(head);
        padded.extend_from_slice(&[0, 0, 0]);
        let mut input = PREFACE.to_vec();
        input.extend(settings.clone());
        input.extend(settings_ack.clone());
        input.extend(frame(HEADERS, PADDED | PRIORITY, 1, &padded));
        input.extend(frame(CONTINUATION, END_HEADERS, 1, tail));
        input.extend(data.clone());
        input.extend(frame(HEADERS, END_HEADERS | END_STREAM, 3, &second));
        input.extend(frame(HEADERS, END_HEADERS | END_STREAM, 5, &third));

        for step in [1, 7, input.len()] {
            let output = repaired(&input, step).unwrap();
            let frames = frames(&output);
            assert_eq!(frames[0], frames_of(&settings));
            assert_eq!(frames[1], frames_of(&settings_ack));
            assert_eq!(frames[2].frame_type, HEADERS);
            assert_eq!(
                frames[2].flags,
                PRIORITY | END_HEADERS,
                "padding dropped, block in one frame"
            );
            assert_eq!(frames[2].payload[..PRIORITY_LEN], [0, 0, 0, 0, 15]);
            assert_eq!(frames[3], frames_of(&data));
            assert_eq!(frames[4].flags, END_HEADERS | END_STREAM);
            assert_eq!(frames[4].stream_id, 3);
            let blocks = decoded_blocks(&frames);
            assert_eq!(blocks[0], request("localhost", "one"));
            assert_eq!(blocks[1], request("localhost", "one"));
            assert_eq!(blocks[2], request("localhost", "three"));
        }
    }

    fn frames_of(bytes: &[u8]) -> Frame {
        let mut with_preface = PREFACE.to_vec();
        with_preface.extend_from_slice(bytes);
        frames(&with_preface).remove(0)
    }

    #[test]
    fn a_valid_authority_is_kept_and_a_large_block_is_split() {
        let mut encoder = loona_hpack::Encoder::new();
        let big = "x".repeat(40_000);
        let headers = request("localhost:50051", &big);
        let block = encoder.encode(headers.iter().map(|(n, v)| (&n[..], &v[..])));
        let mut input = PREFACE.to_vec();
        for (i, chunk) in block.chunks(10_000).enumerate() {
            let (frame_type, flags) = match (i, (i + 1) * 10_000 >= block.len()) {
                (0, last) => (HEADERS, if last { END_HEADERS } else { 0 }),
                (_, true) => (CONTINUATION, END_HEADERS),
                (_, false) => (CONTINUATION, 0),
            };
            input.extend(frame(frame_type, flags, 1, chunk));
        }
        let frames = frames(&repaired(&input, 4096).unwrap());
        assert!(frames.len() >= 3, "{} frames", frames.len());
        assert!(frames.iter().all(|f| f.payload.len() <= MAX_FRAME_PAYLOAD));
        assert_eq!(decoded_blocks(&frames), vec![headers]);
    }

    #[test]
    fn what_no_client_may_send_is_refused() {
        let block = loona_hpack::Encoder::new()
            .encode(request("/x", "").iter().map(|(n, v)| (&n[..], &v[..])));
        let with_preface = |frames: &[Vec<u8>]| {
            let mut input = PREFACE.to_vec();
            frames.iter().for_each(|f| input.extend(f));
            input
        };
        let stray = with_preface(&[frame(CONTINUATION, END_HEADERS, 1, &block)]);
        assert!(matches!(
            repaired(&stray, 64),
            Err(RepairError::StrayContinuation)
        ));
        let interrupted = with_preface(&[frame(HEADERS, 0, 1, &block), frame(0x0, 0, 1, b"x")]);
        assert!(matches!(
            repaired(&interrupted, 64),
            Err(RepairError::InterruptedBlock(0))
        ));
        let padding = with_preface(&[frame(HEADERS, PADDED | END_HEADERS, 1, &[200, 1, 2])]);
        assert!(matches!(
            repaired(&padding, 64),
            Err(RepairError::BadPadding)
        ));
        let garbage = with_preface(&[frame(HEADERS, END_HEADERS, 1, &[0xff, 0xff, 0xff, 0xff])]);
        assert!(matches!(repaired(&garbage, 64), Err(RepairError::Hpack(_))));
        // An HPACK bomb: one small entry referenced far past the header list limit.
        let mut bomb = vec![0x40, 1, b'a', 100];
        bomb.extend(std::iter::repeat_n(b'v', 100));
        bomb.extend(std::iter::repeat_n(0x80 | 62, 2_000));
        let bomb = with_preface(&[frame(HEADERS, END_HEADERS, 1, &bomb)]);
        assert!(matches!(repaired(&bomb, 4096), Err(RepairError::TooLarge)));
    }

    #[test]
    fn bytes_that_are_not_http2_pass_untouched() {
        let input = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        let mut repair = HeaderRepair::default();
        let mut pending = BytesMut::from(&input[..]);
        let mut output = BytesMut::new();
        repair.feed(&mut pending, &mut output).unwrap();
        assert_eq!(&output[..], &input[..]);
    }
}
