"""A local Uplift AI realtime TTS peer: python-socketio's AsyncServer (aiohttp) on 127.0.0.1.

An independent implementation of Socket.IO v5 / Engine.IO v4 to test our own client
against, speaking Uplift's message protocol on ``/text-to-speech/multi-stream``: auth by
``{"token"}`` in the namespace connect, ``ready`` on connect, ``synthesize`` → ``audio_start``,
``audio`` (base64, ``sequence`` from 0), ``audio_end``, ``cancel``, and ``error`` messages.

The audio is a deterministic function of the text (:func:`audio_for`), so a test can check
that what it received is exactly, and only, what it asked for. Markers in the text script
the peer: ``[error:CODE]`` answers with that error code, ``[hold]`` sends one chunk and
then waits for a cancel, ``[drop]`` sends one chunk and then cuts the TCP connection.

Run it alone with ``python tests/servers/uplift.py --port 8765`` (key: :data:`KEY`).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import re
import struct
import threading
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import socketio
from aiohttp import web

NAMESPACE = "/text-to-speech/multi-stream"
KEY = "sk_api_peer_9f3c2a7b1e5d4c6a8b0f"
MAX_CHARS = 10_000
_WORD_SECONDS = 0.1  # each word is a 100 ms step of one level
_ERROR_MARK = re.compile(r"\[error:([a-z_]+)\]")


def _pcm16(text: str, samples: int) -> bytes:
    return b"".join(
        struct.pack("<h", zlib.crc32(word.encode()) % 20000 - 10000) * samples
        for word in text.split()
    )


def _wav(data: bytes, *, rate: int, bits: int, fmt_tag: int) -> bytes:
    block = bits // 8
    fmt = struct.pack("<HHIIHH", fmt_tag, 1, rate, rate * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def audio_for(text: str, output_format: str = "PCM_22050_16") -> bytes:
    """The audio the peer speaks for ``text`` in ``output_format`` (one request's worth)."""
    if output_format == "ULAW_8000_8":
        per_word = int(8000 * _WORD_SECONDS)
        return b"".join(bytes([zlib.crc32(w.encode()) % 255 + 1]) * per_word for w in text.split())
    pcm = _pcm16(text, int(22050 * _WORD_SECONDS))
    if output_format == "PCM_22050_16":
        return pcm
    if output_format == "WAV_22050_16":
        return _wav(pcm, rate=22050, bits=16, fmt_tag=1)
    if output_format == "WAV_22050_32":
        wide = bytearray(2 * len(pcm))  # each sample << 16, little-endian
        wide[2::4], wide[3::4] = pcm[0::2], pcm[1::2]
        return _wav(bytes(wide), rate=22050, bits=32, fmt_tag=1)
    if output_format.startswith("MP3"):
        return b"ID3\x04\x00" + pcm[: len(pcm) // 8]
    if output_format.startswith("OGG"):
        return b"OggS\x00" + pcm[: len(pcm) // 8]
    raise ValueError(output_format)


@dataclass
class _Client:
    eio_sid: str
    environ: dict[str, Any]
    request_ids: set[str] = field(default_factory=set)
    streams: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    cancelled: dict[str, asyncio.Event] = field(default_factory=dict)


class UpliftPeer:
    """The peer and what it saw: ``events`` in order, ``requests``, ``cancels``, connections."""

    def __init__(
        self,
        *,
        api_key: str = KEY,
        auth_mode: str = "refuse",
        ping_interval: float = 25,
        ping_timeout: float = 20,
        chunk_bytes: int = 2048,
        chunk_delay: float = 0.0,
        shuffle: bool = False,
    ) -> None:
        self.api_key = api_key
        self.auth_mode = auth_mode  # "refuse": CONNECT_ERROR; "message": error, then disconnect
        self.chunk_bytes = chunk_bytes
        self.chunk_delay = chunk_delay
        self.shuffle = shuffle  # send each pair of chunks swapped: sequence 1, 0, 3, 2, …
        self.events: list[tuple[str, str]] = []
        self.requests: list[dict[str, Any]] = []
        self.cancels: list[str] = []
        self.auth_seen: list[object] = []
        self.queries: list[str] = []
        self.connections = 0
        self.refused = 0
        self._clients: dict[str, _Client] = {}
        self._waiters: set[asyncio.Future[None]] = set()
        self.sio = socketio.AsyncServer(
            async_mode="aiohttp",
            transports=["websocket"],
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            logger=False,
            engineio_logger=False,
        )
        self.app = web.Application()
        self.sio.attach(self.app)
        self.sio.on("connect", self._connect, namespace=NAMESPACE)
        self.sio.on("disconnect", self._disconnect, namespace=NAMESPACE)
        self.sio.on("synthesize", self._synthesize, namespace=NAMESPACE)
        self.sio.on("cancel", self._cancel, namespace=NAMESPACE)
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def open_connections(self) -> int:
        return len(self._clients)

    async def wait_for(self, condition: Callable[[], bool], within: float = 5.0) -> None:
        """Wait until ``condition()`` holds, checked whenever the peer sees something new.

        The deadline is a safety net for a broken client, not a measurement.
        """
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(within):
            while not condition():
                waiter: asyncio.Future[None] = loop.create_future()
                self._waiters.add(waiter)
                try:
                    await waiter
                finally:
                    self._waiters.discard(waiter)

    def _saw(self, kind: str, detail: str) -> None:
        self.events.append((kind, detail))
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def start(self, port: int = 0) -> None:
        self._runner = web.AppRunner(self.app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        for client in list(self._clients.values()):
            for task in client.streams.values():
                task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()

    def drop_all(self) -> None:
        """Cut every client's TCP connection, as a crashed server or a network would."""
        for client in list(self._clients.values()):
            _abort(client.environ)

    async def _connect(self, sid: str, environ: dict[str, Any], auth: object) -> None:
        self.auth_seen.append(auth)
        self.queries.append(str(environ.get("QUERY_STRING", "")))
        ok = isinstance(auth, dict) and auth.get("token") == self.api_key
        if not ok and self.auth_mode == "refuse":
            self.refused += 1
            self._saw("refused", sid)
            raise socketio.exceptions.ConnectionRefusedError("auth_failed")
        eio_sid = self.sio.manager.eio_sid_from_sid(sid, NAMESPACE)
        self._clients[sid] = _Client(eio_sid=eio_sid, environ=environ)
        self.connections += 1
        self._saw("connect", sid)
        self.sio.start_background_task(self._greet, sid, ok)

    async def _greet(self, sid: str, ok: bool) -> None:
        if ok:
            await self._send(sid, {"type": "ready", "sessionId": f"session_{sid}"})
            return
        self.refused += 1
        self._saw("refused", sid)
        await self._send(sid, {"type": "error", "code": "auth_failed", "message": "Invalid key"})
        await self.sio.disconnect(sid, namespace=NAMESPACE)

    async def _disconnect(self, sid: str, reason: object = None) -> None:
        client = self._clients.pop(sid, None)
        self._saw("disconnect", sid)
        if client is not None:
            for task in client.streams.values():
                task.cancel()

    async def _send(self, sid: str, message: dict[str, Any]) -> None:
        await self.sio.emit("message", message, to=sid, namespace=NAMESPACE)

    async def _synthesize(self, sid: str, data: dict[str, Any]) -> None:
        client = self._clients.get(sid)
        if client is None:
            return
        self.requests.append(data)
        request_id = str(data.get("requestId", ""))
        text = str(data.get("text", ""))
        self._saw("synthesize", text)
        error = None
        if request_id in client.request_ids:
            error = "duplicate_request"
        elif len(text) > MAX_CHARS:
            error = "text_too_long"
        elif (mark := _ERROR_MARK.search(text)) is not None:
            error = mark.group(1)
        client.request_ids.add(request_id)
        if error is not None:
            await self._send(
                sid,
                {"type": "error", "requestId": request_id, "code": error, "message": error},
            )
            return
        client.cancelled[request_id] = asyncio.Event()
        task = asyncio.create_task(self._stream(sid, client, request_id, text, data))
        client.streams[request_id] = task

    async def _cancel(self, sid: str, data: dict[str, Any]) -> None:
        request_id = str(data.get("requestId", ""))
        self.cancels.append(request_id)
        self._saw("cancel", request_id)
        client = self._clients.get(sid)
        if client is not None and request_id in client.cancelled:
            client.cancelled[request_id].set()

    async def _stream(
        self, sid: str, client: _Client, request_id: str, text: str, data: dict[str, Any]
    ) -> None:
        output_format = str(data.get("outputFormat") or "PCM_22050_16")
        audio = audio_for(text, output_format)
        chunks = [audio[i : i + self.chunk_bytes] for i in range(0, len(audio), self.chunk_bytes)]
        order = list(range(len(chunks)))
        if self.shuffle:
            for i in range(0, len(order) - 1, 2):
                order[i], order[i + 1] = order[i + 1], order[i]
        if "[hold]" in text or "[drop]" in text:
            order = order[:1]
        cancelled = client.cancelled[request_id]
        await self._send(sid, {"type": "audio_start", "requestId": request_id, "timestamp": 0})
        for sequence in order:
            if cancelled.is_set():
                return
            chunk = base64.b64encode(chunks[sequence]).decode()
            await self._send(
                sid,
                {"type": "audio", "requestId": request_id, "audio": chunk, "sequence": sequence},
            )
            await asyncio.sleep(self.chunk_delay)
        if "[drop]" in text:
            _abort(client.environ)
            return
        if "[hold]" in text:
            await cancelled.wait()
            return
        if not cancelled.is_set():
            await self._send(sid, {"type": "audio_end", "requestId": request_id})


def _abort(environ: dict[str, Any]) -> None:
    request = environ.get("aiohttp.request")
    transport = getattr(request, "transport", None)
    if transport is not None:
        transport.abort()


@contextlib.asynccontextmanager
async def running(**options: Any) -> AsyncIterator[UpliftPeer]:
    """An :class:`UpliftPeer` listening on a free port of 127.0.0.1 for the block."""
    peer = UpliftPeer(**options)
    await peer.start()
    try:
        yield peer
    finally:
        await peer.stop()


@contextlib.contextmanager
def running_in_thread(**options: Any) -> Iterator[UpliftPeer]:
    """The peer on its own event loop in a thread, for callers that block (subprocesses)."""
    ready = threading.Event()
    holder: dict[str, Any] = {}

    def serve() -> None:
        loop = asyncio.new_event_loop()
        holder["loop"] = loop
        peer = UpliftPeer(**options)
        holder["peer"] = peer
        holder["stop"] = stop = asyncio.Event()

        async def main() -> None:
            await peer.start()
            ready.set()
            await stop.wait()
            await peer.stop()

        loop.run_until_complete(main())
        loop.close()

    thread = threading.Thread(target=serve, name="uplift-peer", daemon=True)
    thread.start()
    if not ready.wait(timeout=10):
        raise RuntimeError("the Uplift peer did not start")
    try:
        yield holder["peer"]
    finally:
        holder["loop"].call_soon_threadsafe(holder["stop"].set)
        thread.join(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description="A local Uplift AI realtime TTS peer.")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()

    async def serve() -> None:
        peer = UpliftPeer()
        await peer.start(args.port)
        print(f"Uplift peer on {peer.base_url} (UPLIFTAI_API_KEY={KEY})", flush=True)
        await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


if __name__ == "__main__":
    main()
