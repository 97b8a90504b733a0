"""SpeechSynthesizerTTS through LiveKit's own TTS API: synthesize(), stream(), errors."""

from __future__ import annotations

from collections.abc import AsyncIterator

import numpy as np
import pytest
from livekit import rtc
from livekit.agents import APIConnectionError, APIConnectOptions, APIStatusError, tts
from tests.servers.uplift import KEY, UpliftPeer, audio_for, running

from companion.adapters.memory import InMemorySpeechSynthesizer
from companion.adapters.uplift import UpliftSpeechSynthesizer
from companion.domain.errors import ConfigurationError
from companion.inbound.livekit.livekit_tts import SpeechSynthesizerTTS, decoder_for

NO_RETRY = APIConnectOptions(max_retry=0, timeout=5)


def pcm(frames: list[rtc.AudioFrame]) -> bytes:
    return b"".join(bytes(f.data.cast("B")) for f in frames)


async def frames_of(stream: tts.ChunkedStream | tts.SynthesizeStream) -> list[rtc.AudioFrame]:
    async with stream:
        return [event.frame async for event in stream]


async def memory_audio(synth: InMemorySpeechSynthesizer, *texts: str) -> bytes:
    return b"".join([c for t in texts async for c in synth.synthesize(t)])


@pytest.fixture
async def peer() -> AsyncIterator[UpliftPeer]:
    async with running(chunk_bytes=1024) as p:
        yield p


# The in-memory synthesizer


async def test_synthesize_gives_the_synthesizers_audio_as_frames() -> None:
    synth = InMemorySpeechSynthesizer()
    bridge = SpeechSynthesizerTTS(synth)
    assert bridge.capabilities.streaming
    assert (bridge.sample_rate, bridge.num_channels) == (22050, 1)
    frames = await frames_of(bridge.synthesize("Hello there, Ada."))
    assert {f.sample_rate for f in frames} == {22050}
    assert pcm(frames) == await memory_audio(InMemorySpeechSynthesizer(), "Hello there, Ada.")


async def test_streamed_text_pushed_in_pieces_is_spoken_sentence_by_sentence() -> None:
    synth = InMemorySpeechSynthesizer()
    stream = SpeechSynthesizerTTS(synth).stream()
    for piece in ["Hello ", "there. How ", "are you", "?"]:
        stream.push_text(piece)
    stream.flush()
    stream.end_input()
    frames = await frames_of(stream)
    assert synth.spoken == ["Hello there.", "How are you?"]
    expected = await memory_audio(InMemorySpeechSynthesizer(), "Hello there.", "How are you?")
    assert pcm(frames) == expected


async def test_empty_text_gives_no_audio_and_no_error() -> None:
    bridge = SpeechSynthesizerTTS(InMemorySpeechSynthesizer())
    assert await frames_of(bridge.synthesize("   ")) == []


# Uplift against the local peer


async def test_uplift_streamed_through_livekit_is_exactly_the_peers_audio(
    peer: UpliftPeer,
) -> None:
    synth = UpliftSpeechSynthesizer(KEY, base_url=peer.base_url)
    stream = SpeechSynthesizerTTS(synth).stream()
    stream.push_text("Hello there. ")
    stream.push_text("How are you?")
    stream.end_input()
    frames = await frames_of(stream)
    await synth.aclose()
    assert [r["text"] for r in peer.requests] == ["Hello there.", "How are you?"]
    assert pcm(frames) == audio_for("Hello there.") + audio_for("How are you?")
    assert {f.sample_rate for f in frames} == {22050}


async def test_uplift_ulaw_is_decoded_to_pcm_at_8000_hz(peer: UpliftPeer) -> None:
    synth = UpliftSpeechSynthesizer(KEY, base_url=peer.base_url, output_format="ULAW_8000_8")
    bridge = SpeechSynthesizerTTS(synth)
    assert bridge.sample_rate == 8000
    frames = await frames_of(bridge.synthesize("Hello there."))
    await synth.aclose()
    assert {f.sample_rate for f in frames} == {8000}
    ulaw = audio_for("Hello there.", "ULAW_8000_8")
    assert pcm(frames) == decoder_for("ULAW_8000_8")(ulaw)  # a 16-bit sample per byte


def test_ulaw_decoding_follows_g711() -> None:
    decode = decoder_for("ULAW_8000_8")
    table = np.frombuffer(decode(bytes(range(256))), dtype="<i2").astype(int)
    # 0xFF and 0x7F are silence, 0x80 the loudest positive, 0x00 the loudest negative,
    # the two halves mirror each other, and loudness falls steadily towards 0xFF/0x7F.
    assert (table[0xFF], table[0x7F], table[0x80], table[0x00]) == (0, 0, 32124, -32124)
    assert all(table[b] == -table[b ^ 0x80] for b in range(256))
    assert all(table[b] > table[b + 1] for b in range(0x80, 0xFF))


async def test_a_refused_key_is_not_retried_by_livekit(peer: UpliftPeer) -> None:
    synth = UpliftSpeechSynthesizer("sk_api_wrong_000000000", base_url=peer.base_url)
    bridge = SpeechSynthesizerTTS(synth)
    retrying = APIConnectOptions(max_retry=3, retry_interval=0.01, timeout=5)
    with pytest.raises(APIStatusError) as caught:
        await frames_of(bridge.synthesize("Hello.", conn_options=retrying))
    await synth.aclose()
    assert caught.value.status_code == 401
    assert caught.value.retryable is False
    assert peer.refused == 1  # one attempt only


@pytest.mark.parametrize(
    ("code", "status", "retryable"),
    [
        ("rate_limit_exceeded", 429, True),
        ("synthesis_failed", 500, True),
        ("text_too_long", 400, False),
        ("duplicate_request", 400, False),
    ],
)
async def test_service_errors_reach_livekit_as_status_errors_it_retries_only_when_useful(
    peer: UpliftPeer, code: str, status: int, retryable: bool
) -> None:
    synth = UpliftSpeechSynthesizer(KEY, base_url=peer.base_url)
    bridge = SpeechSynthesizerTTS(synth)
    options = APIConnectOptions(max_retry=1, retry_interval=0.01, timeout=5)
    with pytest.raises(APIStatusError) as caught:
        await frames_of(bridge.synthesize(f"No [error:{code}].", conn_options=options))
    await synth.aclose()
    assert (caught.value.status_code, caught.value.retryable) == (status, retryable)
    assert caught.value.body == {"code": code}
    assert len(peer.requests) == (2 if retryable else 1)


async def test_a_dropped_connection_is_a_connection_error(peer: UpliftPeer) -> None:
    synth = UpliftSpeechSynthesizer(KEY, base_url=peer.base_url)
    stream = SpeechSynthesizerTTS(synth).stream(conn_options=NO_RETRY)
    stream.push_text("Cut me off [drop]. ")
    stream.end_input()
    with pytest.raises(APIConnectionError, match="dropped"):
        await frames_of(stream)
    await synth.aclose()


async def test_closing_a_stream_on_interruption_cancels_the_request(peer: UpliftPeer) -> None:
    synth = UpliftSpeechSynthesizer(KEY, base_url=peer.base_url)
    stream = SpeechSynthesizerTTS(synth).stream()
    stream.push_text("A reply the user talks over [hold]. ")
    stream.flush()
    await peer.wait_for(lambda: len(peer.requests) == 1)
    await stream.aclose()  # what the agent does when the user interrupts
    await peer.wait_for(lambda: len(peer.cancels) == 1)
    assert peer.cancels == [peer.requests[0]["requestId"]]
    await synth.aclose()


async def test_prewarm_opens_the_connection_before_the_first_reply(peer: UpliftPeer) -> None:
    synth = UpliftSpeechSynthesizer(KEY, base_url=peer.base_url)
    bridge = SpeechSynthesizerTTS(synth)
    bridge.prewarm()
    await peer.wait_for(lambda: peer.connections == 1)
    await frames_of(bridge.synthesize("Hello."))
    assert peer.connections == 1
    await bridge.aclose()
    await synth.aclose()


@pytest.mark.parametrize("fmt", ["MP3_22050_32", "OGG_22050_16", "WAV_22050_16"])
def test_container_formats_are_refused_when_the_bridge_is_built(fmt: str) -> None:
    synth = UpliftSpeechSynthesizer(KEY, base_url="ws://127.0.0.1:1", output_format=fmt)
    with pytest.raises(ConfigurationError, match="UPLIFTAI_OUTPUT_FORMAT"):
        SpeechSynthesizerTTS(synth)
