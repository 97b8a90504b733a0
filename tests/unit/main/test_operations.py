"""Loading the local embedding model ahead of a voice session happens off the event loop."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from companion.adapters.local.local_embedder import LocalEmbedder
from companion.main.container import build_container
from companion.main.operations import load_models
from companion.main.settings import load_settings


async def test_the_local_model_is_loaded_in_a_worker_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded_on: list[threading.Thread] = []
    monkeypatch.setattr(
        LocalEmbedder, "load", lambda self: loaded_on.append(threading.current_thread())
    )
    container = build_container(
        load_settings(companion={"data_dir": tmp_path, "embedder": "local"})
    )
    await load_models(container)
    assert loaded_on and loaded_on[0] is not threading.main_thread()
