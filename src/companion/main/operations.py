"""What the commands need from an adapter beyond its port, reached through the root.

Schema migrations (PostgreSQL), speech into one audio file (Uplift AI), a clock the
benchmarks set by hand and loading a local model ahead of use are adapter facilities no
use case calls. The commands reach
them here, so ``companion.main`` stays the only package that imports adapters; each
import happens on first use, so a command that needs none loads none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from companion.adapters.memory.manual_clock import ManualClock
    from companion.adapters.postgres.migrator import MigrationStatus
    from companion.adapters.uplift.audio_file import SpokenAudio
    from companion.main.container import Container


async def apply_migrations(dsn: str) -> list[str]:
    """Apply the PostgreSQL schema's pending migrations; the names applied now."""
    from companion.adapters.postgres.migrator import apply_migrations as apply

    return await apply(dsn)


async def migration_status(dsn: str) -> MigrationStatus:
    """Which of the PostgreSQL schema's migrations are applied, pending, changed, unknown."""
    from companion.adapters.postgres.migrator import migration_status as status

    return await status(dsn)


def check_output_format(raw: str) -> str:
    """An Uplift AI output format, upper-cased; an unknown one is a clear InvalidInput."""
    from companion.adapters.uplift.audio_file import check_output_format as check

    return check(raw)


async def speak_to_audio(
    text: str, *, api_key: str, base_url: str, voice_id: str, output_format: str
) -> SpokenAudio:
    """``text`` spoken by Uplift AI, as one audio file's bytes (see ``audio_file``)."""
    from companion.adapters.uplift.audio_file import speak_to_audio as speak

    return await speak(
        text, api_key=api_key, base_url=base_url, voice_id=voice_id, output_format=output_format
    )


def manual_clock() -> ManualClock:
    """A clock that stands still until set (the benchmarks replay dated conversations)."""
    from companion.adapters.memory.manual_clock import ManualClock

    return ManualClock()


async def load_models(container: Container) -> None:
    """Load an in-process embedding model now, in a worker thread: its first query would
    otherwise read the weights on the event loop (most of a second a voice agent's loop
    cannot spare). A remote embedder needs nothing."""
    import asyncio

    from companion.adapters.local.local_embedder import LocalEmbedder

    embedder = container.gateways.embedder()
    if isinstance(embedder, LocalEmbedder):
        await asyncio.to_thread(embedder.load)
