"""SpeechSynthesizerTTS: any SpeechSynthesizer as a LiveKit Agents TTS.

The agent speaks through the SpeechSynthesizer port (Uplift AI, or the in-memory tones),
so the voice pipeline never depends on one vendor. Streaming: the LLM's text is handed to
``synthesize_stream`` as it arrives, and the synthesizer decides when to start speaking
(Uplift: at the end of the first sentence).

Errors reach LiveKit as the exceptions its retry logic reads: a refused key or a rejected
request is an ``APIStatusError`` that is not retryable (401/400), a rate limit or a
failed synthesis a retryable one (429/500), a connection problem an
``APIConnectionError`` and silence beyond ``conn_options.timeout`` an ``APITimeoutError``.
When the framework stops a stream (an interruption), the synthesizer's iterator is closed,
which for Uplift sends ``cancel``.

LiveKit needs raw PCM: synthesizers producing 16-bit PCM are passed through, μ-law
(``ULAW_8000_8``) is decoded to 16-bit PCM at its own 8000 Hz; container formats (WAV,
MP3, OGG) are refused when the bridge is built, as they only add a decoder to the path.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Protocol, runtime_checkable

import numpy as np
import structlog
from livekit.agents import (
    DEFAULT_API_CONNECT_OPTIONS,
    APIConnectionError,
    APIConnectOptions,
    APIError,
    APIStatusError,
    APITimeoutError,
    tts,
    utils,
)

from companion.domain.errors import (
    ConfigurationError,
    InvalidInput,
    SpeechAuthError,
    SpeechError,
    SpeechRateLimited,
    SpeechRequestRejected,
    SpeechSynthesisFailed,
    SpeechUnavailable,
)
from companion.ports.speech_synthesizer import SpeechSynthesizer

__all__ = ["SpeechSynthesizerTTS", "api_error", "decoder_for"]

log = structlog.get_logger(__name__)

Decoder = Callable[[bytes], bytes]


@runtime_checkable
class _Prewarmable(Protocol):
    async def prewarm(self) -> None: ...


@functools.cache
def _ulaw_table() -> np.ndarray:
    """G.711 μ-law byte → 16-bit linear sample."""
    table = np.empty(256, dtype="<i2")
    for byte in range(256):
        u = ~byte & 0xFF
        magnitude = (((u & 0x0F) << 3) + 0x84) << ((u >> 4) & 0x07)
        table[byte] = 0x84 - magnitude if u & 0x80 else magnitude - 0x84
    return table


def _decode_ulaw(chunk: bytes) -> bytes:
    return bytes(_ulaw_table()[np.frombuffer(chunk, dtype=np.uint8)].tobytes())


def _pcm(chunk: bytes) -> bytes:
    return chunk


def decoder_for(audio_format: str) -> Decoder:
    """How to turn a synthesizer's chunks in ``audio_format`` into 16-bit PCM for LiveKit."""
    kind, _, bits = audio_format.rpartition("_")
    if kind.startswith("PCM_") and bits == "16":
        return _pcm
    if audio_format.startswith("ULAW_") and bits == "8":
        return _decode_ulaw
    raise ConfigurationError(
        f"the voice agent needs raw audio (PCM_22050_16 or ULAW_8000_8), not {audio_format}: "
        "for Uplift AI set UPLIFTAI_OUTPUT_FORMAT"
    )


def api_error(exc: SpeechError | InvalidInput) -> APIError:
    """The LiveKit error for a synthesizer's error, retryable only where a retry can help."""
    message = str(exc)
    body = {"code": exc.code} if isinstance(exc, SpeechError) and exc.code else None
    if isinstance(exc, SpeechAuthError):
        return APIStatusError(message, status_code=401, body=body, retryable=False)
    if isinstance(exc, SpeechRateLimited):
        return APIStatusError(message, status_code=429, body=body, retryable=True)
    if isinstance(exc, (SpeechRequestRejected, InvalidInput)):
        return APIStatusError(message, status_code=400, body=body, retryable=False)
    if isinstance(exc, SpeechSynthesisFailed):
        return APIStatusError(message, status_code=500, body=body, retryable=True)
    if isinstance(exc, SpeechUnavailable):
        return APIConnectionError(message)
    return APIError(message, body=body, retryable=False)


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except (SpeechError, InvalidInput) as exc:
        raise api_error(exc) from exc
    except TimeoutError:
        raise APITimeoutError("the speech synthesizer sent no audio in time") from None


async def _audio(chunks: AsyncIterator[bytes], gap: float | None) -> AsyncIterator[bytes]:
    """``chunks``, closed when the caller stops, failing if one takes longer than ``gap``."""
    try:
        while True:
            try:
                async with asyncio.timeout(gap):
                    chunk = await anext(chunks)
            except StopAsyncIteration:
                return
            yield chunk
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()  # for Uplift: cancels what is still being synthesized


class SpeechSynthesizerTTS(tts.TTS[None]):
    """A LiveKit TTS speaking through a :class:`SpeechSynthesizer` (which it does not own)."""

    def __init__(self, synthesizer: SpeechSynthesizer) -> None:
        self._decode = decoder_for(synthesizer.audio_format)
        super().__init__(
            capabilities=tts.TTSCapabilities(streaming=True),
            sample_rate=synthesizer.sample_rate,
            num_channels=1,
        )
        self._synthesizer = synthesizer
        self._prewarm_task: asyncio.Task[None] | None = None

    @property
    def synthesizer(self) -> SpeechSynthesizer:
        return self._synthesizer

    @property
    def model(self) -> str:
        return self._synthesizer.audio_format

    @property
    def provider(self) -> str:
        return type(self._synthesizer).__name__

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> ChunkedStream:
        return ChunkedStream(tts=self, input_text=text, conn_options=conn_options)

    def stream(
        self, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> SynthesizeStream:
        return SynthesizeStream(tts=self, conn_options=conn_options)

    def prewarm(self) -> None:
        """Open the synthesizer's connection in the background, if it has one."""
        if not isinstance(self._synthesizer, _Prewarmable) or self._prewarm_task is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop yet: the first utterance opens the connection
            return
        self._prewarm_task = loop.create_task(self._prewarm())

    async def _prewarm(self) -> None:
        assert isinstance(self._synthesizer, _Prewarmable)
        try:
            await self._synthesizer.prewarm()
        except (SpeechError, OSError) as exc:
            # The first utterance will try again and report it properly.
            log.warning("tts_prewarm_failed", error=type(exc).__name__)

    async def aclose(self) -> None:
        if self._prewarm_task is not None:
            self._prewarm_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._prewarm_task


class ChunkedStream(tts.ChunkedStream):
    """One utterance, synthesized whole."""

    def __init__(
        self, *, tts: SpeechSynthesizerTTS, input_text: str, conn_options: APIConnectOptions
    ) -> None:
        super().__init__(tts=tts, input_text=input_text, conn_options=conn_options)
        self._bridge = tts

    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        output_emitter.initialize(
            request_id=utils.shortuuid(),
            sample_rate=self._bridge.sample_rate,
            num_channels=1,
            mime_type="audio/pcm",
        )
        if not self._input_text.strip():
            return
        chunks = self._bridge.synthesizer.synthesize(self._input_text)
        with _translated():
            async for chunk in _audio(chunks, self._conn_options.timeout):
                output_emitter.push(self._bridge._decode(chunk))
        # No flush(): the framework ends the segment, which sends the held-back tail as the
        # final frame; a flush first would add a 10 ms silent marker after the speech.


class SynthesizeStream(tts.SynthesizeStream):
    """Text pushed as the LLM writes it; each flushed segment is one streamed utterance."""

    def __init__(self, *, tts: SpeechSynthesizerTTS, conn_options: APIConnectOptions) -> None:
        super().__init__(tts=tts, conn_options=conn_options)
        self._bridge = tts

    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        output_emitter.initialize(
            request_id=utils.shortuuid(),
            sample_rate=self._bridge.sample_rate,
            num_channels=1,
            mime_type="audio/pcm",
            stream=True,
        )
        segments: asyncio.Queue[asyncio.Queue[str | None] | None] = asyncio.Queue()

        async def read_input() -> None:
            current: asyncio.Queue[str | None] | None = None
            async for item in self._input_ch:
                if isinstance(item, str):
                    if current is None:
                        current = asyncio.Queue()
                        segments.put_nowait(current)
                    current.put_nowait(item)
                elif current is not None:  # a flush ends the segment
                    current.put_nowait(None)
                    current = None
            if current is not None:
                current.put_nowait(None)
            segments.put_nowait(None)

        async def speak() -> None:
            while (segment := await segments.get()) is not None:
                output_emitter.start_segment(segment_id=utils.shortuuid())
                self._mark_started()
                chunks = self._bridge.synthesizer.synthesize_stream(_pieces(segment))
                # No timeout of our own here: the gaps include waiting for the LLM's text.
                # The synthesizer bounds its own wait for audio once it has asked for it.
                async for chunk in _audio(chunks, None):
                    output_emitter.push(self._bridge._decode(chunk))
                output_emitter.end_segment()

        reader = asyncio.create_task(read_input(), name="tts-input")
        try:
            with _translated():
                await speak()
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


async def _pieces(segment: asyncio.Queue[str | None]) -> AsyncIterator[str]:
    while (piece := await segment.get()) is not None:
        yield piece
