"""A small Socket.IO v5 client over Engine.IO v4, WebSocket transport only.

Enough of the protocol for one namespace of a realtime service: the Engine.IO open
handshake, answering the server's pings, connecting the namespace with an auth payload,
events in both directions (JSON, no binary attachments, no acks) and disconnecting.

Frames are text: Engine.IO ``0{open}`` ``1`` close ``2`` ping ``3`` pong ``4…`` message;
a message carries a Socket.IO packet ``0`` connect ``1`` disconnect ``2`` event
``4`` connect error, prefixed by ``/namespace,`` unless the namespace is ``/``.

The auth payload (an API key) is sent once, in the namespace connect packet, and never
appears in a log or an error: frame logging of the WebSocket library is switched off.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

ENGINEIO_PATH = "/socket.io/"
_MAX_FRAME_BYTES = 16 * 1024 * 1024

EventHandler = Callable[[str, list[Any]], None]
CloseHandler = Callable[[str], None]


class SocketIOError(Exception):
    """The Socket.IO connection failed."""


class HandshakeFailed(SocketIOError):
    """The server refused the WebSocket upgrade or did not open an Engine.IO session."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class NamespaceRefused(SocketIOError):
    """The server refused to connect the namespace (usually: the auth payload)."""

    def __init__(self, message: str, *, data: object = None) -> None:
        super().__init__(message)
        self.data = data


class ConnectionLost(SocketIOError):
    """The connection is closed; nothing more can be sent on it."""


class _NoFrameLogging(logging.LoggerAdapter):  # type: ignore[type-arg]
    """Hides DEBUG from the WebSocket library: it would log every frame, the key included."""

    def isEnabledFor(self, level: int) -> bool:
        return level > logging.DEBUG and self.logger.isEnabledFor(level)


@dataclass(frozen=True, slots=True)
class Packet:
    """One Socket.IO packet."""

    type: int
    namespace: str
    data: Any = None


def engineio_url(base_url: str) -> str:
    """The Engine.IO WebSocket URL of a server: ``wss://host/socket.io/?EIO=4&…``.

    ``http``/``https`` become ``ws``/``wss``; any path in ``base_url`` is ignored, as
    Socket.IO clients do (a path there names a namespace, not a prefix).
    """
    parts = urlsplit(base_url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    if scheme not in ("ws", "wss") or not parts.netloc:
        raise ValueError("the Socket.IO base URL must be a ws, wss, http or https URL")
    return urlunsplit((scheme, parts.netloc, ENGINEIO_PATH, "EIO=4&transport=websocket", ""))


def encode_packet(packet_type: int, namespace: str, data: object = None) -> str:
    """A Socket.IO packet inside an Engine.IO message frame."""
    prefix = f"4{packet_type}"
    if namespace != "/":
        prefix += f"{namespace},"
    if data is None:
        return prefix
    return prefix + json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def decode_packet(text: str) -> Packet:
    """The Socket.IO packet in the payload of an Engine.IO message (after the ``4``)."""
    if not text or not text[0].isdigit():
        raise ValueError("not a Socket.IO packet")
    packet_type = int(text[0])
    rest = text[1:]
    if packet_type in (5, 6):
        raise ValueError("binary Socket.IO packets are not supported")
    # Binary packets carry "<n>-" here; ours never do.
    namespace = "/"
    if rest.startswith("/"):
        namespace, _, rest = rest.partition(",")
    while rest and rest[0].isdigit():  # an ack id: ignored, this client never acks
        rest = rest[1:]
    data = json.loads(rest) if rest else None
    return Packet(packet_type, namespace, data)


class SocketIOClient:
    """One connected namespace over one Engine.IO WebSocket session.

    Events of the namespace are handed to ``on_event(name, args)`` on the event loop, in
    the order they arrive; ``on_close(reason)`` is called once when the connection ends,
    whichever side ended it.
    """

    def __init__(
        self,
        ws: ClientConnection,
        namespace: str,
        *,
        ping_interval: float,
        ping_timeout: float,
        on_event: EventHandler,
        on_close: CloseHandler,
    ) -> None:
        self._ws = ws
        self._namespace = namespace
        self._silence_limit = ping_interval + ping_timeout
        self._on_event = on_event
        self._on_close = on_close
        self._connected = False
        self._closed = False
        self.opened_at = time.monotonic()
        self._reader: asyncio.Task[None] | None = None

    @classmethod
    async def connect(
        cls,
        base_url: str,
        namespace: str,
        auth: Mapping[str, object],
        *,
        on_event: EventHandler,
        on_close: CloseHandler,
        open_timeout: float = 10.0,
    ) -> SocketIOClient:
        """Open an Engine.IO session and connect ``namespace`` with ``auth``."""
        url = engineio_url(base_url)
        quiet = _NoFrameLogging(logging.getLogger("websockets.client"), {})
        try:
            ws = await connect(
                url, open_timeout=open_timeout, max_size=_MAX_FRAME_BYTES, logger=quiet
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            raise HandshakeFailed(
                f"the server refused the WebSocket upgrade (HTTP {status})", status=status
            ) from None
        except (OSError, TimeoutError, WebSocketException) as exc:
            raise HandshakeFailed(f"cannot connect: {type(exc).__name__}: {exc}") from None
        try:
            async with asyncio.timeout(open_timeout):
                client, early = await cls._handshake(ws, namespace, auth, on_event, on_close)
        except BaseException:
            await ws.close()
            raise
        client._start(early)
        return client

    @classmethod
    async def _handshake(
        cls,
        ws: ClientConnection,
        namespace: str,
        auth: Mapping[str, object],
        on_event: EventHandler,
        on_close: CloseHandler,
    ) -> tuple[SocketIOClient, list[Packet]]:
        try:
            opening = await ws.recv()
            if not isinstance(opening, str) or not opening.startswith("0"):
                raise HandshakeFailed("the server did not open an Engine.IO session")
            info = json.loads(opening[1:])
            client = cls(
                ws,
                namespace,
                ping_interval=float(info.get("pingInterval", 25000)) / 1000,
                ping_timeout=float(info.get("pingTimeout", 20000)) / 1000,
                on_event=on_event,
                on_close=on_close,
            )
            await ws.send(encode_packet(0, namespace, dict(auth)))
            early: list[Packet] = []  # events a server may send before confirming
            while True:
                frame = await ws.recv()
                if not isinstance(frame, str):
                    continue
                if frame == "2":
                    await ws.send("3")
                    continue
                if frame.startswith("1"):
                    raise HandshakeFailed("the server closed the session while connecting")
                if not frame.startswith("4"):
                    continue
                packet = decode_packet(frame[1:])
                if packet.namespace != namespace:
                    continue
                if packet.type == 0:
                    client._connected = True
                    return client, early
                if packet.type in (1, 4):
                    raise NamespaceRefused(_refusal_message(packet.data), data=packet.data)
                early.append(packet)
        except ConnectionClosed:
            raise HandshakeFailed("the server closed the connection while connecting") from None
        except (ValueError, AttributeError) as exc:
            raise HandshakeFailed(f"malformed handshake from the server: {exc}") from None

    def _start(self, early: list[Packet]) -> None:
        for packet in early:
            self._dispatch(packet)
        self._reader = asyncio.create_task(self._read(), name="socketio-reader")

    @property
    def connected(self) -> bool:
        """Whether the namespace is connected and events can be sent."""
        return self._connected and not self._closed

    async def emit(self, event: str, data: object) -> None:
        """Send ``event`` with one JSON argument; raises :class:`ConnectionLost` if closed."""
        if not self.connected:
            raise ConnectionLost("the connection is closed")
        try:
            await self._ws.send(encode_packet(2, self._namespace, [event, data]))
        except ConnectionClosed:
            self._finish("connection closed")
            raise ConnectionLost("the connection closed while sending") from None

    async def close(self) -> None:
        """Disconnect the namespace and close the session; safe to call more than once."""
        if self.connected:
            with contextlib.suppress(ConnectionClosed):
                await self._ws.send(encode_packet(1, self._namespace))
                await self._ws.send("1")
        self._finish("closed by client")
        await self._ws.close()
        if self._reader is not None and self._reader is not asyncio.current_task():
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def _read(self) -> None:
        reason = "connection closed"
        try:
            while True:
                try:
                    async with asyncio.timeout(self._silence_limit):
                        frame = await self._ws.recv()
                except TimeoutError:
                    reason = "no ping from the server"
                    break
                if not isinstance(frame, str):
                    continue
                if frame == "2":
                    await self._ws.send("3")
                elif frame.startswith("1"):
                    reason = "closed by server"
                    break
                elif frame.startswith("4"):
                    try:
                        packet = decode_packet(frame[1:])
                    except ValueError:
                        continue
                    if packet.namespace != self._namespace:
                        continue
                    if packet.type == 1:
                        reason = "namespace disconnected by server"
                        break
                    self._dispatch(packet)
        except ConnectionClosed:
            pass
        finally:
            self._finish(reason)
            await self._ws.close()

    def _dispatch(self, packet: Packet) -> None:
        if packet.type != 2 or not isinstance(packet.data, list) or not packet.data:
            return
        name, *args = packet.data
        if isinstance(name, str):
            self._on_event(name, args)

    def _finish(self, reason: str) -> None:
        if self._closed:
            return
        self._closed = True
        self._on_close(reason)


def _refusal_message(data: object) -> str:
    """The server's reason for refusing a namespace, cut short."""
    if isinstance(data, dict):
        data = data.get("message", data)
    text = data if isinstance(data, str) else json.dumps(data)
    return text[:200]
