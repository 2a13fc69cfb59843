"""The Python client against a real server and real bash shims: calls, typed errors, the
token found as the CLI finds it, events resumed across a server restart, and asyncio."""

import asyncio
import signal
import threading
import time
from datetime import timezone

import pytest

import agentshim
from agentshim import Client


def test_a_shell_is_driven_with_typed_answers_and_errors(server):
    with Client(server.addr) as client:  # the token a local server generated, found alone
        shim = client.spawn("bash", id="py1")
        assert shim.id == "py1" and client.state("py1") == "idle"
        age = time.time() - shim.created_at.ToDatetime(tzinfo=timezone.utc).timestamp()
        assert 0 <= age < 60, shim.created_at
        answer = client.send("py1", "echo from-python-$((6*7))")
        assert answer.response.strip() == "from-python-42"
        assert "from-python-42" in client.capture("py1")
        assert client.send("py1", "sleep 0.2", wait=False) is None
        with pytest.raises(agentshim.Timeout, match="stays accepted"):
            client.send("py1", "sleep 5; echo late", timeout=0.5)
        with pytest.raises(agentshim.NotFound):
            client.send("nope", "hello")
        with pytest.raises(agentshim.FailedPrecondition, match="no question"):
            client.answer("py1", 1)
        with pytest.raises(agentshim.InvalidArgument):
            client.keys("py1", "<NoSuchKey>")
        assert [s.id for s in client.list()] == ["py1"]
        assert client.kill("py1") == 137
        client.delete("py1")
    with pytest.raises(agentshim.Unauthenticated):
        Client(server.addr, token="wrong").list()


def test_events_resume_across_a_server_restart_without_a_gap_or_a_repeat(server):
    client = Client(server.addr)
    client.spawn("bash", id="r1")
    client.send("r1", "echo before")
    seen = []
    failures = []
    completions = threading.Event()

    def follow():
        try:
            for envelope in Client(server.addr).events("r1", reconnect_for=120):
                seen.append(envelope)
                done = [e for e in seen if e.WhichOneof("event") == "completion"]
                if len(done) == 2:
                    completions.set()
                    return
        except agentshim.AgentShimError as error:
            failures.append(error)
            completions.set()

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    # An upgrade: the server leaves its shim running, and the next one adopts it.
    server.stop(signal.SIGUSR1)
    server.start()
    send_when_reachable(Client(server.addr), "r1", "echo after-the-restart")
    assert completions.wait(60), [e.WhichOneof("event") for e in seen]
    assert not failures, failures
    shim_seqs = [e.shim_seq for e in seen if e.shim_seq]
    assert shim_seqs == list(range(1, len(shim_seqs) + 1)), shim_seqs
    answers = [e.completion.response.strip() for e in seen if e.WhichOneof("event") == "completion"]
    assert answers == ["before", "after-the-restart"]


def send_when_reachable(client, shim_id, text, within=30):
    """Sends once the server answers: a channel that saw it go away tries it again only
    after its reconnect backoff (at most 2 s)."""
    deadline = time.monotonic() + within
    while True:
        try:
            return client.send(shim_id, text)
        except agentshim.Unavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_the_asyncio_client_is_the_same(server):
    async def drive():
        async with agentshim.AsyncClient(server.addr) as client:
            await client.spawn("bash", id="a1")
            answer = await client.send("a1", "echo async-$((1+1))")
            assert answer.response.strip() == "async-2"
            kinds = []
            async for envelope in client.events("a1"):
                kinds.append(envelope.WhichOneof("event"))
                if kinds[-1] == "completion":
                    break
            assert kinds[0] == "ready" and "message_delivered" in kinds
            with pytest.raises(agentshim.NotFound):
                await client.state("nope")

    asyncio.run(drive())
