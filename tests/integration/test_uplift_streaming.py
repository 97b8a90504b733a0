"""Streamed text to Uplift: first audio after the first sentence, in order, cancellable."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from tests.servers.uplift import KEY, UpliftPeer, audio_for, running

from companion.adapters.uplift import UpliftSpeechSynthesizer
from companion.domain.errors import SpeechRateLimited


@pytest.fixture
async def peer() -> AsyncIterator[UpliftPeer]:
    async with running(chunk_bytes=512) as p:
        yield p


@pytest.fixture
async def synth(peer: UpliftPeer) -> AsyncIterator[UpliftSpeechSynthesizer]:
    s = UpliftSpeechSynthesizer(KEY, base_url=peer.base_url)
    yield s
    await s.aclose()


async def pieces(*texts: str) -> AsyncIterator[str]:
    for text in texts:
        yield text


async def test_first_audio_comes_before_the_last_sentence_of_the_reply_exists(
    peer: UpliftPeer, synth: UpliftSpeechSynthesizer
) -> None:
    order: list[str] = []
    heard = asyncio.Event()
    requests_when_reply_ended: list[int] = []

    async def reply() -> AsyncIterator[str]:
        for token in ["Hello", " there", ",", " Ada", ".", " "]:
            yield token
        order.append("first sentence written")
        # The model keeps writing only once the first audio is heard. A synthesizer that
        # waited for the whole reply would never get there; the wait's deadline is a
        # safety net that makes such a synthesizer fail below instead of hanging.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(heard.wait(), 5)
        order.append("last sentence written")
        requests_when_reply_ended.append(len(peer.requests))
        for token in ["How", " are", " you", " today", "?"]:
            yield token

    audio = b""
    async for chunk in synth.synthesize_stream(reply()):
        if not heard.is_set():
            order.append("first audio")
            heard.set()
        audio += chunk
    assert order == ["first sentence written", "first audio", "last sentence written"]
    assert requests_when_reply_ended == [1]
    assert [r["text"] for r in peer.requests] == ["Hello there, Ada.", "How are you today?"]
    assert audio == audio_for("Hello there, Ada.") + audio_for("How are you today?")


async def test_each_sentence_is_one_request_and_the_audio_keeps_their_order() -> None:
    # Small chunks with a pause between them: later sentences are being synthesized while
    # earlier ones still stream, and their audio must not be interleaved.
    async with running(chunk_bytes=200, chunk_delay=0.001) as peer:
        synth = UpliftSpeechSynthesizer(KEY, base_url=peer.base_url)
        text = pieces("One fish. Two", " fish! Red fish? ", "Blue fish۔ ", "The end")
        audio = b"".join([c async for c in synth.synthesize_stream(text)])
        await synth.aclose()
    sentences = ["One fish.", "Two fish!", "Red fish?", "Blue fish۔", "The end"]
    assert [r["text"] for r in peer.requests] == sentences
    assert audio == b"".join(audio_for(s) for s in sentences)
    assert peer.connections == 1


async def test_text_with_no_sentence_end_is_cut_at_the_limit_between_words(
    peer: UpliftPeer,
) -> None:
    synth = UpliftSpeechSynthesizer(KEY, base_url=peer.base_url, max_text_chars=40)
    words = [f"word{i} " for i in range(30)]
    audio = b"".join([c async for c in synth.synthesize_stream(pieces(*words))])
    await synth.aclose()
    sent = [r["text"] for r in peer.requests]
    assert len(sent) > 1
    assert all(len(t) <= 40 for t in sent)
    assert " ".join(sent).split() == "".join(words).split()
    assert audio == b"".join(audio_for(t) for t in sent)


async def test_interrupting_a_streamed_reply_cancels_every_request_in_flight() -> None:
    async with running(chunk_bytes=200, chunk_delay=0.01) as peer:
        synth = UpliftSpeechSynthesizer(KEY, base_url=peer.base_url)
        text = pieces("Hold this one [hold]. ", "Then this one is long enough. ", "And this.")
        chunks = synth.synthesize_stream(text)
        async with contextlib.aclosing(chunks):  # type: ignore[type-var]
            await anext(chunks)
            await peer.wait_for(lambda: len(peer.requests) == 3)  # all three are in flight
        await peer.wait_for(lambda: len(peer.cancels) == 3)
        await synth.aclose()
    assert sorted(peer.cancels) == sorted(r["requestId"] for r in peer.requests)


async def test_an_error_on_a_later_sentence_comes_after_the_audio_before_it(
    synth: UpliftSpeechSynthesizer,
) -> None:
    received: list[bytes] = []

    async def listen() -> None:
        text = pieces("First is fine. ", "Second is not [error:rate_limit_exceeded].")
        async for chunk in synth.synthesize_stream(text):
            received.append(chunk)

    with pytest.raises(SpeechRateLimited):
        await listen()
    assert b"".join(received) == audio_for("First is fine.")


async def test_a_reply_of_only_whitespace_says_nothing(
    peer: UpliftPeer, synth: UpliftSpeechSynthesizer
) -> None:
    assert [c async for c in synth.synthesize_stream(pieces("  ", "\n"))] == []
    assert peer.requests == []
