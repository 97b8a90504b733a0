"""UpliftSpeechSynthesizer against a python-socketio peer on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from tests.servers.uplift import KEY, MAX_CHARS, UpliftPeer, audio_for, running

from companion.adapters.uplift import UpliftSpeechSynthesizer
from companion.domain.errors import (
    SpeechAuthError,
    SpeechError,
    SpeechRateLimited,
    SpeechRequestRejected,
    SpeechSynthesisFailed,
    SpeechUnavailable,
)


@pytest.fixture
async def peer() -> AsyncIterator[UpliftPeer]:
    async with running(chunk_bytes=512) as p:
        yield p


@pytest.fixture
async def synth(peer: UpliftPeer) -> AsyncIterator[UpliftSpeechSynthesizer]:
    s = UpliftSpeechSynthesizer(KEY, base_url=peer.base_url)
    yield s
    await s.aclose()


async def collect(chunks: AsyncIterator[bytes]) -> bytes:
    return b"".join([c async for c in chunks])


async def collect_into(received: list[bytes], chunks: AsyncIterator[bytes]) -> None:
    async for chunk in chunks:
        received.append(chunk)


async def test_audio_arrives_complete_and_in_sequence_order_even_when_sent_out_of_order() -> None:
    async with running(chunk_bytes=300, shuffle=True) as peer:
        synth = UpliftSpeechSynthesizer(KEY, base_url=peer.base_url)
        text = "One two three four five six seven eight."
        audio = await collect(synth.synthesize(text))
        await synth.aclose()
    assert audio == audio_for(text)
    request = peer.requests[0]
    assert request["type"] == "synthesize"
    assert request["text"] == text
    assert request["voiceId"] == "v_meklc281"
    assert request["outputFormat"] == "PCM_22050_16"
    assert peer.auth_seen == [{"token": KEY}]
    assert peer.queries == ["EIO=4&transport=websocket"]


async def test_one_connection_serves_many_utterances(
    peer: UpliftPeer, synth: UpliftSpeechSynthesizer
) -> None:
    for text in ["First one.", "Second one.", "Third one."]:
        assert await collect(synth.synthesize(text)) == audio_for(text)
    assert peer.connections == 1


async def test_concurrent_utterances_on_one_connection_get_their_own_audio() -> None:
    async with running(chunk_bytes=256, chunk_delay=0.001) as peer:
        synth = UpliftSpeechSynthesizer(KEY, base_url=peer.base_url)
        await synth.prewarm()
        texts = ["Alpha beta gamma delta.", "One two three.", "Red green blue yellow pink."]
        results = await asyncio.gather(*(collect(synth.synthesize(t)) for t in texts))
        await synth.aclose()
    assert results == [audio_for(t) for t in texts]
    assert peer.connections == 1


async def test_prewarm_opens_the_connection_the_first_utterance_uses(
    peer: UpliftPeer, synth: UpliftSpeechSynthesizer
) -> None:
    await synth.prewarm()
    assert peer.connections == 1
    assert peer.requests == []
    await collect(synth.synthesize("Hello."))
    assert peer.connections == 1


async def test_a_connection_past_its_maximum_age_is_replaced_and_closed(peer: UpliftPeer) -> None:
    synth = UpliftSpeechSynthesizer(KEY, base_url=peer.base_url, max_connection_age=0)
    await collect(synth.synthesize("First."))
    await collect(synth.synthesize("Second."))
    assert peer.connections == 2
    await peer.wait_for(lambda: peer.open_connections == 1)  # the old one was closed
    await synth.aclose()


@pytest.mark.parametrize("mode", ["refuse", "message"])
async def test_a_refused_key_is_an_auth_error_that_names_the_setting_not_the_key(
    mode: str,
) -> None:
    async with running(auth_mode=mode) as peer:
        wrong = "sk_api_wrong_key_123456789"
        synth = UpliftSpeechSynthesizer(wrong, base_url=peer.base_url)
        with pytest.raises(SpeechAuthError) as caught:
            await collect(synth.synthesize("Hello."))
        await synth.aclose()
    assert caught.value.code == "auth_failed"
    assert wrong not in str(caught.value)
    assert peer.requests == []  # nothing was sent, nothing retried
    assert peer.refused == 1


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("auth_failed", SpeechAuthError),
        ("rate_limit_exceeded", SpeechRateLimited),
        ("synthesis_failed", SpeechSynthesisFailed),
        ("text_too_long", SpeechRequestRejected),
        ("duplicate_request", SpeechRequestRejected),
        ("some_new_code", SpeechRequestRejected),
    ],
)
async def test_each_server_error_code_is_a_distinct_error_and_is_not_retried(
    peer: UpliftPeer, synth: UpliftSpeechSynthesizer, code: str, error: type[SpeechError]
) -> None:
    with pytest.raises(error) as caught:
        await collect(synth.synthesize(f"Please fail. [error:{code}]"))
    assert caught.value.code == code
    assert len(peer.requests) == 1
    # A request's error does not poison the connection (unless the key was refused).
    if code != "auth_failed":
        assert await collect(synth.synthesize("Still here.")) == audio_for("Still here.")
        assert peer.connections == 1


async def test_text_over_the_limit_is_split_between_sentences_never_rejected(
    peer: UpliftPeer, synth: UpliftSpeechSynthesizer
) -> None:
    sentence = "Supercalifragilisticexpialidocious " * 5 + "words end here. "
    text = sentence * 140  # about 25,000 characters
    assert len(text) > 2 * MAX_CHARS
    audio = await collect(synth.synthesize(text))
    sent = [r["text"] for r in peer.requests]
    assert len(sent) == 3
    assert all(len(t) <= MAX_CHARS for t in sent)
    assert all(t.endswith("words end here.") for t in sent)  # cut at a sentence end
    assert " ".join(sent).split() == text.split()  # nothing lost, nothing repeated
    assert audio == b"".join(audio_for(t) for t in sent)


async def test_ulaw_output_is_8000_hz(peer: UpliftPeer) -> None:
    synth = UpliftSpeechSynthesizer(KEY, base_url=peer.base_url, output_format="ULAW_8000_8")
    assert synth.sample_rate == 8000
    assert synth.audio_format == "ULAW_8000_8"
    audio = await collect(synth.synthesize("Hello there."))
    await synth.aclose()
    assert audio == audio_for("Hello there.", "ULAW_8000_8")
    assert len(audio) == 2 * 800  # two words of 100 ms, one byte a sample
    assert peer.requests[0]["outputFormat"] == "ULAW_8000_8"


async def test_stopping_the_iteration_cancels_the_request_on_the_server(
    peer: UpliftPeer, synth: UpliftSpeechSynthesizer
) -> None:
    chunks = synth.synthesize("A long story that goes on and on. [hold]")
    async with contextlib.aclosing(chunks):  # type: ignore[type-var]
        first = await anext(chunks)
    assert first
    request_id = peer.requests[0]["requestId"]
    await peer.wait_for(lambda: peer.cancels == [request_id])
    assert ("cancel", request_id) in peer.events
    # The connection stays usable after a cancel.
    assert await collect(synth.synthesize("Next.")) == audio_for("Next.")
    assert peer.connections == 1


async def test_cancelling_the_consuming_task_cancels_the_request(
    peer: UpliftPeer, synth: UpliftSpeechSynthesizer
) -> None:
    got_audio = asyncio.Event()

    async def speak() -> None:
        async for _chunk in synth.synthesize("Interrupt me please. [hold]"):
            got_audio.set()

    task = asyncio.create_task(speak())
    await asyncio.wait_for(got_audio.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await peer.wait_for(lambda: len(peer.cancels) == 1)
    assert peer.cancels == [peer.requests[0]["requestId"]]


async def test_a_drop_mid_utterance_fails_it_clearly_and_the_next_one_reconnects(
    peer: UpliftPeer, synth: UpliftSpeechSynthesizer
) -> None:
    received: list[bytes] = []
    with pytest.raises(SpeechUnavailable, match="dropped mid-utterance"):
        await collect_into(received, synth.synthesize("This will be cut off. [drop]"))
    assert received  # some audio came before the drop
    assert await collect(synth.synthesize("Back again.")) == audio_for("Back again.")
    assert peer.connections == 2


async def test_a_connection_dropped_while_idle_is_replaced_without_an_error(
    peer: UpliftPeer, synth: UpliftSpeechSynthesizer
) -> None:
    await collect(synth.synthesize("Before."))
    peer.drop_all()
    await peer.wait_for(lambda: peer.open_connections == 0)
    assert await collect(synth.synthesize("After.")) == audio_for("After.")
    assert peer.connections == 2


async def test_an_unreachable_server_is_unavailable() -> None:
    async with running() as peer:
        url = peer.base_url
    synth = UpliftSpeechSynthesizer(KEY, base_url=url, connect_timeout=2)
    with pytest.raises(SpeechUnavailable, match="cannot reach Uplift AI"):
        await collect(synth.synthesize("Anyone there?"))


async def test_engineio_pings_are_answered_so_an_idle_connection_stays_open() -> None:
    async with running(ping_interval=0.05, ping_timeout=0.1) as peer:
        synth = UpliftSpeechSynthesizer(KEY, base_url=peer.base_url)
        await synth.prewarm()
        await asyncio.sleep(0.5)  # ten ping intervals: unanswered, the server would close
        assert peer.open_connections == 1
        assert await collect(synth.synthesize("Still awake.")) == audio_for("Still awake.")
        await synth.aclose()
    assert peer.connections == 1


async def test_a_server_that_stops_sending_audio_times_out_and_is_told_to_cancel(
    peer: UpliftPeer,
) -> None:
    synth = UpliftSpeechSynthesizer(KEY, base_url=peer.base_url, audio_timeout=0.2)
    received: list[bytes] = []
    with pytest.raises(SpeechUnavailable, match=r"no audio for 0\.2 s"):
        await collect_into(received, synth.synthesize("Then silence [hold]."))
    assert received  # the first chunk came
    await peer.wait_for(lambda: peer.cancels == [peer.requests[0]["requestId"]])
    await synth.aclose()
