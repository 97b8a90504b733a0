"""A throwaway ``redis-server`` on 127.0.0.1, for tests and benchmarks.

``redis_server`` is one server for the test session (each user of it takes its own key
namespace); ``own_redis_server`` is a server of the test's own, which the test may stop
and start again (an outage in the middle of a session). Nothing is persisted
(``--save '' --appendonly no``). A missing ``redis-server`` fails the tests with the
command that installs it: a Redis suite is never silently skipped.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

INSTALL_HINT = "run `bash scripts/install-servers.sh` to install redis-server"
_READY_TIMEOUT = 10.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers_ping(port: int, password: str | None = None) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
            if password:
                sock.sendall(f"AUTH {password}\r\n".encode())
                if not sock.recv(16).startswith(b"+OK"):
                    return False
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def redis_server_binary() -> str:
    """The path of ``redis-server``; RuntimeError with the install command if missing."""
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if found is None:
        raise RuntimeError(f"redis-server not found: {INSTALL_HINT}")
    return found


class RedisServer:
    """One ``redis-server`` process on a fixed port, which can be stopped and restarted."""

    def __init__(self, port: int | None = None, *, password: str | None = None) -> None:
        self.binary = redis_server_binary()
        self.port = port or _free_port()
        self.password = password
        self.root = Path(tempfile.mkdtemp(prefix="companion-redis-"))
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the server (on the same port as before) and wait until it answers."""
        if self.running:
            return
        auth = ["--requirepass", self.password] if self.password else []
        self._process = subprocess.Popen(
            [
                self.binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.root),
                "--protected-mode",
                "yes",
                *auth,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + _READY_TIMEOUT
        while not _answers_ping(self.port, self.password):
            if self._process.poll() is not None:
                err = self._process.stderr.read().decode() if self._process.stderr else ""
                self._process = None
                raise RuntimeError(f"redis-server exited at start: {err.strip()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not answer on port {self.port}")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL); its data is gone, as after a crash."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if process.stderr is not None:
            process.stderr.close()

    def freeze(self) -> None:
        """Stop the process without ending it (SIGSTOP): a hung server that keeps its data."""
        if self._process is not None:
            os.kill(self._process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        """Let a frozen server run again (SIGCONT)."""
        if self._process is not None:
            os.kill(self._process.pid, signal.SIGCONT)

    def close(self) -> None:
        self.thaw()
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_redis_server() -> RedisServer:
    """A started server; fails the test (never skips it) when redis-server is missing."""
    try:
        server = RedisServer()
        server.start()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    return server


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One server for the whole session; do not stop it (use ``own_redis_server``)."""
    server = start_redis_server()
    yield server
    server.close()


@pytest.fixture
def own_redis_server() -> Iterator[RedisServer]:
    """A server for this test alone: it may ``stop()`` and ``start()`` it."""
    server = start_redis_server()
    yield server
    server.close()


@pytest.fixture
def redis_namespace() -> str:
    """A key namespace no other test uses."""
    return f"test-{uuid.uuid4().hex[:12]}"
