"""A scripted OpenAI-compatible peer on 127.0.0.1, for the tests and the soak.

A real HTTP server rather than respx: the OpenAI SDK 3.x speaks through httpx2, which
respx cannot intercept, and a socket tests the wire exactly as a local server sees it.
"""

from __future__ import annotations

import collections
import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


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


@contextlib.contextmanager
def running_peer() -> Iterator[OpenAIPeer]:
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
