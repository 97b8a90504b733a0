"""``say``'s work, in process: Uplift audio from the local peer into a playable file."""

from __future__ import annotations

import io
import struct
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from tests.servers.uplift import KEY, MAX_CHARS, UpliftPeer, audio_for, running

from companion.adapters.uplift.audio_file import split_wav, wav_file
from companion.domain.errors import ConfigurationError, InvalidInput, SpeechAuthError
from companion.inbound.cli._say import run_say
from companion.main.settings import Settings, UpliftAISettings


@pytest.fixture
async def peer() -> AsyncIterator[UpliftPeer]:
    async with running(chunk_bytes=4096) as p:
        yield p


def settings_for(peer: UpliftPeer, key: str | None = KEY, **options: str) -> Settings:
    secret = SecretStr(key) if key is not None else None
    return Settings(upliftai=UpliftAISettings(base_url=peer.base_url, api_key=secret, **options))


async def say(
    settings: Settings,
    text: str,
    out: Path,
    *,
    voice: str | None = None,
    output_format: str | None = None,
) -> str:
    stdout = io.StringIO()
    status = await run_say(
        settings, text, out, voice=voice, output_format=output_format, stdout=stdout
    )
    assert status == 0
    return stdout.getvalue()


def chunks_of(blob: bytes) -> dict[bytes, bytes]:
    """The chunks of a RIFF/WAVE file by id (one of each in the files ``say`` writes)."""
    assert blob[:4] == b"RIFF" and blob[8:12] == b"WAVE"
    assert struct.unpack_from("<I", blob, 4)[0] == len(blob) - 8
    found: dict[bytes, bytes] = {}
    pos = 12
    while pos < len(blob):
        size = struct.unpack_from("<I", blob, pos + 4)[0]
        found[blob[pos : pos + 4]] = blob[pos + 8 : pos + 8 + size]
        pos += 8 + size + (size & 1)
    return found


async def test_pcm_speech_becomes_a_wav_file_any_player_reads(
    peer: UpliftPeer, tmp_path: Path
) -> None:
    out = tmp_path / "hello.wav"
    printed = await say(settings_for(peer), "Hello there, Ada.", out)
    with wave.open(str(out)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 22050)
        frames = wav.readframes(wav.getnframes())
    assert frames == audio_for("Hello there, Ada.")
    assert printed == f"wrote {out}: 0.3 s of speech (PCM_22050_16, voice v_meklc281)\n"


async def test_voice_and_format_options_override_the_settings(
    peer: UpliftPeer, tmp_path: Path
) -> None:
    out = tmp_path / "phone.wav"
    await say(settings_for(peer), "Hello.", out, voice="v_30s70t3a", output_format="ulaw_8000_8")
    assert peer.requests[0]["voiceId"] == "v_30s70t3a"
    assert peer.requests[0]["outputFormat"] == "ULAW_8000_8"
    chunks = chunks_of(out.read_bytes())
    tag, channels, rate, byte_rate, block, bits = struct.unpack_from("<HHIIHH", chunks[b"fmt "])
    assert (tag, channels, rate, byte_rate, block, bits) == (7, 1, 8000, 8000, 1, 8)
    assert chunks[b"data"] == audio_for("Hello.", "ULAW_8000_8")
    assert struct.unpack("<I", chunks[b"fact"])[0] == len(chunks[b"data"])


@pytest.mark.parametrize(("fmt", "width"), [("WAV_22050_16", 2), ("WAV_22050_32", 4)])
async def test_wav_from_several_requests_is_rewrapped_under_one_header(
    peer: UpliftPeer, tmp_path: Path, fmt: str, width: int
) -> None:
    text = ("Pneumonoultramicroscopicsilicovolcanoconiosis " * 9 + "is a word. ") * 50
    assert len(text) > MAX_CHARS
    out = tmp_path / "long.wav"
    await say(settings_for(peer, output_format=fmt), text, out)
    sent = [r["text"] for r in peer.requests]
    assert len(sent) == 3
    blob = out.read_bytes()
    assert blob.count(b"RIFF") == 1
    with wave.open(str(out)) as wav:
        assert (wav.getsampwidth(), wav.getframerate()) == (width, 22050)
        frames = wav.readframes(wav.getnframes())
    assert frames == b"".join(split_wav(audio_for(t, fmt))[1] for t in sent)


async def test_compressed_audio_is_refused_as_wav_before_anything_is_spoken(
    peer: UpliftPeer, tmp_path: Path
) -> None:
    out = tmp_path / "x.wav"
    with pytest.raises(InvalidInput, match=r"MP3_22050_64 is compressed audio, not WAV.*\.mp3"):
        await say(settings_for(peer), "Hello.", out, output_format="MP3_22050_64")
    assert peer.connections == 0
    assert not out.exists()


@pytest.mark.parametrize(("fmt", "suffix"), [("MP3_22050_128", ".mp3"), ("OGG_22050_16", ".ogg")])
async def test_compressed_audio_is_written_as_the_service_sent_it(
    peer: UpliftPeer, tmp_path: Path, fmt: str, suffix: str
) -> None:
    out = tmp_path / f"hello{suffix}"
    printed = await say(settings_for(peer), "Hello there.", out, output_format=fmt)
    assert out.read_bytes() == audio_for("Hello there.", fmt)
    assert printed.endswith(f"bytes ({fmt}, voice v_meklc281)\n")


async def test_without_a_key_say_names_the_setting_to_set(peer: UpliftPeer, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="UPLIFTAI_API_KEY is not set") as caught:
        await say(settings_for(peer, key=None), "Hello.", tmp_path / "x.wav")
    assert "\n" not in str(caught.value)
    assert peer.connections == 0


async def test_a_refused_key_leaves_no_file_behind(peer: UpliftPeer, tmp_path: Path) -> None:
    out = tmp_path / "x.wav"
    with pytest.raises(SpeechAuthError):
        await say(settings_for(peer, key="sk_api_wrong_00000000"), "Hello.", out)
    assert not out.exists()
    assert not (tmp_path / ".x.wav.partial").exists()


async def test_bad_arguments_are_one_line_errors(peer: UpliftPeer, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="unknown output format 'FLAC_44100_16'"):
        await say(settings_for(peer), "Hi.", tmp_path / "x.wav", output_format="FLAC_44100_16")
    with pytest.raises(InvalidInput, match="nothing to say"):
        await say(settings_for(peer), "   ", tmp_path / "x.wav")
    with pytest.raises(InvalidInput, match="is not a directory"):
        await say(settings_for(peer), "Hi.", tmp_path / "missing" / "x.wav")
    assert peer.connections == 0


def test_a_streaming_wav_header_without_sizes_still_gives_all_the_audio() -> None:
    data = bytes(range(200))
    blob = bytearray(wav_file(struct.pack("<HHIIHH", 1, 1, 22050, 44100, 2, 16), data))
    struct.pack_into("<I", blob, 4, 0xFFFFFFFF)  # RIFF size unknown
    struct.pack_into("<I", blob, 40, 0xFFFFFFFF)  # data size unknown
    assert split_wav(bytes(blob))[1] == data
