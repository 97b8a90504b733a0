"""BlockingCompanion: the library's API for scripts and notebooks, without ``await``.

Each call runs the async :class:`Companion` on an event loop of its own, in a thread the
object owns, so it works where a loop is already running (a Jupyter cell) and where none
is (a script).
"""

from __future__ import annotations

import asyncio
import builtins
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar
from uuid import UUID

from companion.domain.models import (
    Memory,
    MemoryCategory,
    ScoredMemory,
    UserErased,
    UserExport,
    UserProfile,
)
from companion.inbound.library.companion import Companion, Conversation, Remembered
from companion.main.settings import Settings

T = TypeVar("T")


class _Loop:
    """An event loop running in a daemon thread; coroutines are handed to it."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="companion-loop", daemon=True
        )
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("a BlockingCompanion cannot be called from its own loop")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


class BlockingConversation:
    """One session with one user, without ``await`` (see :class:`Conversation`)."""

    def __init__(self, loop: _Loop, talk: Conversation) -> None:
        self._loop = loop
        self._talk = talk

    @property
    def user_id(self) -> UUID:
        """The user this conversation is with."""
        return self._talk.user_id

    @property
    def greeting(self) -> str:
        """What the companion said first."""
        return self._talk.greeting

    def reply(self, text: str) -> str:
        """The companion's answer to what the user says."""
        return self._loop.run(self._talk.reply(text))

    def end(self) -> None:
        """End the session (summary and next greeting written); safe to call twice."""
        self._loop.run(self._talk.end())


class BlockingCompanion:
    """The same API as :class:`Companion`, blocking; use it in a ``with`` block::

    with BlockingCompanion.open() as companion:
        companion.remember("ada", "I live in Lahore and I love chai.")
        print(companion.greeting("ada"))
    """

    def __init__(self, companion: Companion) -> None:
        """Use :meth:`open`."""
        self._companion = companion
        self._loop = _Loop()
        self._closed = False

    @classmethod
    def open(
        cls, settings: Settings | None = None, *, data_dir: str | Path | None = None
    ) -> BlockingCompanion:
        """As :meth:`Companion.open`."""
        return cls(Companion.open(settings, data_dir=data_dir))

    def __enter__(self) -> Self:
        self._loop.run(self._companion.__aenter__())
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def remember(self, user: str | UUID, text: str) -> Remembered:
        """As :meth:`Companion.remember`."""
        return self._loop.run(self._companion.remember(user, text))

    def recall(self, user: str | UUID, query: str, *, limit: int = 5) -> list[ScoredMemory]:
        """As :meth:`Companion.recall`."""
        return self._loop.run(self._companion.recall(user, query, limit=limit))

    def memories(
        self,
        user: str | UUID,
        *,
        category: MemoryCategory | str | None = None,
        limit: int | None = None,
    ) -> builtins.list[Memory]:
        """As :meth:`Companion.memories`."""
        return self._loop.run(self._companion.memories(user, category=category, limit=limit))

    def forget(self, user: str | UUID, memory_id: str | UUID) -> Memory:
        """As :meth:`Companion.forget`."""
        return self._loop.run(self._companion.forget(user, memory_id))

    def greeting(self, user: str | UUID) -> str:
        """As :meth:`Companion.greeting`."""
        return self._loop.run(self._companion.greeting(user))

    def profile(self, user: str | UUID) -> UserProfile:
        """As :meth:`Companion.profile`."""
        return self._loop.run(self._companion.profile(user))

    def export_user(self, user: str | UUID) -> UserExport:
        """As :meth:`Companion.export_user`."""
        return self._loop.run(self._companion.export_user(user))

    def erase_user(self, user: str | UUID) -> UserErased:
        """As :meth:`Companion.erase_user`."""
        return self._loop.run(self._companion.erase_user(user))

    @contextmanager
    def conversation(self, user: str | UUID) -> Iterator[BlockingConversation]:
        """As :meth:`Companion.conversation`: a session, ended when the block ends."""
        opened = self._companion.conversation(user)
        talk = BlockingConversation(self._loop, self._loop.run(opened.__aenter__()))
        try:
            yield talk
        finally:
            self._loop.run(opened.__aexit__(None, None, None))

    def close(self) -> None:
        """As :meth:`Companion.aclose`, then the loop's thread ends. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            self._loop.run(self._companion.aclose())
        finally:
            self._loop.stop()
