"""``companion-agent say TEXT --out FILE``: speak with the configured Uplift AI voice.

What lands in FILE depends on the output format (``--format``, else
``UPLIFTAI_OUTPUT_FORMAT``; ``adapters/uplift/audio_file.py`` assembles it):

- ``PCM_22050_16``: a WAV file, 16-bit mono PCM at 22050 Hz (the header is added here).
- ``ULAW_8000_8``: a WAV file holding the μ-law bytes as they are (WAVE format 7, 8000 Hz),
  which players and ``sox`` read directly.
- ``WAV_22050_16`` / ``WAV_22050_32``: the service sends one WAV file per request, and
  text over its 10,000-character limit is several requests, so the data of every request
  is joined under one header (the service's own ``fmt`` chunk is kept).
- ``MP3_*`` / ``OGG_*``: compressed audio, not WAV. A FILE named ``*.wav`` is refused
  with a one-line error before anything is synthesized; any other name gets the
  service's bytes as they come (MP3 frames, and Ogg streams chained one per request,
  play back to back).

The file is written only when the whole text has been spoken, so a failure never
leaves half a file behind.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TextIO

from companion.domain.errors import ConfigurationError, InvalidInput
from companion.main.operations import check_output_format, speak_to_audio
from companion.main.settings import Settings


def _write_whole(out: Path, content: bytes) -> None:
    """Write ``out`` at once (a rename), so a reader never sees half a file."""
    partial = out.with_name(f".{out.name}.partial")
    try:
        partial.write_bytes(content)
        partial.replace(out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise InvalidInput(f"cannot write {out}: {exc.strerror or exc}") from None


async def run_say(
    settings: Settings,
    text: str,
    out: Path,
    *,
    voice: str | None,
    output_format: str | None,
    stdout: TextIO,
) -> int:
    """Speak ``text`` into ``out``; returns the exit status."""
    uplift = settings.upliftai
    key = uplift.api_key.get_secret_value() if uplift.api_key is not None else ""
    if not key:
        raise ConfigurationError("UPLIFTAI_API_KEY is not set: `say` needs an Uplift AI API key")
    fmt = check_output_format(output_format or uplift.output_format)
    if fmt.startswith(("MP3", "OGG")) and out.suffix.lower() == ".wav":
        extension = ".mp3" if fmt.startswith("MP3") else ".ogg"
        raise InvalidInput(
            f"{fmt} is compressed audio, not WAV: write it to a {extension} file, "
            "or use --format PCM_22050_16 for a .wav"
        )
    if not text.strip():
        raise InvalidInput("nothing to say: TEXT is empty")
    if not out.parent.is_dir():
        raise InvalidInput(f"cannot write {out}: {out.parent} is not a directory")
    voice_id = voice or uplift.voice_id
    audio = await speak_to_audio(
        text, api_key=key, base_url=uplift.base_url, voice_id=voice_id, output_format=fmt
    )
    content, seconds = audio.content, audio.seconds
    await asyncio.to_thread(_write_whole, out, content)
    length = f"{seconds:.1f} s of speech" if seconds is not None else f"{len(content)} bytes"
    print(f"wrote {out}: {length} ({fmt}, voice {voice_id})", file=stdout)
    return 0
