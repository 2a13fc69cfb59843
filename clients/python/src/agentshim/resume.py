"""Where an event stream stopped, and what to do when it breaks: the one piece of logic the
blocking and the asyncio clients share for resuming.

On the same server process a stream resumes by `seq`. A server that restarted has a new boot
id (its response header) and new seqs (a seq of ours beyond its newest is OUT_OF_RANGE): the
stream then starts again from 0 with `after_shim_seqs`, the last `shim_seq` seen of each
shim, which the shim processes keep across server restarts, so each event comes once."""

import time

import grpc

from . import _requests
from .errors import Unavailable, from_rpc_error

BOOT_ID_HEADER = "agentshim-boot-id"

#: Longest pause between two attempts to open a broken stream again.
MAX_BACKOFF = 2.0


def boot_id_of(metadata):
    return dict(metadata or ()).get(BOOT_ID_HEADER)


class Cursor:
    """The place of one resuming stream."""

    def __init__(self, shim_id, after_seq, reconnect, reconnect_for, credentials):
        self.shim_id = shim_id
        self.after = after_seq
        self.shim_seqs = {}
        self.boot_id = None
        self.reconnect = reconnect
        self.reconnect_for = reconnect_for
        self.broken_since = None
        self.credentials = credentials
        self.died = False

    def request(self):
        shim_seqs = self.shim_seqs if self.after == 0 else {}
        return _requests.stream(self.shim_id, self.after, shim_seqs)

    def opened(self, metadata):
        """The stream's headers came; False when they name another server process than the
        one the cursor's seqs come from (open again, from the shims' own seqs)."""
        server = boot_id_of(metadata)
        if self.boot_id is not None and server != self.boot_id:
            self.boot_id, self.after = server, 0
            return False
        self.boot_id = server
        return True

    def seen(self, envelope):
        self.broken_since = None
        self.after = envelope.seq
        if envelope.shim_seq:
            self.shim_seqs[envelope.shim_id] = envelope.shim_seq
        if self.shim_id and envelope.WhichOneof("event") == "died":
            self.died = True

    def ended(self):
        """The server ended the stream: True when that is surely the end (a per-shim stream
        after its shim's death, or without `reconnect`). Otherwise the server went away
        (stopping, restarting), or the shim died before the cursor: the client asks."""
        return self.died or not self.reconnect

    def went_away(self):
        """How long to wait before opening again a stream the server ended while going away
        (it stopped for an upgrade, say)."""
        return self._backoff("the server ended the event stream", None)

    def failed(self, error):
        """How long to wait before opening the stream again after `error`; raises the
        AgentShimError when the stream is not to be opened again."""
        code = error.code()
        if code == grpc.StatusCode.OUT_OF_RANGE:
            self.boot_id, self.after = boot_id_of(error.trailing_metadata()), 0
            return 0.0
        if code == grpc.StatusCode.UNAUTHENTICATED and self.credentials.refreshed():
            return 0.0
        if not self.reconnect or code != grpc.StatusCode.UNAVAILABLE:
            raise from_rpc_error(error) from None
        return self._backoff(f"the event stream broke ({error.details()})", code)

    def _backoff(self, why, code):
        """The pause before the next attempt; Unavailable once the stream has been down for
        longer than `reconnect_for`."""
        now = time.monotonic()
        self.broken_since = self.broken_since or now
        down_for = now - self.broken_since
        if down_for > self.reconnect_for:
            raise Unavailable(f"{why} and was not back within {self.reconnect_for} s", code)
        return min(0.1 * 2 ** min(int(down_for), 4), MAX_BACKOFF)
