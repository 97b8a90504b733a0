"""The composition root: the only module that imports adapters.

Adapters are chosen from settings in one place (:func:`backend_choices`): no database
settings means SQLite, no Redis means the in-process cache, no LLM endpoint means the
offline chat model. Tests swap any provider with ``container.<name>.override(...)``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import structlog
from dependency_injector import containers, providers
from pydantic import SecretStr

from companion.adapters.local.local_embedder import LocalEmbedder
from companion.adapters.local.offline_chat_model import OfflineChatModel
from companion.adapters.local.system_clock import SystemClock
from companion.adapters.memory import (
    HashingEmbedder,
    InMemoryCache,
    InMemoryConversationStore,
    InMemoryMemoryStore,
    InMemoryProfileStore,
)
from companion.adapters.sqlite.database import SqliteDatabase
from companion.adapters.sqlite.sqlite_conversation_store import SqliteConversationStore
from companion.adapters.sqlite.sqlite_memory_store import SqliteMemoryStore
from companion.adapters.sqlite.sqlite_profile_store import SqliteProfileStore
from companion.app.fallback_chat_model import FallbackChatModel
from companion.app.services import (
    ChatService,
    ConversationService,
    MemoryService,
    MemoryWorker,
    OnboardingService,
    ProfileService,
    RAGService,
    StatsService,
    UserService,
)
from companion.app.settings import Settings
from companion.domain.scoring import RankingWeights
from companion.ports.chat_model import ChatModel
from companion.ports.embedder import Embedder

DATABASE_FILE = "companion.db"


def backend_choices(settings: Settings) -> dict[str, str]:
    """Which adapter serves each port, decided from settings alone."""
    waiting = [
        name
        for name, configured in (
            ("DATABASE_URL", settings.database.url is not None),
            ("SUPABASE_URL", settings.supabase.url is not None),
            ("REDIS_URL", settings.redis.active),
        )
        if configured
    ]
    if waiting:
        # Their adapters are not in this release; say so rather than let the user believe
        # their data goes where it does not.
        structlog.get_logger(__name__).warning(
            "backend_not_available_using_embedded_default", settings=waiting
        )
    return {
        "store": settings.companion.store,
        "embedder": settings.companion.embedder,
        "chat": "openai" if settings.openai.configured else "offline",
        "cache": "memory",
    }


def _sqlite_database(data_dir: Path) -> Iterator[SqliteDatabase]:
    database = SqliteDatabase.open(Path(data_dir) / DATABASE_FILE)
    try:
        yield database
    finally:
        database.close()


Closer = Callable[[], Awaitable[None]]


def _openai_chat_model(
    openai: dict[str, Any], fallback: ChatModel, closers: list[Closer]
) -> ChatModel:
    # Imported here, not at the top: `import companion.app.container` must not pull in
    # the OpenAI SDK (or build a client) for users who never configure it.
    from companion.adapters.openai import OpenAIChatModel

    key = openai.get("api_key")
    primary = OpenAIChatModel(
        model=openai["model"],
        api_key=key.get_secret_value() if isinstance(key, SecretStr) else key,
        base_url=openai.get("base_url"),
    )
    # Its HTTP client is closed by aclose_clients() at shutdown. Not a Resource: closing
    # it needs `await`, and an async Resource would make every dependant awaitable.
    closers.append(primary.aclose)
    return FallbackChatModel(primary, fallback)


def _openai_embedder(openai: dict[str, Any], closers: list[Closer]) -> Embedder:
    from companion.adapters.openai import OpenAIEmbedder

    key = openai.get("api_key")
    model = openai["embedding_model"]
    embedder = OpenAIEmbedder(
        model=model,
        dimensions=openai["embedding_dimensions"],
        # Only OpenAI's text-embedding-3 models take `dimensions`; other servers serve a
        # model of a fixed size, which every response is checked against.
        send_dimensions=model.startswith("text-embedding-3"),
        api_key=key.get_secret_value() if isinstance(key, SecretStr) else key,
        base_url=openai.get("base_url"),
    )
    closers.append(embedder.aclose)
    return embedder


async def aclose_clients(container: Container) -> None:
    """Close the network clients the container built (call at shutdown, before
    ``shutdown_resources``); safe to call when none were built, and twice."""
    closers: list[Closer] = container.gateways.closers()
    while closers:
        await closers.pop()()


def _weights(retrieval: dict[str, Any]) -> RankingWeights:
    return RankingWeights(
        lexical=retrieval["lexical_weight"],
        dense=retrieval["dense_weight"],
        neighbour=retrieval["neighbour_weight"],
        thread=retrieval["thread_weight"],
        importance=retrieval["importance_weight"],
        recency=retrieval["recency_weight"],
        half_life_days=retrieval["half_life_days"],
        window=retrieval["window"],
    )


class Gateways(containers.DeclarativeContainer):
    """Adapters: storage, embeddings, cache, chat model, clock.

    Speech arrives with the voice agent; until something speaks, no synthesizer is wired.
    """

    config = providers.Configuration()

    clock = providers.Singleton(SystemClock)
    # Async clients to close at shutdown (see aclose_clients).
    closers: providers.Singleton[list[Closer]] = providers.Singleton(list)

    sqlite = providers.Resource(_sqlite_database, data_dir=config.paths.data_dir)

    memory_store = providers.Selector(
        config.choices.store,
        sqlite=providers.Singleton(SqliteMemoryStore, sqlite),
        memory=providers.Singleton(InMemoryMemoryStore),
    )
    profile_store = providers.Selector(
        config.choices.store,
        sqlite=providers.Singleton(SqliteProfileStore, sqlite),
        memory=providers.Singleton(InMemoryProfileStore),
    )
    conversation_store = providers.Selector(
        config.choices.store,
        sqlite=providers.Singleton(SqliteConversationStore, sqlite),
        memory=providers.Singleton(InMemoryConversationStore),
    )
    embedder = providers.Selector(
        config.choices.embedder,
        local=providers.Singleton(
            LocalEmbedder, weights_dir=config.companion.embedding_weights_dir
        ),
        hashing=providers.Singleton(HashingEmbedder),
        openai=providers.Singleton(_openai_embedder, openai=config.openai, closers=closers),
    )
    cache = providers.Selector(
        config.choices.cache,
        memory=providers.Singleton(
            InMemoryCache,
            max_entries=config.companion.cache_max_entries,
            default_ttl_seconds=config.companion.cache_ttl_seconds,
        ),
    )
    offline_chat_model = providers.Singleton(OfflineChatModel)
    chat_model = providers.Selector(
        config.choices.chat,
        offline=offline_chat_model,
        openai=providers.Singleton(
            _openai_chat_model,
            openai=config.openai,
            fallback=offline_chat_model,
            closers=closers,
        ),
    )


class Services(containers.DeclarativeContainer):
    """Use-case services, built per use from the gateways."""

    config = providers.Configuration()
    gateways = providers.DependenciesContainer()

    weights = providers.Singleton(_weights, config.retrieval)
    rag = providers.Factory(
        RAGService,
        store=gateways.memory_store,
        embedder=gateways.embedder,
        profiles=gateways.profile_store,
        cache=gateways.cache,
        clock=gateways.clock,
        weights=weights,
        candidate_limit=config.retrieval.candidate_limit,
        top_k=config.retrieval.top_k,
        phrases=config.retrieval.phrases,
        expand=config.retrieval.expand,
    )
    users = providers.Factory(UserService, profiles=gateways.profile_store, clock=gateways.clock)
    memories = providers.Factory(
        MemoryService,
        store=gateways.memory_store,
        embedder=gateways.embedder,
        profiles=gateways.profile_store,
        rag=rag,
        clock=gateways.clock,
    )
    profiles = providers.Factory(
        ProfileService, profiles=gateways.profile_store, users=users, clock=gateways.clock
    )
    conversations = providers.Factory(
        ConversationService,
        conversations=gateways.conversation_store,
        profiles=gateways.profile_store,
        clock=gateways.clock,
    )
    onboarding = providers.Factory(OnboardingService, profiles=profiles, memories=memories)
    # One per process: it owns the queue of turns whose memory work is pending.
    memory_worker = providers.Singleton(
        MemoryWorker,
        conversations=gateways.conversation_store,
        memories=memories,
        profiles=profiles,
        chat_model=gateways.chat_model,
        clock=gateways.clock,
        rag=rag,
        known_memories=config.derived.known_memories,
    )
    stats = providers.Factory(StatsService, memories=gateways.memory_store, cache=gateways.cache)
    chat = providers.Factory(
        ChatService,
        users=users,
        conversations=conversations,
        profiles=profiles,
        rag=rag,
        chat_model=gateways.chat_model,
        worker=memory_worker,
    )


class Container(containers.DeclarativeContainer):
    """The application: settings in, gateways and services out."""

    config = providers.Configuration(strict=True)

    gateways = providers.Container(Gateways, config=config)
    services = providers.Container(Services, config=config, gateways=gateways)


def build_container(settings: Settings) -> Container:
    """A container configured from ``settings`` (nothing is opened until first use)."""
    container = Container()
    container.config.from_pydantic(settings)
    derived: dict[str, Any] = {
        "choices": backend_choices(settings),
        "paths": {"data_dir": str(settings.companion.resolved_data_dir())},
        # A remote model reads the related stored memories when it extracts (see
        # MemoryWorker); the offline pattern extractor does not need them.
        "derived": {"known_memories": 8 if settings.openai.configured else 0},
    }
    container.config.from_dict(derived)
    return container
