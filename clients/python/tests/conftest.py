"""A real `agentshim serve` for the tests (the binary in AGENTSHIM_BIN, default the
repository's debug build), with a bash profile, its own state and runtime directories, on a
loopback port of its own, stopped when the test ends."""

import os
import signal
import socket
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
BIN = os.environ.get("AGENTSHIM_BIN", str(REPO / "target" / "debug" / "agentshim"))
PROMPT = "py-test$ "
CONFIG = f"""
[profiles.bash]
command = ["bash", "--norc", "--noprofile", "-i"]
env = {{ PS1 = "{PROMPT}", HISTFILE = "/dev/null", LANG = "C.UTF-8" }}
"""


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """One `agentshim serve` process; `start()` again after `stop()` for a restart on the
    same port and state directory."""

    def __init__(self, dir):
        self.dir = dir
        self.port = free_port()
        self.addr = f"127.0.0.1:{self.port}"
        (dir / "agentshim.toml").write_text(CONFIG)
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [BIN, "serve", "--listen", self.addr, "--config", str(self.dir / "agentshim.toml"),
             "--state-dir", str(self.dir / "state")],
            env={**os.environ, "XDG_RUNTIME_DIR": str(self.dir), "RUST_LOG": "warn"},
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        line = self.process.stdout.readline()
        assert line.startswith("agentshim listening on "), line

    def stop(self, sig=signal.SIGTERM):
        self.process.send_signal(sig)
        assert self.process.wait(timeout=60) == 0


@pytest.fixture
def server(tmp_path, monkeypatch):
    os.chmod(tmp_path, 0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    monkeypatch.setenv("AGENTSHIM_ADDR", "")
    monkeypatch.delenv("AGENTSHIM_TOKEN", raising=False)
    served = Server(tmp_path)
    served.start()
    yield served
    if served.process.poll() is None:
        served.stop()
