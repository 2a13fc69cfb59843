"""Where a server is and how to get in: the address forms the `agentshim` CLI accepts
(`HOST:PORT`, `http://HOST:PORT`, `https://HOST:PORT`, `unix:/PATH`), and the token: the one
given, else `AGENTSHIM_TOKEN`, else for a server on a loopback address the token it generated
into the user's runtime directory (`$XDG_RUNTIME_DIR/agentshim/tokens/IP-PORT`, else
`$TMPDIR/agentshim-UID/tokens/IP-PORT`), read only from directories the user alone owns."""

import ipaddress
import os
import stat
import tempfile
from pathlib import Path

DEFAULT_ADDR = "127.0.0.1:50051"

#: Channel options: a server that restarted is tried again within 2 s (gRPC's own default
#: backs off up to two minutes).
CHANNEL_OPTIONS = (
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 2000),
)


class Target:
    """A parsed server address."""

    def __init__(self, addr):
        self.addr = addr
        self.tls = False
        self.host = None
        self.port = None
        if addr.startswith("unix:"):
            self.grpc_target = addr
            return
        rest = addr
        for scheme in ("http://", "https://"):
            if rest.startswith(scheme):
                self.tls = scheme == "https://"
                rest = rest[len(scheme):]
        rest = rest.rstrip("/")
        host, sep, port = rest.rpartition(":")
        if not sep or not port.isdigit():
            raise ValueError(f"invalid server address `{addr}`: HOST:PORT or unix:/PATH")
        self.host = host.strip("[]")
        self.port = int(port)
        self.grpc_target = rest

    def loopback_ip(self):
        """The loopback IP the server listens on (`localhost` is 127.0.0.1), else None."""
        if self.host is None:
            return None
        if self.host == "localhost":
            return "127.0.0.1"
        try:
            ip = ipaddress.ip_address(self.host)
        except ValueError:
            return None
        return str(ip) if ip.is_loopback else None


def _private_dir(path):
    """Whether `path` is a real directory of this user's that nobody else may use."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return False
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        raise PermissionError(f"{path} is not a private directory of this user's")
    if info.st_mode & 0o077:
        raise PermissionError(f"{path} is open to other users (mode {info.st_mode & 0o777:o})")
    return True


def runtime_dirs():
    """Where a local server's generated token may be, in the order the CLI looks."""
    dirs = []
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg and os.path.isabs(xdg):
        dirs.append(Path(xdg) / "agentshim")
    dirs.append(Path(tempfile.gettempdir()) / f"agentshim-{os.geteuid()}")
    return dirs


def generated_token(target):
    """The token a server on this host generated for `target`, if there is one."""
    ip = target.loopback_ip()
    if ip is None:
        return None
    for base in runtime_dirs():
        tokens = base / "tokens"
        if not (_private_dir(base) and _private_dir(tokens)):
            continue
        path = tokens / f"{ip}-{target.port}"
        if path.is_file():
            return path.read_text().strip()
    return None


class Credentials:
    """The target and how to authenticate to it (`addr` default `AGENTSHIM_ADDR`, else
    127.0.0.1:50051). A token found in the runtime directory is read again when the server
    refuses it: a local server that restarted generated a new one."""

    def __init__(self, addr=None, token=None):
        self.target = Target(addr or os.environ.get("AGENTSHIM_ADDR") or DEFAULT_ADDR)
        given = token or os.environ.get("AGENTSHIM_TOKEN")
        self.generated = given is None
        self.token = given or generated_token(self.target)

    def metadata(self):
        return (("authorization", f"Bearer {self.token}"),) if self.token else ()

    def refreshed(self):
        """Reads a generated token again; True when it changed (worth a retry)."""
        if not self.generated:
            return False
        token = generated_token(self.target)
        changed = token != self.token
        self.token = token
        return changed


def credentials(tls_ca=None):
    """TLS credentials, trusting the CA in the PEM file `tls_ca` (default: the system's)."""
    import grpc

    root = Path(tls_ca).read_bytes() if tls_ca else None
    return grpc.ssl_channel_credentials(root_certificates=root)
