"""`doctor`: every configured backend is exercised, and a broken one is a failed row."""

from __future__ import annotations

import io
import json
from pathlib import Path

from tests.servers.openai_peer import OpenAIPeer, PeerReply

from companion.inbound.cli._doctor import run_doctor
from companion.main.container import aclose_clients, build_container
from companion.main.settings import load_settings

KEY = "sk-doctor-secret-0123456789"


async def doctor(settings: object, *, as_json: bool = True) -> tuple[int, str]:
    container = build_container(settings)  # type: ignore[arg-type]
    out = io.StringIO()
    try:
        status = await run_doctor(container, settings, out, as_json=as_json)  # type: ignore[arg-type]
    finally:
        await aclose_clients(container)
        container.shutdown_resources()
    return status, out.getvalue()


async def test_the_embedded_default_is_healthy(tmp_path: Path) -> None:
    settings = load_settings(companion={"data_dir": tmp_path, "embedder": "hashing"})
    status, text = await doctor(settings)
    report = json.loads(text)
    assert status == 0 and report["ok"] is True
    rows = {c["name"]: c for c in report["checks"]}
    assert rows["store"]["backend"] == "sqlite" and rows["store"]["status"] == "ok"
    assert "0 turn(s) waiting" in rows["store"]["detail"]
    assert rows["schema"]["detail"].startswith("version ")
    assert rows["embedder"]["detail"].startswith("hashing")
    assert rows["chat model"]["backend"] == "offline"
    assert rows["cache"]["status"] == "ok"
    assert rows["livekit"]["status"] == "off"


async def test_a_remote_model_is_pinged_and_its_failure_is_reported(
    tmp_path: Path, openai_peer: OpenAIPeer
) -> None:
    settings = load_settings(
        companion={"data_dir": tmp_path, "embedder": "hashing"},
        openai={"base_url": openai_peer.base_url, "api_key": KEY, "model": "m1"},
    )
    openai_peer.script.append(
        PeerReply(
            body={
                "object": "list",
                "data": [{"id": "m1", "object": "model", "created": 0, "owned_by": "me"}],
            }
        )
    )
    status, text = await doctor(settings, as_json=False)
    assert status == 0
    assert openai_peer.requests[0].method == "GET" and openai_peer.requests[0].path == "/v1/models"
    line = next(line for line in text.splitlines() if line.startswith("chat model"))
    assert "openai" in line and "OK" in line and "key accepted" in line

    openai_peer.get_script.append(
        PeerReply(401, {"error": {"message": f"invalid key {KEY}", "type": "auth", "code": None}})
    )
    status, text = await doctor(settings, as_json=False)
    line = next(line for line in text.splitlines() if line.startswith("chat model"))
    assert status == 1 and "FAIL" in line and "authentication failed" in line
    assert KEY not in text


async def test_half_configured_livekit_fails(tmp_path: Path) -> None:
    settings = load_settings(
        companion={"data_dir": tmp_path, "embedder": "hashing"},
        livekit={"url": "wss://example.livekit.cloud"},
    )
    status, text = await doctor(settings)
    rows = {c["name"]: c for c in json.loads(text)["checks"]}
    assert status == 1
    assert rows["livekit"]["status"] == "fail"
    assert "LIVEKIT_API_KEY" in rows["livekit"]["detail"]
