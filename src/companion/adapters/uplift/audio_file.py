"""Uplift AI speech as one audio file: what ``companion-agent say`` writes.

What the file holds depends on the output format:

- ``PCM_22050_16``: a WAV file, 16-bit mono PCM at 22050 Hz (the header is added here).
- ``ULAW_8000_8``: a WAV file holding the μ-law bytes as they are (WAVE format 7, 8000 Hz),
  which players and ``sox`` read directly.
- ``WAV_22050_16`` / ``WAV_22050_32``: the service sends one WAV file per request, and
  text over its 10,000-character limit is several requests, so the data of every request
  is joined under one header (the service's own ``fmt`` chunk is kept).
- ``MP3_*`` / ``OGG_*``: compressed audio, not WAV: the service's bytes as they come (MP3
  frames, and Ogg streams chained one per request, play back to back).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from companion.adapters.uplift.speech_text import split_for_limit
from companion.adapters.uplift.uplift_speech_synthesizer import (
    MAX_TEXT_CHARS,
    OUTPUT_FORMATS,
    UpliftSpeechSynthesizer,
)
from companion.domain.errors import InvalidInput, SpeechError


@dataclass(frozen=True, slots=True)
class SpokenAudio:
    """A whole text spoken: the file's bytes, and the seconds they hold (None: not known)."""

    content: bytes
    seconds: float | None
    output_format: str
    voice_id: str


def check_output_format(raw: str) -> str:
    """The output format, upper-cased; an unknown one is a clear InvalidInput."""
    fmt = raw.strip().upper()
    if fmt not in OUTPUT_FORMATS:
        raise InvalidInput(f"unknown output format {fmt!r}: use one of {', '.join(OUTPUT_FORMATS)}")
    return fmt


_WAVE_PCM = 1
_WAVE_MULAW = 7


def _u32(value: int) -> bytes:
    return struct.pack("<I", value)


def wav_file(fmt: bytes, data: bytes, *, fact_samples: int | None = None) -> bytes:
    """A RIFF/WAVE file from a ``fmt`` chunk's payload and the audio data."""
    chunks = b"fmt " + _u32(len(fmt)) + fmt + b"\0" * (len(fmt) & 1)
    if fact_samples is not None:  # required for formats other than PCM
        chunks += b"fact" + _u32(4) + _u32(fact_samples)
    chunks += b"data" + _u32(len(data)) + data + b"\0" * (len(data) & 1)
    return b"RIFF" + _u32(4 + len(chunks)) + b"WAVE" + chunks


def _pcm_fmt(rate: int, bits: int, tag: int) -> bytes:
    block = bits // 8
    fmt = struct.pack("<HHIIHH", tag, 1, rate, rate * block, block, bits)
    return fmt if tag == _WAVE_PCM else fmt + struct.pack("<H", 0)


def split_wav(blob: bytes) -> tuple[bytes, bytes]:
    """The ``fmt`` payload and the audio data of one WAV file."""
    if blob[:4] != b"RIFF" or blob[8:12] != b"WAVE":
        raise SpeechError("Uplift AI sent WAV audio without a RIFF/WAVE header")
    fmt: bytes | None = None
    pos = 12
    while pos + 8 <= len(blob):
        chunk_id = blob[pos : pos + 4]
        size = struct.unpack_from("<I", blob, pos + 4)[0]
        start = pos + 8
        if chunk_id == b"data":
            if fmt is None:
                break
            # A header written before the audio was known may give 0 or 0xFFFFFFFF here.
            end = start + size if 0 < size <= len(blob) - start else len(blob)
            return fmt, blob[start:end]
        if chunk_id == b"fmt ":
            fmt = blob[start : start + size]
        pos = start + size + (size & 1)
    raise SpeechError("Uplift AI sent WAV audio without a fmt and a data chunk")


def _encode(output_format: str, parts: list[bytes]) -> tuple[bytes, float | None]:
    """The file's bytes and the seconds of audio they hold (None when not known)."""
    kind, rate_text, bits_text = output_format.split("_")
    rate, bits = int(rate_text), int(bits_text)
    if kind == "PCM":
        data = b"".join(parts)
        return wav_file(_pcm_fmt(rate, bits, _WAVE_PCM), data), len(data) / (rate * bits // 8)
    if kind == "ULAW":
        data = b"".join(parts)
        fmt = _pcm_fmt(rate, bits, _WAVE_MULAW)
        return wav_file(fmt, data, fact_samples=len(data)), len(data) / rate
    if kind == "WAV":
        pieces = [split_wav(part) for part in parts]
        fmt = pieces[0][0]
        data = b"".join(data for _, data in pieces)
        byte_rate = struct.unpack_from("<I", fmt, 8)[0] if len(fmt) >= 12 else 0
        return wav_file(fmt, data), (len(data) / byte_rate if byte_rate else None)
    return b"".join(parts), None


async def speak_to_audio(
    text: str, *, api_key: str, base_url: str, voice_id: str, output_format: str
) -> SpokenAudio:
    """Speak ``text`` with Uplift AI and assemble the audio as one file's bytes."""
    fmt = check_output_format(output_format)
    synthesizer = UpliftSpeechSynthesizer(
        api_key, base_url=base_url, voice_id=voice_id, output_format=fmt
    )
    try:
        # One request per piece, so each WAV piece arrives as one file to unwrap.
        parts = [
            b"".join([chunk async for chunk in synthesizer.synthesize(piece)])
            for piece in split_for_limit(text, MAX_TEXT_CHARS)
        ]
    finally:
        await synthesizer.aclose()
    content, seconds = _encode(fmt, parts)
    return SpokenAudio(content, seconds, fmt, voice_id)
