"""The errors of an agentshim server, one class per gRPC status code a caller acts on
differently, each carrying the server's message and the code."""

import grpc


class AgentShimError(Exception):
    """A call failed; `code` is the gRPC status code (None when no server answered)."""

    def __init__(self, message, code=None):
        super().__init__(message)
        self.message = message
        self.code = code


class NotFound(AgentShimError):
    """No shim has that id."""


class AlreadyExists(AgentShimError):
    """The shim id (or message id) is taken."""


class InvalidArgument(AgentShimError):
    """A value the server cannot use (a size, an id, an option out of range, ...)."""


class FailedPrecondition(AgentShimError):
    """The agent is dead, or cannot take the request now (no question to answer, ...)."""


class ResourceExhausted(AgentShimError):
    """A limit is reached (the message queue, the number of shims, ...)."""


class PermissionDenied(AgentShimError):
    """The server does not allow it (a command of the client's own, a variable, ...)."""


class Unauthenticated(AgentShimError):
    """The token is missing or wrong."""


class Unavailable(AgentShimError):
    """The server (or the shim's process) cannot be reached."""


class Timeout(AgentShimError):
    """The call's own time limit passed; what it asked for may still happen."""


_BY_CODE = {
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: Timeout,
}


def from_rpc_error(error):
    """The AgentShimError of a failed gRPC call."""
    code = error.code()
    cls = _BY_CODE.get(code, AgentShimError)
    return cls(f"{error.details()} ({code.name})", code)
