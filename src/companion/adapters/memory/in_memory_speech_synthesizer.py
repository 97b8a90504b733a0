"""InMemorySpeechSynthesizer: renders text as tones, for tests and machines with no voice.

It is not speech: each word becomes a short tone whose pitch follows the word, so the
audio has the rhythm of the text. It records every utterance it was asked to speak, which
is what tests of the voice pipeline need to check.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import AsyncIterable, AsyncIterator

import numpy as np

from companion.domain.errors import InvalidInput
from companion.ports.speech_synthesizer import SpeechSynthesizer

_SENTENCE_END = re.compile(r"(?<=[.!?۔؟])\s+")
_WORD_SECONDS = 0.12
_GAP_SECONDS = 0.04


class InMemorySpeechSynthesizer(SpeechSynthesizer):
    """16-bit mono PCM tones, one per word; keeps the texts it spoke in ``spoken``."""

    def __init__(self, sample_rate: int = 22050) -> None:
        if sample_rate < 8000:
            raise InvalidInput("sample rate must be at least 8000 Hz")
        self._rate = sample_rate
        self.spoken: list[str] = []

    @property
    def sample_rate(self) -> int:
        return self._rate

    @property
    def audio_format(self) -> str:
        return f"PCM_{self._rate}_16"

    def _render(self, word: str) -> bytes:
        pitch = 220.0 + (zlib.crc32(word.encode()) % 440)
        t = np.arange(int(self._rate * _WORD_SECONDS), dtype=np.float32) / self._rate
        envelope = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.01)
        tone = (0.3 * 32767 * envelope * np.sin(2 * np.pi * pitch * t)).astype("<i2")
        gap = np.zeros(int(self._rate * _GAP_SECONDS), dtype="<i2")
        return tone.tobytes() + gap.tobytes()

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput("nothing to say: text is empty")
        self.spoken.append(text)
        for word in text.split():
            yield self._render(word)

    async def synthesize_stream(self, text: AsyncIterable[str]) -> AsyncIterator[bytes]:
        buffer = ""
        async for piece in text:
            buffer += piece
            *sentences, buffer = _SENTENCE_END.split(buffer)
            for sentence in sentences:
                if sentence.strip():
                    async for chunk in self.synthesize(sentence.strip()):
                        yield chunk
        if buffer.strip():
            async for chunk in self.synthesize(buffer.strip()):
                yield chunk

    async def aclose(self) -> None:
        self.spoken.clear()
