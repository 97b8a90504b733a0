"""One authenticated connection to Uplift AI's realtime TTS, shared by many utterances.

Requests go out as ``synthesize`` events; everything comes back on the ``message`` event
and is routed to its :class:`Utterance` by ``requestId``, so several utterances can be in
flight on one connection. Audio chunks are put back in ``sequence`` order.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import structlog

from companion.adapters.uplift.socketio_client import (
    ConnectionLost,
    HandshakeFailed,
    NamespaceRefused,
    SocketIOClient,
)
from companion.domain.errors import (
    SpeechAuthError,
    SpeechError,
    SpeechRateLimited,
    SpeechRequestRejected,
    SpeechSynthesisFailed,
    SpeechUnavailable,
)

NAMESPACE = "/text-to-speech/multi-stream"
SYNTHESIZE_EVENT = "synthesize"
# Uplift documents the cancel message ({"type": "cancel", "requestId"}) but not the event
# it rides on; like "synthesize", the event is named after the message's type.
CANCEL_EVENT = "cancel"

log = structlog.get_logger(__name__)

_ERRORS: dict[str, type[SpeechError]] = {
    "auth_failed": SpeechAuthError,
    "rate_limit_exceeded": SpeechRateLimited,
    "text_too_long": SpeechRequestRejected,
    "duplicate_request": SpeechRequestRejected,
    "synthesis_failed": SpeechSynthesisFailed,
}
_AUTH_HINT = "Uplift AI refused the API key (auth_failed): check UPLIFTAI_API_KEY"


def _host(base_url: str) -> str:
    """Where ``base_url`` points, without any credentials it may carry."""
    parts = urlsplit(base_url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


class Utterance:
    """One ``synthesize`` request: its audio chunks in order, then the end or an error."""

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self._items: asyncio.Queue[bytes | SpeechError | None] = asyncio.Queue()
        self._held: dict[int, bytes] = {}
        self._next_sequence = 0
        self.finished = False  # the server ended it (audio_end or error) or it failed

    def add_audio(self, chunk: bytes, sequence: object) -> None:
        """Queue a chunk; one that arrives ahead of its turn waits for the ones before it."""
        if self.finished:
            return
        if not isinstance(sequence, int) or isinstance(sequence, bool):
            self._items.put_nowait(chunk)
            return
        if sequence < self._next_sequence or sequence in self._held:
            return  # a repeat of a chunk already queued
        self._held[sequence] = chunk
        while self._next_sequence in self._held:
            self._items.put_nowait(self._held.pop(self._next_sequence))
            self._next_sequence += 1

    def end(self) -> None:
        """The server sent ``audio_end``: release what waits for a missing chunk, then stop."""
        if self.finished:
            return
        for sequence in sorted(self._held):
            self._items.put_nowait(self._held[sequence])
        self._held.clear()
        self.finished = True
        self._items.put_nowait(None)

    def fail(self, error: SpeechError) -> None:
        """End the utterance with ``error`` after the audio already queued."""
        if self.finished:
            return
        self.finished = True
        self._items.put_nowait(error)

    async def chunks(self, *, gap_timeout: float) -> AsyncIterator[bytes]:
        """The audio, chunk by chunk; raises the utterance's error, or a timeout."""
        while True:
            try:
                async with asyncio.timeout(gap_timeout):
                    item = await self._items.get()
            except TimeoutError:  # the caller's cleanup cancels the request
                raise SpeechUnavailable(f"Uplift AI sent no audio for {gap_timeout:g} s") from None
            if item is None:
                return
            if isinstance(item, SpeechError):
                raise item
            yield item


class UpliftConnection:
    """A Socket.IO connection to the TTS namespace, authenticated and ready."""

    def __init__(self, api_key: str) -> None:
        self._api_key = api_key
        self._client: SocketIOClient | None = None
        self._pending: dict[str, Utterance] = {}
        self._ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._refused = False
        self._retired = False
        self._closed = False
        self._tasks: set[asyncio.Task[None]] = set()
        self.opened_at = time.monotonic()

    @classmethod
    async def open(cls, base_url: str, api_key: str, *, open_timeout: float) -> UpliftConnection:
        """Connect, authenticate with ``api_key`` and wait for the service to be ready."""
        conn = cls(api_key)
        try:
            conn._client = await SocketIOClient.connect(
                base_url,
                NAMESPACE,
                {"token": api_key},
                on_event=conn._on_event,
                on_close=conn._on_close,
                open_timeout=open_timeout,
            )
        except NamespaceRefused as exc:
            # Refusing the namespace is how a Socket.IO server turns down its auth payload.
            reason = conn._scrub(str(exc))
            detail = f" (server: {reason})" if reason and reason != "auth_failed" else ""
            raise SpeechAuthError(_AUTH_HINT + detail, code="auth_failed") from None
        except HandshakeFailed as exc:
            if exc.status in (401, 403):
                raise SpeechAuthError(_AUTH_HINT, code="auth_failed") from None
            raise SpeechUnavailable(
                f"cannot reach Uplift AI at {_host(base_url)}: {conn._scrub(str(exc))}"
            ) from None
        try:
            async with asyncio.timeout(open_timeout):
                session_id = await conn._ready
        except TimeoutError:
            await conn.close()
            raise SpeechUnavailable(
                f"Uplift AI did not get ready within {open_timeout:g} s"
            ) from None
        except SpeechError:
            await conn.close()
            raise
        conn.opened_at = time.monotonic()
        log.debug("uplift_connected", session_id=session_id)
        return conn

    @property
    def usable(self) -> bool:
        """Whether new utterances may start here: open, not refused, not retired."""
        client = self._client
        return (
            client is not None
            and client.connected
            and not self._refused
            and not self._retired
            and not self._closed
        )

    @property
    def age(self) -> float:
        """Seconds since the connection became ready."""
        return time.monotonic() - self.opened_at

    @property
    def closed(self) -> bool:
        """Closed, or closing: nothing more happens on it."""
        return self._closed or self._client is None or not self._client.connected

    async def start(
        self, request_id: str, text: str, *, voice_id: str, output_format: str
    ) -> Utterance:
        """Send a ``synthesize`` request; its audio arrives on the returned utterance."""
        if self._client is None or not self.usable:
            raise SpeechUnavailable("the Uplift AI connection is closed")
        utterance = Utterance(request_id)
        # Registered before sending: the first chunk can arrive while the send completes.
        self._pending[request_id] = utterance
        request = {
            "type": "synthesize",
            "requestId": request_id,
            "text": text,
            "voiceId": voice_id,
            "outputFormat": output_format,
        }
        try:
            await self._client.emit(SYNTHESIZE_EVENT, request)
        except ConnectionLost:
            self._pending.pop(request_id, None)
            raise SpeechUnavailable(
                "the Uplift AI connection closed before the request was sent"
            ) from None
        except BaseException:
            self.cancel(utterance)
            raise
        return utterance

    def cancel(self, utterance: Utterance) -> None:
        """Stop an utterance the caller no longer wants; the server is told to stop too."""
        if self._pending.pop(utterance.request_id, None) is None or utterance.finished:
            self._after_utterance()
            return
        utterance.fail(SpeechUnavailable("the utterance was cancelled"))
        if self._client is not None and self._client.connected:
            message = {"type": "cancel", "requestId": utterance.request_id}
            self._spawn(self._send_cancel(message))
        self._after_utterance()

    def done(self, utterance: Utterance) -> None:
        """The caller has consumed the whole utterance."""
        self._pending.pop(utterance.request_id, None)
        self._after_utterance()

    def retire(self) -> None:
        """Take no new utterances; close once those in flight are done."""
        self._retired = True
        self._after_utterance()

    async def close(self) -> None:
        """Close now: utterances in flight fail as dropped."""
        self._closed = True
        if not self._ready.done():
            self._ready.cancel()  # nobody waits for it any more
        tasks = [t for t in self._tasks if t is not asyncio.current_task()]
        if tasks:  # a cancel on its way out is worth a moment
            await asyncio.wait(tasks, timeout=1.0)
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._client is not None:
            await self._client.close()
        self._on_close("closed")

    async def _send_cancel(self, message: dict[str, str]) -> None:
        if self._client is None:
            return
        with contextlib.suppress(ConnectionLost):
            await self._client.emit(CANCEL_EVENT, message)
            log.debug("uplift_cancel_sent", request_id=message["requestId"])

    def _after_utterance(self) -> None:
        if self._retired and not self._pending and not self._closed:
            self._closed = True
            self._spawn(self.close())

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _scrub(self, text: str) -> str:
        """``text`` without the API key, should a server echo it."""
        return text.replace(self._api_key, "[redacted]") if self._api_key else text

    def _error(self, message: dict[str, Any]) -> SpeechError:
        code = str(message.get("code") or "error")
        if code == "auth_failed":
            return SpeechAuthError(_AUTH_HINT, code=code)
        detail = self._scrub(str(message.get("message") or "")[:200])
        kind = _ERRORS.get(code, SpeechRequestRejected)
        return kind(f"Uplift AI: {code}" + (f": {detail}" if detail else ""), code=code)

    def _on_event(self, name: str, args: list[Any]) -> None:
        if name != "message" or not args or not isinstance(args[0], dict):
            return
        message = args[0]
        kind = message.get("type")
        utterance = self._pending.get(str(message.get("requestId")))
        if kind == "ready":
            if not self._ready.done():
                self._ready.set_result(str(message.get("sessionId", "")))
        elif kind == "audio" and utterance is not None:
            try:
                chunk = base64.b64decode(str(message.get("audio", "")), validate=True)
            except (binascii.Error, ValueError):
                utterance.fail(SpeechSynthesisFailed("Uplift AI sent malformed audio"))
                return
            if chunk:
                utterance.add_audio(chunk, message.get("sequence"))
        elif kind == "audio_end" and utterance is not None:
            utterance.end()
        elif kind == "error":
            self._on_error(message, utterance)

    def _on_error(self, message: dict[str, Any], utterance: Utterance | None) -> None:
        error = self._error(message)
        if isinstance(error, SpeechAuthError):
            self._refused = True
        if not self._ready.done():
            self._ready.set_exception(error)
            return
        if utterance is not None:
            utterance.fail(error)
        if message.get("requestId") in (None, "") or isinstance(error, SpeechAuthError):
            # Not about one request: it concerns everything on this connection.
            for pending in list(self._pending.values()):
                pending.fail(error)
            log.warning("uplift_error", code=error.code)
        elif utterance is None:  # most likely one we cancelled
            log.debug("uplift_error_unknown_request", code=error.code)

    def _on_close(self, reason: str) -> None:
        if not self._ready.done():
            self._ready.set_exception(
                SpeechUnavailable(f"Uplift AI closed the connection while connecting ({reason})")
            )
        if self._pending:
            error = SpeechUnavailable(f"the Uplift AI connection dropped mid-utterance ({reason})")
            log.warning("uplift_connection_dropped", reason=reason, in_flight=len(self._pending))
            for utterance in self._pending.values():
                utterance.fail(error)
            self._pending.clear()
