"""The SpeechSynthesizer port: text to audio."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import Protocol


class SpeechSynthesizer(Protocol):
    """Speaks text as raw audio chunks in ``audio_format`` at ``sample_rate`` Hz."""

    @property
    def sample_rate(self) -> int:
        """Samples per second of the audio it yields."""
        ...

    @property
    def audio_format(self) -> str:
        """The encoding of the chunks, e.g. ``PCM_22050_16`` (16-bit little-endian mono)."""
        ...

    def synthesize(self, text: str) -> AsyncIterator[bytes]:
        """The audio of one utterance, chunk by chunk."""
        ...

    def synthesize_stream(self, text: AsyncIterable[str]) -> AsyncIterator[bytes]:
        """Audio for text that arrives in pieces, starting sentence by sentence."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
