"""`AsyncClient`: the asyncio twin of `agentshim.Client` (grpc.aio), with the same methods,
arguments and errors; `events` is an async iterator that resumes the same way."""

import asyncio
import time

import grpc

from . import _requests
from .connection import CHANNEL_OPTIONS, Credentials, credentials
from .errors import AgentShimError, Unavailable, from_rpc_error
from .resume import Cursor
from .v1 import agentshim_pb2 as pb
from .v1 import agentshim_pb2_grpc as pb_grpc


class AsyncClient:
    """See `agentshim.Client`. Use it as an async context manager, or `await close()`."""

    def __init__(self, addr=None, token=None, tls_ca=None):
        self._credentials = Credentials(addr, token)
        self.target = self._credentials.target
        if self.target.tls:
            self._channel = grpc.aio.secure_channel(
                self.target.grpc_target, credentials(tls_ca), options=CHANNEL_OPTIONS
            )
        else:
            self._channel = grpc.aio.insecure_channel(self.target.grpc_target, options=CHANNEL_OPTIONS)
        self.rpc = pb_grpc.AgentShimServiceStub(self._channel)

    async def __aenter__(self):
        return self

    async def __aexit__(self, *_):
        await self.close()

    async def close(self):
        await self._channel.close()

    async def _call(self, method, request, timeout=None):
        try:
            return await method(request, metadata=self._credentials.metadata(), timeout=timeout)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.UNAUTHENTICATED or not self._credentials.refreshed():
                raise from_rpc_error(error) from None
        try:
            return await method(request, metadata=self._credentials.metadata(), timeout=timeout)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None

    async def spawn(self, profile="", id=None, cwd=None, env=None, rows=None, cols=None,
                    record=None, wait_ready=True, ready_timeout=120):
        request = _requests.create(profile, id, cwd, env, rows, cols, record)
        shim = (await self._call(self.rpc.CreateShim, request)).shim
        if wait_ready:
            deadline = time.monotonic() + ready_timeout
            async for envelope in self.events(shim.id, reconnect=False, deadline=deadline):
                seen = _requests.is_ready_or_died(envelope)
                if seen == "ready":
                    break
                if seen == "died":
                    raise _requests.died_before_ready(shim.id, envelope)
            shim = await self.get(shim.id)
        return shim

    async def list(self):
        return list((await self._call(self.rpc.ListShims, pb.ListShimsRequest())).shims)

    async def get(self, shim_id):
        return (await self._call(self.rpc.GetShim, pb.GetShimRequest(shim_id=shim_id))).shim

    async def delete(self, shim_id):
        await self._call(self.rpc.DeleteShim, pb.DeleteShimRequest(shim_id=shim_id))

    async def kill(self, shim_id):
        return _requests.exit_code(await self._call(self.rpc.Kill, pb.KillRequest(shim_id=shim_id)))

    async def send(self, shim_id, text, wait=True, timeout=None, message_id=None, sender=None):
        request, message_id = _requests.send(shim_id, text, wait, message_id, sender)
        try:
            response = await self._call(
                self.rpc.SendMessage, request, timeout=timeout if wait else None
            )
        except AgentShimError as error:
            if _requests.ran_out_of_time(error, timeout):
                raise _requests.no_answer_in_time(timeout, message_id) from None
            raise
        return response.completion if wait else None

    async def answer(self, shim_id, option):
        request = pb.AnswerRequest(shim_id=shim_id, option=option)
        return (await self._call(self.rpc.Answer, request)).chosen

    async def keys(self, shim_id, keys):
        await self._call(self.rpc.SendKeys, pb.SendKeysRequest(shim_id=shim_id, keys=keys))

    async def capture(self, shim_id, last_n_lines=None, scrollback=False):
        request = _requests.capture(shim_id, last_n_lines, scrollback)
        return (await self._call(self.rpc.CaptureScreen, request)).screen.content

    async def state(self, shim_id):
        response = await self._call(self.rpc.GetState, pb.GetStateRequest(shim_id=shim_id))
        return _requests.state_name(response.state)

    async def server_info(self):
        return await self._call(self.rpc.GetServerInfo, pb.GetServerInfoRequest())

    async def _finished(self, shim_id):
        """Whether the per-shim stream the server ended is over: its shim is dead (a shim
        deleted meanwhile raises NotFound; an unreachable server means it went away)."""
        if not shim_id:
            return False
        try:
            return (await self.get(shim_id)).state == pb.SHIM_STATE_DEAD
        except Unavailable:
            return False

    async def events(self, shim_id=None, after_seq=0, reconnect=True, reconnect_for=60,
                     deadline=None):
        cursor = Cursor(shim_id, after_seq, reconnect, reconnect_for, self._credentials)
        while True:
            left = None if deadline is None else max(deadline - time.monotonic(), 0.001)
            call = self.rpc.StreamEvents(cursor.request(), metadata=self._credentials.metadata(), timeout=left)
            try:
                if not cursor.opened(await call.initial_metadata()):
                    call.cancel()
                    continue
                async for response in call:
                    cursor.seen(response.envelope)
                    yield response.envelope
                if cursor.ended() or await self._finished(shim_id):
                    return
                await asyncio.sleep(cursor.went_away())
            except grpc.RpcError as error:
                await asyncio.sleep(cursor.failed(error))
