"""UpliftSpeechSynthesizer: the SpeechSynthesizer port over Uplift AI's realtime TTS.

What it does better than the official LiveKit plugin:

- Streamed text is cut into sentences as it arrives and each sentence is requested at
  once, so the first audio follows the first sentence, not the whole reply. Later
  sentences are requested while earlier ones play (up to ``max_in_flight`` at a time) and
  their audio is yielded in order.
- Stopping the iteration (``aclose()``, ``break`` inside ``aclosing``, a cancelled task)
  sends ``cancel`` for every request still in flight.
- ``sample_rate`` follows the output format: 22050 Hz, or 8000 Hz for ``ULAW_8000_8``.
- Service errors become distinct domain errors (``SpeechAuthError``,
  ``SpeechRateLimited``, ``SpeechRequestRejected``, ``SpeechSynthesisFailed``,
  ``SpeechUnavailable``) and are never retried here: the caller decides.
- Text over the service's 10,000-character limit is cut between sentences (or words)
  and spoken as several requests, never rejected.
- One connection is shared by every utterance: opened by :meth:`prewarm` or the first
  utterance, replaced once it is older than ``max_connection_age`` (utterances in flight
  finish on the old one), and re-opened on the next utterance after a drop. The only
  automatic retry is a request whose send found the connection already closed: nothing
  was synthesized, so it is sent once more on a fresh connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterable, AsyncIterator

import structlog

from companion.adapters.uplift.socketio_client import engineio_url
from companion.adapters.uplift.speech_text import split_for_limit, take_sentences
from companion.adapters.uplift.uplift_connection import UpliftConnection, Utterance
from companion.domain.errors import ConfigurationError, InvalidInput, SpeechUnavailable
from companion.ports.speech_synthesizer import SpeechSynthesizer

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_VOICE_ID",
    "MAX_TEXT_CHARS",
    "OUTPUT_FORMATS",
    "UpliftSpeechSynthesizer",
]

log = structlog.get_logger(__name__)

DEFAULT_BASE_URL = "wss://api.upliftai.org"
DEFAULT_VOICE_ID = "v_meklc281"
MAX_TEXT_CHARS = 10_000
OUTPUT_FORMATS = (
    "PCM_22050_16",
    "WAV_22050_16",
    "WAV_22050_32",
    "MP3_22050_32",
    "MP3_22050_64",
    "MP3_22050_128",
    "OGG_22050_16",
    "ULAW_8000_8",
)
# Engine.IO pings keep an idle connection alive and reveal a dead one; the age limit makes
# a long-lived process pick up a rotated key or a redeployed server within minutes.
DEFAULT_MAX_CONNECTION_AGE = 600.0

_Started = tuple[UpliftConnection, Utterance]


class UpliftSpeechSynthesizer(SpeechSynthesizer):
    """Speech from Uplift AI over one shared Socket.IO connection."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        voice_id: str = DEFAULT_VOICE_ID,
        output_format: str = "PCM_22050_16",
        max_connection_age: float = DEFAULT_MAX_CONNECTION_AGE,
        connect_timeout: float = 10.0,
        audio_timeout: float = 20.0,
        max_in_flight: int = 3,
        max_text_chars: int = MAX_TEXT_CHARS,
    ) -> None:
        if not api_key:
            raise ConfigurationError("no Uplift AI API key: set UPLIFTAI_API_KEY")
        if output_format not in OUTPUT_FORMATS:
            raise InvalidInput(
                f"unknown Uplift AI output format {output_format!r}: "
                f"use one of {', '.join(OUTPUT_FORMATS)}"
            )
        try:
            engineio_url(base_url)
        except ValueError:
            raise ConfigurationError(
                "UPLIFTAI_BASE_URL must be a ws, wss, http or https URL"
            ) from None
        if max_in_flight < 1 or max_text_chars < 1:
            raise InvalidInput("max_in_flight and max_text_chars must be at least 1")
        self._api_key = api_key
        self._base_url = base_url
        self._voice_id = voice_id
        self._format = output_format
        self._max_age = max_connection_age
        self._connect_timeout = connect_timeout
        self._audio_timeout = audio_timeout
        self._max_in_flight = max_in_flight
        self._max_chars = max_text_chars
        self._lock = asyncio.Lock()
        self._connection: UpliftConnection | None = None
        self._open: set[UpliftConnection] = set()

    def __repr__(self) -> str:
        return (
            f"UpliftSpeechSynthesizer(base_url={self._base_url!r}, "
            f"voice_id={self._voice_id!r}, output_format={self._format!r})"
        )

    @property
    def sample_rate(self) -> int:
        return int(self._format.split("_")[1])

    @property
    def audio_format(self) -> str:
        return self._format

    @property
    def voice_id(self) -> str:
        """The voice every utterance is spoken in."""
        return self._voice_id

    async def prewarm(self) -> None:
        """Open the connection now, so the first utterance does not wait for it."""
        await self._ready_connection()

    def synthesize(self, text: str) -> AsyncIterator[bytes]:
        return self._speak(_whole(text))

    def synthesize_stream(self, text: AsyncIterable[str]) -> AsyncIterator[bytes]:
        return self._speak(_sentences(text, self._max_chars))

    async def aclose(self) -> None:
        async with self._lock:
            connections = list(self._open)
            self._open.clear()
            self._connection = None
        for connection in connections:
            await connection.close()

    async def _ready_connection(self) -> UpliftConnection:
        async with self._lock:
            current = self._connection
            if current is not None and current.usable and current.age < self._max_age:
                return current
            if current is not None:
                current.retire()  # in-flight utterances finish; then it closes
            self._open = {c for c in self._open if not c.closed}
            self._connection = None
            connection = await UpliftConnection.open(
                self._base_url, self._api_key, open_timeout=self._connect_timeout
            )
            self._connection = connection
            self._open.add(connection)
            return connection

    async def _start(self, text: str) -> _Started:
        for attempt in (1, 2):
            connection = await self._ready_connection()
            request_id = uuid.uuid4().hex
            try:
                utterance = await connection.start(
                    request_id, text, voice_id=self._voice_id, output_format=self._format
                )
            except SpeechUnavailable:
                if attempt == 2:
                    raise
                # It died since its last use and nothing went out: one try on a new one.
                log.info("uplift_reconnect_before_request")
                continue
            log.debug("uplift_request_sent", request_id=request_id, chars=len(text))
            return connection, utterance
        raise AssertionError("unreachable")

    async def _speak(self, texts: AsyncIterator[str]) -> AsyncIterator[bytes]:
        """Request each text as soon as it is known; yield the audio of each in order."""
        started: asyncio.Queue[_Started | BaseException | None] = asyncio.Queue()
        slots = asyncio.Semaphore(self._max_in_flight)
        in_flight: list[_Started] = []

        async def produce() -> None:
            try:
                async for text in texts:
                    for part in split_for_limit(text, self._max_chars):
                        await slots.acquire()
                        item = await self._start(part)
                        in_flight.append(item)
                        started.put_nowait(item)
            except Exception as exc:  # handed to the consumer, after the audio before it
                started.put_nowait(exc)
            else:
                started.put_nowait(None)

        producer = asyncio.create_task(produce(), name="uplift-requests")
        try:
            while (item := await started.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                connection, utterance = item
                async for chunk in utterance.chunks(gap_timeout=self._audio_timeout):
                    yield chunk
                connection.done(utterance)
                in_flight.remove(item)
                slots.release()
        finally:
            producer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await producer
            for connection, utterance in in_flight:
                connection.cancel(utterance)


async def _whole(text: str) -> AsyncIterator[str]:
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("nothing to say: text is empty")
    yield text


async def _sentences(text: AsyncIterable[str], limit: int) -> AsyncIterator[str]:
    """Sentences of streamed text as each completes; the rest when the text ends."""
    buffer = ""
    async for piece in text:
        buffer += piece
        sentences, buffer = take_sentences(buffer)
        for sentence in sentences:
            yield sentence
        if len(buffer) > limit:  # no sentence end in sight: cut between words
            *full, last = split_for_limit(buffer, limit)
            for part in full:
                yield part
            buffer = last + (" " if buffer[-1].isspace() else "")
    if buffer.strip():
        yield buffer.strip()
