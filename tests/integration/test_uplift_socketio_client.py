"""The Socket.IO client on the wire, and the API key kept out of logs and errors."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from tests.servers.uplift import KEY, NAMESPACE, running

from companion.adapters.uplift import UpliftSpeechSynthesizer
from companion.adapters.uplift.socketio_client import (
    NamespaceRefused,
    SocketIOClient,
    decode_packet,
    encode_packet,
    engineio_url,
)
from companion.domain.errors import SpeechAuthError


@pytest.mark.parametrize(
    ("base", "url"),
    [
        ("wss://api.upliftai.org", "wss://api.upliftai.org/socket.io/?EIO=4&transport=websocket"),
        (
            "https://api.upliftai.org/",
            "wss://api.upliftai.org/socket.io/?EIO=4&transport=websocket",
        ),
        ("ws://127.0.0.1:8765", "ws://127.0.0.1:8765/socket.io/?EIO=4&transport=websocket"),
        ("http://127.0.0.1:1", "ws://127.0.0.1:1/socket.io/?EIO=4&transport=websocket"),
    ],
)
def test_engineio_url_uses_the_standard_path_and_websocket_transport(base: str, url: str) -> None:
    assert engineio_url(base) == url


def test_packets_round_trip_with_a_namespace() -> None:
    frame = encode_packet(2, NAMESPACE, ["message", {"type": "ready", "sessionId": "s"}])
    assert frame == '42/text-to-speech/multi-stream,["message",{"type":"ready","sessionId":"s"}]'
    packet = decode_packet(frame[1:])
    assert (packet.type, packet.namespace) == (2, NAMESPACE)
    assert packet.data == ["message", {"type": "ready", "sessionId": "s"}]
    assert encode_packet(1, NAMESPACE) == "41/text-to-speech/multi-stream,"
    assert decode_packet("0").namespace == "/"


async def test_events_flow_both_ways_and_the_server_sees_a_clean_disconnect() -> None:
    messages: list[dict[str, Any]] = []
    ready, ended = asyncio.Event(), asyncio.Event()
    closed: list[str] = []

    def on_event(name: str, args: list[Any]) -> None:
        assert name == "message"
        messages.append(args[0])
        {"ready": ready, "audio_end": ended}.get(args[0]["type"], asyncio.Event()).set()

    async with running() as peer:
        client = await SocketIOClient.connect(
            peer.base_url, NAMESPACE, {"token": KEY}, on_event=on_event, on_close=closed.append
        )
        await asyncio.wait_for(ready.wait(), 5)
        await client.emit("synthesize", {"type": "synthesize", "requestId": "r1", "text": "Hi."})
        await asyncio.wait_for(ended.wait(), 5)
        await client.close()
        await peer.wait_for(lambda: peer.open_connections == 0)
    kinds = [m["type"] for m in messages]
    assert kinds[0] == "ready"
    assert kinds[1:3] == ["audio_start", "audio"] and kinds[-1] == "audio_end"
    assert peer.events[-1][0] == "disconnect"
    assert closed == ["closed by client"]
    assert not client.connected


async def test_a_refused_namespace_raises_with_the_servers_reason() -> None:
    async with running() as peer:
        with pytest.raises(NamespaceRefused, match="auth_failed"):
            await SocketIOClient.connect(
                peer.base_url,
                NAMESPACE,
                {"token": "sk_api_nope_000000"},
                on_event=lambda name, args: None,
                on_close=lambda reason: None,
            )


def fragments(secret: str, size: int = 8) -> list[str]:
    """Every run of ``size`` characters of the secret part of a key: a log that elides the
    middle of a long line (the WebSocket library's frame log does) still leaks the rest."""
    tail = secret.removeprefix("sk_api_")
    return [tail[i : i + size] for i in range(len(tail) - size + 1)]


async def test_the_key_never_reaches_logs_or_errors(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, the WebSocket library's included
    wrong = "sk_api_wrong_but_secret_42424242"
    async with running(auth_mode="message") as peer:
        good = UpliftSpeechSynthesizer(KEY, base_url=peer.base_url)
        assert [c async for c in good.synthesize("Hello there.")]
        await good.aclose()
        bad = UpliftSpeechSynthesizer(wrong, base_url=peer.base_url)
        with pytest.raises(SpeechAuthError) as caught:
            [c async for c in bad.synthesize("Hello there.")]
        await bad.aclose()
    logged = caplog.text + capsys.readouterr().out
    assert "uplift" in logged.lower() or caplog.records  # something was logged
    shown = logged + str(caught.value) + repr(caught.value) + repr(good) + repr(bad)
    for secret in (KEY, wrong):
        assert [f for f in fragments(secret) if f in shown] == []
