"""Which of the package's source files one chat turn passes through, on SQLite and PostgreSQL.

The path users run: the LiveKit agent in text mode (as ``companion-agent chat``), the
MiniLM embedder, the offline model. After a warm-up turn, one turn that teaches something
("I have a dog called Biscuit.") is traced from the user's words to the end of its
memory work, on every thread (SQLite's statements run on a thread of their own). Files
are counted once each, by layer. PostgreSQL is a real server on 127.0.0.1, started here
as the test fixtures start it (scripts/install-servers.sh installs it).

    .venv/bin/python scripts/trace_turn_files.py [--store sqlite|postgres|both] [--list]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import threading
import uuid
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import companion
from companion.inbound.livekit.models import voice_llm
from companion.inbound.livekit.session import VoiceSession
from companion.inbound.livekit.worker import voice_services
from companion.main.container import aclose_clients, build_container
from companion.main.logging import configure_logging
from companion.main.operations import apply_migrations
from companion.main.settings import load_settings

PACKAGE = str(Path(companion.__file__).resolve().parent) + "/"
USER = uuid.UUID("00000000-0000-4000-8000-0000000000ad")


class FileTrace:
    """The package's files whose functions run while it is on, on any thread."""

    def __init__(self) -> None:
        self.files: set[str] = set()
        self.on = False

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        if self.on and event == "call" and frame.f_code.co_filename.startswith(PACKAGE):
            self.files.add(frame.f_code.co_filename[len(PACKAGE) :])

    def install(self) -> None:
        """On this thread and every thread started from now on (before the container
        starts SQLite's), recording only while ``on``."""
        sys.setprofile(self)
        threading.setprofile(self)


async def trace(store: str) -> list[str]:
    overrides: dict[str, Any] = {"companion": {"data_dir": tempfile.mkdtemp()}}
    server = None
    if store == "postgres":
        from tests.servers.postgres import start_server

        server = start_server()
        await apply_migrations(server.dsn())
        overrides["database"] = {"url": server.dsn()}
    tracer = FileTrace()
    tracer.install()
    container = build_container(load_settings(**overrides))
    try:
        voice = await VoiceSession.open(voice_services(container), USER, llm=voice_llm(container))
        await voice.start_text()
        worker = container.services.memory_worker()
        await voice.send("I live in Lahore.")
        await worker.drain()
        tracer.on = True
        await voice.send("I have a dog called Biscuit.")
        await worker.drain()
        tracer.on = False
        await voice.aclose()
        await worker.close(within=5)
    finally:
        sys.setprofile(None)
        threading.setprofile(None)
        await aclose_clients(container)
        container.shutdown_resources()
        if server is not None:
            server.stop()
    return sorted(tracer.files)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--list", action="store_true", help="print every file")
    args = parser.parse_args()
    configure_logging(level="WARNING")
    logging.getLogger("livekit").setLevel(logging.CRITICAL)
    for store in ["sqlite", "postgres"] if args.store == "both" else [args.store]:
        files = asyncio.run(trace(store))
        layers = Counter(f.split("/")[0] for f in files)
        before_adapters = sum(n for layer, n in layers.items() if layer != "adapters")
        print(
            f"{store}: {len(files)} files in one turn; {before_adapters} before any adapter "
            f"({', '.join(f'{layer} {n}' for layer, n in sorted(layers.items()))})"
        )
        if args.list:
            print("\n".join(f"  {f}" for f in files))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
