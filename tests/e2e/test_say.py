"""``companion-agent say TEXT --out FILE.wav`` as a user runs it, against a local Uplift peer.

The expected command line: ``say TEXT --out FILE [--voice V] [--format F]``.
"""

from __future__ import annotations

import wave
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.e2e.conftest import Run
from tests.servers.uplift import KEY, UpliftPeer, audio_for, running_in_thread


@pytest.fixture
def peer() -> Iterator[UpliftPeer]:
    with running_in_thread() as p:
        yield p


def uplift_env(peer: UpliftPeer, key: str = KEY) -> dict[str, str]:
    return {"UPLIFTAI_BASE_URL": peer.base_url, "UPLIFTAI_API_KEY": key}


def test_say_writes_the_voice_into_a_wav_file(run: Run, peer: UpliftPeer, tmp_path: Path) -> None:
    out = tmp_path / "hello.wav"
    result = run("say", "Hello there, Ada.", "--out", str(out), env=uplift_env(peer))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"wrote {out}: 0.3 s of speech (PCM_22050_16")
    with wave.open(str(out)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 22050)
        assert wav.readframes(wav.getnframes()) == audio_for("Hello there, Ada.")


def test_say_takes_a_voice_and_a_format(run: Run, peer: UpliftPeer, tmp_path: Path) -> None:
    out = tmp_path / "phone.wav"
    result = run(
        "say",
        "Hello.",
        "--out",
        str(out),
        "--voice",
        "v_kwmp7zxt",
        "--format",
        "ULAW_8000_8",
        env=uplift_env(peer),
    )
    assert result.returncode == 0, result.stderr
    assert peer.requests[0]["voiceId"] == "v_kwmp7zxt"
    assert out.read_bytes().endswith(audio_for("Hello.", "ULAW_8000_8"))


def test_say_without_a_key_is_a_one_line_error(run: Run, tmp_path: Path) -> None:
    result = run("say", "Hello.", "--out", str(tmp_path / "x.wav"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "UPLIFTAI_API_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_refused_key_fails_without_showing_the_key(
    run: Run, peer: UpliftPeer, tmp_path: Path
) -> None:
    wrong = "sk_api_wrong_but_secret_31415926"
    out = tmp_path / "x.wav"
    result = run("say", "Hello.", "--out", str(out), env=uplift_env(peer, wrong))
    assert result.returncode == 1
    assert "refused the API key" in result.stderr
    assert "wrong_but_secret" not in result.stderr + result.stdout
    assert not out.exists()
