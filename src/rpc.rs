//! The generated gRPC types and stubs of `proto/agentshim/v1/agentshim.proto` (package
//! `agentshim.v1`), fenced in one module (DESIGN rule 7), plus the encoded file descriptor
//! set that server reflection publishes.

#![allow(missing_docs, clippy::all, clippy::pedantic)]

tonic::include_proto!("agentshim.v1");

/// The encoded `FileDescriptorSet` of the proto, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("agentshim_descriptor");

/// The response header of `StreamEvents` that carries the server's boot id
/// (`ServerInfo.boot_id`), so a client can tell which server process a stream comes from.
pub const BOOT_ID_HEADER: &str = "agentshim-boot-id";

/// The grace period of a `ShutdownRequest` without `timeout_secs`, and of `agentshim
/// shutdown` without `--timeout`.
pub const DEFAULT_SHUTDOWN_SECS: u32 = 10;

impl TerminalSize {
    /// The size of a terminal of `rows`x`cols`.
    pub fn new(rows: u16, cols: u16) -> Self {
        Self {
            rows: rows.into(),
            cols: cols.into(),
        }
    }
}
