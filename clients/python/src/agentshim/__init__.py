"""agentshim: the Python client of an agentshim server, which runs interactive AI coding
agents (Claude Code, Codex, Gemini, any shell or REPL) as remote-controllable services.

    from agentshim import Client

    with Client() as client:                  # AGENTSHIM_ADDR, else 127.0.0.1:50051
        shim = client.spawn("shell")          # waits until the agent is ready
        answer = client.send(shim.id, "echo hello", timeout=30)
        print(answer.response)                # hello
        for event in client.events(shim.id):  # resumes across disconnects and restarts
            print(event.seq, event.WhichOneof("event"))

`AsyncClient` is the same for asyncio. The generated stubs are `agentshim.v1`."""

from .aio import AsyncClient
from .client import Client
from .errors import (
    AgentShimError,
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Timeout,
    Unauthenticated,
    Unavailable,
)

__all__ = [
    "AgentShimError",
    "AlreadyExists",
    "AsyncClient",
    "Client",
    "FailedPrecondition",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "ResourceExhausted",
    "Timeout",
    "Unauthenticated",
    "Unavailable",
]
