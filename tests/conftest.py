"""Fixtures shared by every suite: one fixture per port, parametrized over its adapters."""

from __future__ import annotations

import collections
import contextlib
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from companion.adapters.memory import (
    InMemoryConversationStore,
    InMemoryMemoryStore,
    InMemoryProfileStore,
)
from companion.adapters.postgres.database import PostgresDatabase
from companion.adapters.postgres.postgres_conversation_store import PostgresConversationStore
from companion.adapters.postgres.postgres_memory_store import PostgresMemoryStore
from companion.adapters.postgres.postgres_profile_store import PostgresProfileStore
from companion.adapters.sqlite.database import SqliteDatabase
from companion.adapters.sqlite.sqlite_conversation_store import SqliteConversationStore
from companion.adapters.sqlite.sqlite_memory_store import SqliteMemoryStore
from companion.adapters.sqlite.sqlite_profile_store import SqliteProfileStore
from companion.domain.models import Memory, MemoryCategory, MemorySource

pytest_plugins = ["tests.servers.postgres", "tests.servers.redis"]

STORE_BACKENDS = ["memory", "sqlite", "postgres"]
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[SqliteDatabase]:
    db = SqliteDatabase.open(tmp_path / "companion.db")
    yield db
    db.close()


async def _postgres(request: pytest.FixtureRequest) -> PostgresDatabase:
    """A pool on the session's PostgreSQL, its companion tables emptied for this test."""
    # Imported here, not at the top: pytest must import the plugin module first (above,
    # pytest_plugins) so that its asserts are rewritten.
    from tests.servers.postgres import truncate

    dsn = request.getfixturevalue("postgres_server").dsn()
    await truncate(dsn)
    return await PostgresDatabase.open(dsn, min_size=1, max_size=4)


@contextlib.asynccontextmanager
async def _store(
    request: pytest.FixtureRequest,
    file: Path,
    memory: Callable[[], object],
    sqlite: Callable[[SqliteDatabase], object],
    postgres: Callable[[PostgresDatabase], object],
) -> AsyncIterator[object]:
    """The store of the requested backend, closed (or its pool) afterwards."""
    if request.param == "memory":
        yield memory()
    elif request.param == "postgres":
        pg = await _postgres(request)
        try:
            yield postgres(pg)
        finally:
            await pg.close()
    else:
        db = SqliteDatabase.open(file)
        try:
            yield sqlite(db)
        finally:
            db.close()


@pytest.fixture(params=STORE_BACKENDS)
async def memory_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[object]:
    async with _store(
        request,
        tmp_path / "memories.db",
        InMemoryMemoryStore,
        SqliteMemoryStore,
        PostgresMemoryStore,
    ) as store:
        yield store


@pytest.fixture(params=STORE_BACKENDS)
async def profile_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[object]:
    async with _store(
        request,
        tmp_path / "profiles.db",
        InMemoryProfileStore,
        SqliteProfileStore,
        PostgresProfileStore,
    ) as store:
        yield store


@pytest.fixture(params=STORE_BACKENDS)
async def conversation_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[object]:
    async with _store(
        request,
        tmp_path / "conversations.db",
        InMemoryConversationStore,
        SqliteConversationStore,
        PostgresConversationStore,
    ) as store:
        yield store


def make_memory(
    user_id: uuid.UUID,
    text: str,
    *,
    key: str | None = None,
    value: str | None = None,
    category: MemoryCategory = MemoryCategory.FACT,
    importance: int = 5,
    at: datetime = T0,
    minutes: int = 0,
) -> Memory:
    """A memory with sensible defaults for tests."""
    when = at + timedelta(minutes=minutes)
    return Memory(
        id=uuid.uuid4(),
        user_id=user_id,
        category=category,
        text=text,
        importance=importance,
        created_at=when,
        updated_at=when,
        source=MemorySource.CONVERSATION,
        key=key,
        value=value,
    )


# --- A scripted OpenAI-compatible peer on 127.0.0.1 --------------------------------------
# A real HTTP server rather than respx: the OpenAI SDK 3.x speaks through httpx2, which
# respx cannot intercept, and a socket tests the wire exactly as a local server sees it.


@dataclass
class PeerReply:
    """One scripted answer: JSON, an SSE stream of content pieces, or an error status."""

    status: int = 200
    body: Any = None
    pieces: list[str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    # Streamed tool calls: (name, JSON arguments), sent before any content pieces.
    tool_calls: list[tuple[str, str]] | None = None


@dataclass
class PeerRequest:
    """One request as the peer received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


class OpenAIPeer:
    """Answers /v1/chat/completions from a script (then from ``responder``) and records."""

    def __init__(self) -> None:
        self.requests: list[PeerRequest] = []
        self.script: collections.deque[PeerReply] = collections.deque()
        self.get_script: collections.deque[PeerReply] = collections.deque()
        self.responder: Callable[[Any], PeerReply] | None = None
        self.base_url = ""

    @staticmethod
    def completion(content: str) -> dict[str, Any]:
        return {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": "test-model",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
        }

    def answer(self, content: str) -> PeerReply:
        return PeerReply(body=self.completion(content))

    def answer_stream(self, pieces: list[str]) -> PeerReply:
        return PeerReply(pieces=pieces)

    def push(self, content: str) -> None:
        self.script.append(self.answer(content))

    def push_slow(self, content: str, *, delay: float) -> None:
        self.script.append(PeerReply(body=self.completion(content), delay=delay))

    def push_stream(self, pieces: list[str]) -> None:
        self.script.append(PeerReply(pieces=pieces))

    def push_error(self, status: int, message: str = "error", *, times: int = 1) -> None:
        body = {"error": {"message": message, "type": "invalid_request_error", "code": None}}
        # A tiny Retry-After so the SDK's retries do not slow the suite down.
        for _ in range(times):
            self.script.append(PeerReply(status, body, headers={"retry-after-ms": "1"}))

    def next_reply(self, body: Any) -> PeerReply:
        if self.script:
            return self.script.popleft()
        if self.responder is not None:
            return self.responder(body)
        return PeerReply(500, {"error": {"message": "no scripted reply"}})


def _peer_handler(peer: OpenAIPeer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            peer.requests.append(
                PeerRequest("GET", self.path, {k.lower(): v for k, v in self.headers.items()}, None)
            )
            # GETs (model listings: health checks, client warm-ups) have their own script
            # so they never take a chat reply meant for a POST.
            scripted = peer.get_script.popleft() if peer.get_script else None
            reply = scripted or PeerReply(body={"object": "list", "data": []})
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._answer(reply)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = json.loads(raw) if raw else None
            peer.requests.append(
                PeerRequest(
                    "POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
            )
            reply = peer.next_reply(body)
            # The client may have given up (a timeout test): then there is no one to answer.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._answer(reply)

        def _answer(self, reply: PeerReply) -> None:
            if reply.delay:
                time.sleep(reply.delay)
            if reply.pieces is not None or reply.tool_calls is not None:
                self._stream(reply.pieces or [], reply.tool_calls or [])
                return
            data = json.dumps(reply.body).encode()
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _stream(self, pieces: list[str], calls: list[tuple[str, str]]) -> None:
            self.close_connection = True
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            chunks: list[dict[str, Any]] = [
                {
                    "tool_calls": [
                        {
                            "index": n,
                            "id": f"call_{n}",
                            "type": "function",
                            "function": {"name": name, "arguments": arguments},
                        }
                    ]
                }
                for n, (name, arguments) in enumerate(calls)
            ]
            chunks += [{"content": p} for p in pieces]
            last = "tool_calls" if calls else "stop"
            for i, delta in enumerate([{"role": "assistant", "content": ""}, *chunks, {}]):
                finish = last if i == len(chunks) + 1 else None
                chunk = {
                    "id": "chatcmpl-1",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": "test-model",
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                }
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()

    return Handler


@pytest.fixture
def openai_peer() -> Iterator[OpenAIPeer]:
    """A scripted OpenAI-compatible server on 127.0.0.1 (base URL in ``.base_url``)."""
    peer = OpenAIPeer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _peer_handler(peer))
    server.daemon_threads = True
    peer.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield peer
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
