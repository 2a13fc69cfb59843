//! [`ServerIdentity`]: who this server process is. Its boot id is a random UUID made once when
//! the server starts, so a client that reconnects can tell "the same server: resume by seq"
//! from "a restarted server: the old seqs are gone, resume by shim seq". It is served by
//! `GetServerInfo`, put in every `ShimInfo`, and sent as the `agentshim-boot-id` header
//! ([`crate::rpc::BOOT_ID_HEADER`]) of every `StreamEvents` response.

use tonic::metadata::{Ascii, MetadataValue};

use crate::rpc;

/// The identity of one server process; made once in [`super::BoundServer::serve`].
#[derive(Debug, Clone)]
pub struct ServerIdentity {
    boot_id: String,
    started_unix_ms: u64,
}

impl ServerIdentity {
    /// A fresh identity: a new random boot id, started now.
    pub fn new() -> Self {
        Self {
            boot_id: uuid::Uuid::new_v4().to_string(),
            started_unix_ms: crate::unix_time::now_unix_ms(),
        }
    }

    pub fn boot_id(&self) -> &str {
        &self.boot_id
    }

    /// The boot id as a header value (a UUID is always valid ASCII).
    pub fn boot_id_header(&self) -> MetadataValue<Ascii> {
        self.boot_id
            .parse()
            .expect("a UUID is a valid header value")
    }

    pub fn to_proto(&self) -> rpc::GetServerInfoResponse {
        rpc::GetServerInfoResponse {
            boot_id: self.boot_id.clone(),
            started_at: Some(crate::unix_time::timestamp(self.started_unix_ms)),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

impl Default for ServerIdentity {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_server_gets_its_own_boot_id() {
        let (first, second) = (ServerIdentity::new(), ServerIdentity::new());
        assert_ne!(first.boot_id(), second.boot_id());
        assert_eq!(first.boot_id_header(), first.boot_id());
        let info = first.to_proto();
        assert_eq!(info.boot_id, first.boot_id());
        assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
        assert_eq!(
            crate::unix_time::timestamp_unix_ms(info.started_at.as_ref()),
            first.started_unix_ms
        );
    }
}
