"""The application on in-memory adapters, built by the real container, for one test."""

from __future__ import annotations

import uuid
from pathlib import Path

from dependency_injector import providers

from companion.adapters.memory import ManualClock
from companion.inbound.livekit.worker import voice_services
from companion.main.container import Container, build_container
from companion.main.settings import load_settings
from companion.ports.cache import Cache
from companion.ports.chat_model import ChatModel

ADA = uuid.UUID("00000000-0000-4000-8000-00000000ada0")
EVE = uuid.UUID("00000000-0000-4000-8000-000000000e0e")


class World:
    """The application on in-memory adapters (built by the real container), for one test."""

    def __init__(
        self,
        data_dir: Path,
        *,
        chat_model: ChatModel | None = None,
        cache: Cache | None = None,
        stores_of: World | None = None,
        **companion: object,
    ) -> None:
        """``stores_of``: another world whose stores this one uses, as a second process
        on the same database (its own worker, cache and clock); ``companion``: more
        ``COMPANION_*`` settings."""
        settings = load_settings(
            companion={"store": "memory", "embedder": "hashing", "data_dir": data_dir, **companion}
        )
        self.container: Container = build_container(settings)
        self.clock = ManualClock()
        self.container.gateways.clock.override(providers.Object(self.clock))
        if chat_model is not None:
            self.container.gateways.chat_model.override(providers.Object(chat_model))
        if cache is not None:
            self.container.gateways.cache.override(providers.Object(cache))
        if stores_of is not None:
            theirs = stores_of.container.gateways
            for name in ("memory_store", "conversation_store", "profile_store"):
                store = getattr(theirs, name)()
                getattr(self.container.gateways, name).override(providers.Object(store))
        self.services = voice_services(self.container)
        self.memories = self.services.memories
        self.worker = self.container.services.memory_worker()
        self.conversation_store = self.container.gateways.conversation_store()
        self.model = self.container.gateways.chat_model()
