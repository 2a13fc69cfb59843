"""The requests both clients send, built in one place."""

import uuid

import grpc

from .errors import AgentShimError, Timeout
from .v1 import agentshim_pb2 as pb


def create(profile, shim_id, cwd, env, rows, cols, record):
    return pb.CreateShimRequest(
        id=shim_id or "",
        profile=profile or "",
        cwd=cwd or "",
        env=env or {},
        rows=rows or 0,
        cols=cols or 0,
        record=record,
    )


def send(shim_id, text, wait, message_id, sender):
    """The request, and the message id (chosen here, so a timeout can name it)."""
    message_id = message_id or str(uuid.uuid4())
    request = pb.SendMessageRequest(
        shim_id=shim_id, body=text, wait=wait, message_id=message_id, sender=sender or ""
    )
    return request, message_id


def capture(shim_id, last_n_lines, scrollback):
    return pb.CaptureScreenRequest(
        shim_id=shim_id, last_n_lines=last_n_lines or 0, include_scrollback=scrollback
    )


def stream(shim_id, after_seq, after_shim_seqs):
    return pb.StreamEventsRequest(
        shim_id=shim_id or "", after_seq=after_seq, after_shim_seqs=after_shim_seqs
    )


def is_ready_or_died(envelope):
    """`"ready"`, `"died"` or None for an event of a shim that is starting."""
    kind = envelope.WhichOneof("event")
    return kind if kind in ("ready", "died") else None


def died_before_ready(shim_id, envelope):
    return AgentShimError(
        f"shim {shim_id} died before it was ready:\n{envelope.died.last_lines}",
        grpc.StatusCode.FAILED_PRECONDITION,
    )


def ran_out_of_time(error, timeout):
    """Whether `error` is the call's own `timeout` passing: DEADLINE_EXCEEDED, or CANCELLED
    when the server's side of the deadline came first."""
    expired = (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED)
    return timeout is not None and error.code in expired


def no_answer_in_time(timeout, message_id):
    return Timeout(
        f"no answer within {timeout} s; message {message_id} stays accepted and its "
        "Completion still comes in the events",
        grpc.StatusCode.DEADLINE_EXCEEDED,
    )


def state_name(state):
    """`idle` for SHIM_STATE_IDLE."""
    return pb.ShimState.Name(state).removeprefix("SHIM_STATE_").lower()


def exit_code(response):
    return response.exit_code if response.HasField("exit_code") else None
