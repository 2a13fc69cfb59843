//! The framed-JSON front end of one shim (`agentshim shim`): the customer's protocol, `Command`
//! frames in and `Event` frames out, over one connection ([`connection`]) or shared by several
//! clients of a listening Unix socket at once ([`clients`]).
//!
//! Each connection has its own event subscription and is served on its own task, so nothing a
//! client does (sending nothing, reading nothing, sending garbage) holds up the agent or
//! another client. The rules of sharing, as the README states them for `--socket`:
//!
//! - **Where a new connection starts.** At the *resume point*: the seq of the last event
//!   written to the most recent client that left by itself (closed its side, broke the
//!   connection, or sent an oversize frame); before any client has left, at the start of what
//!   the event log retains. An orchestrator that reconnects therefore receives exactly what
//!   happened while it was away, even if other clients stayed connected meanwhile; a second
//!   client that connects beside the first one receives the retained history first. The shim
//!   cannot tell clients apart (the protocol has no client identity), so when several clients
//!   leave and come back, the one that left last sets the point; what a client misses is
//!   never silent: an evicted range arrives as a `Warning` naming it.
//! - **A client that does not read.** Its events wait in the event log, not in memory of its
//!   own. A frame the shim cannot write to it within the write timeout closes it (it may end
//!   mid-frame); that client did not leave by itself, so it does not move the resume point,
//!   and it finds what it missed by reconnecting. A reader that falls behind the log's
//!   capacity without hitting the timeout is told the lost range in a `Warning`.
//! - **How many.** At most `max_clients` at once; one more closes the connection that has sent
//!   nothing for the longest (with an `Error` saying so when its socket takes it), so stuck
//!   clients can never lock a real one out. Links (a host's connection,
//!   [`crate::protocol::link`]) are not counted and never closed to make room.
//! - **The end.** After the agent has died, the shim exits when a client that has received its
//!   `Died` leaves; the other connections are closed then.
//!
//! With an inherited descriptor (`--fd`) there is one client, served without a write timeout
//! (a slow parent only falls behind); when it leaves, the caller shuts the agent down.

mod attach;
pub mod calls;
pub mod clients;
pub mod connection;

pub use clients::{ClientRules, ClientsEnd, serve_clients};
pub use connection::{ConnectionEnd, ConnectionOptions, Served, apply, serve_connection};
