"""`Client`: the blocking client of an agentshim server, over the generated stubs
(`agentshim.v1`). Every method raises an `AgentShimError` subclass on failure."""

import time

import grpc

from . import _requests
from .connection import CHANNEL_OPTIONS, Credentials, credentials
from .errors import AgentShimError, Unavailable, from_rpc_error
from .resume import Cursor
from .v1 import agentshim_pb2 as pb
from .v1 import agentshim_pb2_grpc as pb_grpc

class Client:
    """A connection to one server. `addr`: `HOST:PORT`, `http://HOST:PORT`,
    `https://HOST:PORT` or `unix:/PATH` (default `AGENTSHIM_ADDR`, else 127.0.0.1:50051);
    `token`: the bearer token (default `AGENTSHIM_TOKEN`, else the one a local server
    generated, as the `agentshim` CLI finds it). Use it as a context manager, or `close()`."""

    def __init__(self, addr=None, token=None, tls_ca=None):
        self._credentials = Credentials(addr, token)
        self.target = self._credentials.target
        if self.target.tls:
            self._channel = grpc.secure_channel(
                self.target.grpc_target, credentials(tls_ca), options=CHANNEL_OPTIONS
            )
        else:
            self._channel = grpc.insecure_channel(self.target.grpc_target, options=CHANNEL_OPTIONS)
        self.rpc = pb_grpc.AgentShimServiceStub(self._channel)

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.close()

    def close(self):
        self._channel.close()

    def _call(self, method, request, timeout=None):
        try:
            return method(request, metadata=self._credentials.metadata(), timeout=timeout)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.UNAUTHENTICATED or not self._credentials.refreshed():
                raise from_rpc_error(error) from None
        try:
            return method(request, metadata=self._credentials.metadata(), timeout=timeout)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None

    # ---- shims ---------------------------------------------------------------------------

    def spawn(self, profile="", id=None, cwd=None, env=None, rows=None, cols=None,
              record=None, wait_ready=True, ready_timeout=120):
        """Starts a shim of `profile` and, with `wait_ready`, returns once its agent is ready
        for a message (raising FailedPrecondition if it dies first); its ShimInfo."""
        request = _requests.create(profile, id, cwd, env, rows, cols, record)
        shim = self._call(self.rpc.CreateShim, request).shim
        if wait_ready:
            deadline = time.monotonic() + ready_timeout
            for envelope in self.events(shim.id, reconnect=False, deadline=deadline):
                seen = _requests.is_ready_or_died(envelope)
                if seen == "ready":
                    break
                if seen == "died":
                    raise _requests.died_before_ready(shim.id, envelope)
            shim = self.get(shim.id)
        return shim

    def list(self):
        return list(self._call(self.rpc.ListShims, pb.ListShimsRequest()).shims)

    def get(self, shim_id):
        return self._call(self.rpc.GetShim, pb.GetShimRequest(shim_id=shim_id)).shim

    def delete(self, shim_id):
        self._call(self.rpc.DeleteShim, pb.DeleteShimRequest(shim_id=shim_id))

    def kill(self, shim_id):
        """SIGKILLs the agent and all it started; its exit code (None if unknown)."""
        return _requests.exit_code(self._call(self.rpc.Kill, pb.KillRequest(shim_id=shim_id)))

    # ---- messages and input --------------------------------------------------------------

    def send(self, shim_id, text, wait=True, timeout=None, message_id=None, sender=None):
        """Sends `text`. With `wait`, returns the agent's answer (a Completion: `.response`,
        `.message_id`, ...), raising Timeout after `timeout` seconds (the message stays
        accepted); without, returns None once it is accepted (typed now or queued)."""
        request, message_id = _requests.send(shim_id, text, wait, message_id, sender)
        try:
            response = self._call(self.rpc.SendMessage, request, timeout=timeout if wait else None)
        except AgentShimError as error:
            if _requests.ran_out_of_time(error, timeout):
                raise _requests.no_answer_in_time(timeout, message_id) from None
            raise
        return response.completion if wait else None

    def answer(self, shim_id, option):
        """Picks option `option` (1-based) of the question the agent asks; its text."""
        request = pb.AnswerRequest(shim_id=shim_id, option=option)
        return self._call(self.rpc.Answer, request).chosen

    def keys(self, shim_id, keys):
        """Types raw input with named keys: `"<Down><Enter>"`, `"<C-c>"`."""
        self._call(self.rpc.SendKeys, pb.SendKeysRequest(shim_id=shim_id, keys=keys))

    def capture(self, shim_id, last_n_lines=None, scrollback=False):
        """The screen as text."""
        request = _requests.capture(shim_id, last_n_lines, scrollback)
        return self._call(self.rpc.CaptureScreen, request).screen.content

    def state(self, shim_id):
        """The state's name: `idle`, `working`, `awaiting_input`, `dead`, ..."""
        response = self._call(self.rpc.GetState, pb.GetStateRequest(shim_id=shim_id))
        return _requests.state_name(response.state)

    def server_info(self):
        return self._call(self.rpc.GetServerInfo, pb.GetServerInfoRequest())

    # ---- events --------------------------------------------------------------------------

    def _finished(self, shim_id):
        """Whether the per-shim stream the server ended is over: its shim is dead (a shim
        deleted meanwhile raises NotFound; an unreachable server means it went away)."""
        if not shim_id:
            return False
        try:
            return (self.get(shim_id)).state == pb.SHIM_STATE_DEAD
        except Unavailable:
            return False

    def events(self, shim_id=None, after_seq=0, reconnect=True, reconnect_for=60,
               deadline=None):
        """The events of one shim (or of all with None) after `after_seq`, then live ones,
        as EventEnvelopes, each once. With `reconnect`, a broken stream is opened again
        (backing off, for up to `reconnect_for` seconds) where it stopped, on the same server
        process or on a restarted one (see `agentshim.resume`). A per-shim stream ends after
        the shim's death. `deadline`: a `time.monotonic()` to stop at (Timeout)."""
        cursor = Cursor(shim_id, after_seq, reconnect, reconnect_for, self._credentials)
        while True:
            left = None if deadline is None else max(deadline - time.monotonic(), 0.001)
            try:
                call = self.rpc.StreamEvents(
                    cursor.request(), metadata=self._credentials.metadata(), timeout=left
                )
                if not cursor.opened(call.initial_metadata()):
                    call.cancel()
                    continue
                for response in call:
                    cursor.seen(response.envelope)
                    yield response.envelope
                if cursor.ended() or self._finished(shim_id):
                    return
                time.sleep(cursor.went_away())
            except grpc.RpcError as error:
                time.sleep(cursor.failed(error))
