"""`chat` freezes its startup heap once the session is ready, so the garbage collector's
full passes (116 ms on the event loop with LiveKit and the model loaded, measured by
scripts/bench_critical_path.py) never land in a turn."""

from __future__ import annotations

import gc
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.unit.inbound.livekit.world import ADA

from companion.inbound.cli._chat import run_chat
from companion.main.container import aclose_clients, build_container
from companion.main.settings import load_settings


class Piped(io.StringIO):
    def isatty(self) -> bool:
        return False


@pytest.fixture
def thawed() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # leave the test process as it was


@pytest.mark.usefixtures("thawed")
async def test_the_heap_built_at_startup_is_frozen_before_the_first_turn(tmp_path: Path) -> None:
    container = build_container(
        load_settings(companion={"store": "memory", "embedder": "hashing", "data_dir": tmp_path})
    )
    frozen_at_first_turn: list[int] = []

    class Watching(Piped):
        def readline(self, size: int | None = -1) -> str:
            frozen_at_first_turn.append(gc.get_freeze_count())
            return super().readline()

    out = Piped()
    try:
        assert await run_chat(container, ADA, stdin=Watching("Hello!\n"), stdout=out) == 0
    finally:
        await container.services.memory_worker().close(within=5)
        await aclose_clients(container)
        container.shutdown_resources()
    assert frozen_at_first_turn and frozen_at_first_turn[0] > 0
    assert len(out.getvalue().splitlines()) == 2  # the greeting and the reply
