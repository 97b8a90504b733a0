"""The SpeechSynthesizer contract, run against every adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tests.servers.uplift import KEY, running

from companion.adapters.memory import InMemorySpeechSynthesizer
from companion.adapters.uplift import UpliftSpeechSynthesizer
from companion.domain.errors import InvalidInput
from companion.ports.speech_synthesizer import SpeechSynthesizer


@pytest.fixture(params=["memory", "uplift"])
async def synthesizer(request: pytest.FixtureRequest) -> AsyncIterator[SpeechSynthesizer]:
    if request.param == "memory":
        yield InMemorySpeechSynthesizer(sample_rate=22050)
        return
    # Uplift against a local python-socketio peer speaking its protocol.
    async with running() as peer:
        uplift = UpliftSpeechSynthesizer(KEY, base_url=peer.base_url)
        yield uplift
        await uplift.aclose()


async def collect(chunks: AsyncIterator[bytes]) -> bytes:
    return b"".join([c async for c in chunks])


async def test_speech_is_16bit_pcm_of_plausible_length(synthesizer: SpeechSynthesizer) -> None:
    audio = await collect(synthesizer.synthesize("Hello there, Ada."))
    assert synthesizer.audio_format.startswith("PCM_")
    assert len(audio) % 2 == 0
    seconds = len(audio) / 2 / synthesizer.sample_rate
    assert 0.1 < seconds < 5.0


async def test_streamed_text_speaks_the_same_as_whole(synthesizer: SpeechSynthesizer) -> None:
    async def pieces() -> AsyncIterator[str]:
        for piece in ["Hello ", "there. How ", "are you", "?"]:
            yield piece

    streamed = await collect(synthesizer.synthesize_stream(pieces()))
    whole = await collect(synthesizer.synthesize("Hello there.")) + await collect(
        synthesizer.synthesize("How are you?")
    )
    assert streamed == whole


async def test_empty_text_is_rejected(synthesizer: SpeechSynthesizer) -> None:
    with pytest.raises(InvalidInput):
        await collect(synthesizer.synthesize("   "))
