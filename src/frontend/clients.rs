//! Many clients of one shim on a listening Unix socket (`agentshim shim --socket`): admits
//! each connection onto its own task ([`super::connection`]), keeps the resume point a new
//! connection starts from, keeps the number of clients bounded by displacing the quietest
//! one, and decides when the shim is done (the rules are in the [module docs](super)).

use std::collections::HashMap;
use std::time::Duration;

use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{oneshot, watch};
use tokio::task::{Id, JoinSet};

use super::connection::{ClientActivity, ConnectionOptions, Served, serve_connection};
use crate::protocol::Event;
use crate::shim::ShimHandle;
use crate::shim::events::LogItem;

/// Default number of clients served at once.
pub const DEFAULT_MAX_CLIENTS: usize = 16;

/// Default time a frame to a client may take to be written before the client is closed.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long accepting pauses after the listener failed (out of descriptors, say).
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// The bounds every client of a listening shim is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientRules {
    /// Clients served at once; one more displaces the one quiet for the longest.
    pub max_clients: usize,
    /// A frame that cannot be written to a client within this long closes that client.
    pub write_timeout: Duration,
}

impl Default for ClientRules {
    fn default() -> Self {
        Self {
            max_clients: DEFAULT_MAX_CLIENTS,
            write_timeout: DEFAULT_WRITE_TIMEOUT,
        }
    }
}

/// Why [`serve_clients`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientsEnd {
    /// The agent is dead and a client that received its `Died` has left (or the log closed).
    AgentGone,
    /// The `stop` future resolved; the agent may still be running.
    Stopped,
}

/// One admitted connection, as the listener sees it.
struct OpenClient {
    /// When the client last sent a frame (or connected), and whether it is a link; its
    /// connection holds the sender.
    activity: watch::Receiver<ClientActivity>,
    /// Closes the connection with a reason; its connection holds the receiver. `None` once
    /// used: that client is on its way out.
    displace: Option<oneshot::Sender<String>>,
}

impl OpenClient {
    /// A client that may be closed to make room: not on its way out already, not a link (a
    /// host's link counts against no bound, so plain clients can never push it out), and not
    /// attached (attachments have their own bound, [`crate::shim::attach`]).
    fn displaceable(&self) -> bool {
        let activity = self.activity.borrow();
        self.displace.is_some() && !activity.linked && !activity.attached
    }
}

/// The connections of one shim and the resume point the next one starts from.
struct Clients {
    rules: ClientRules,
    /// One task per connection, each returning how it ended.
    tasks: JoinSet<Served>,
    open: HashMap<Id, OpenClient>,
    /// Seq of the last event written to the latest client that left by itself.
    resume_after: u64,
}

impl Clients {
    fn admit(&mut self, stream: UnixStream, handle: &ShimHandle) {
        let staying = self.open.values().filter(|c| c.displaceable()).count();
        if staying >= self.rules.max_clients {
            self.displace_quietest();
        }
        let (activity, seen) = watch::channel(ClientActivity::connected());
        let (displace, displaced) = oneshot::channel();
        let options = ConnectionOptions {
            after_seq: self.resume_after,
            write_timeout: Some(self.rules.write_timeout),
            displace: Some(displaced),
            activity: Some(activity),
        };
        let handle = handle.clone();
        let task = self
            .tasks
            .spawn(async move { serve_connection(stream, &handle, options).await });
        tracing::info!(after_seq = self.resume_after, "client connected");
        self.open.insert(
            task.id(),
            OpenClient {
                activity: seen,
                displace: Some(displace),
            },
        );
    }

    fn displace_quietest(&mut self) {
        let quietest = self
            .open
            .values_mut()
            .filter(|c| c.displaceable())
            .min_by_key(|c| c.activity.borrow().last_frame);
        if let Some(displace) = quietest.and_then(|c| c.displace.take()) {
            let max = self.rules.max_clients;
            let _ = displace.send(format!(
                "connection closed to make room for a new client: {max} clients are connected \
                 and this one has been quiet for the longest"
            ));
        }
    }

    /// Records the end of a connection; a client that left by itself moves the resume point.
    fn ended(&mut self, id: Id, served: Served) {
        self.open.remove(&id);
        tracing::info!(end = ?served.end, delivered_seq = served.delivered_seq, "client gone");
        if served.end.client_left() {
            self.resume_after = served.delivered_seq;
        }
    }
}

/// Serves every client that connects to `listener` until the agent is gone (see
/// [`ClientsEnd`]) or `stop` resolves. Connections still open then are closed.
pub async fn serve_clients(
    listener: &UnixListener,
    handle: &ShimHandle,
    rules: ClientRules,
    stop: impl Future<Output = ()>,
) -> ClientsEnd {
    let mut clients = Clients {
        rules,
        tasks: JoinSet::new(),
        open: HashMap::new(),
        resume_after: 0,
    };
    let mut death = handle.subscribe(0);
    let mut died_seq = None;
    tokio::pin!(stop);
    loop {
        if died_seq.is_some_and(|died| clients.resume_after >= died) {
            return ClientsEnd::AgentGone;
        }
        tokio::select! {
            () = &mut stop => return ClientsEnd::Stopped,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => clients.admit(stream, handle),
                Err(error) => {
                    tracing::warn!(%error, "cannot accept a client; retrying");
                    tokio::time::sleep(ACCEPT_RETRY).await;
                }
            },
            Some(joined) = clients.tasks.join_next_with_id() => match joined {
                Ok((id, served)) => clients.ended(id, served),
                Err(error) => {
                    tracing::error!(%error, "a client connection task failed");
                    clients.open.remove(&error.id());
                }
            },
            item = death.next(), if died_seq.is_none() => match item {
                Some(LogItem::Event(envelope)) if matches!(envelope.event, Event::Died { .. }) => {
                    died_seq = Some(envelope.seq);
                }
                Some(_) => {}
                None => return ClientsEnd::AgentGone,
            },
        }
    }
}
