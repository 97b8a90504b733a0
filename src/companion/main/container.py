"""The composition root: the only module that imports adapters.

Adapters are chosen from settings in one place (:func:`backend_choices`): no database
settings means SQLite, no Redis means the in-process cache, no LLM endpoint means the
offline chat model. Tests swap any provider with ``container.<name>.override(...)``.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

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
from companion.adapters.postgres.database_batcher import BatchingMemoryStore, DatabaseBatcher
from companion.adapters.postgres.write_behind import (
    WriteBehind,
    WriteBehindConversationStore,
    WriteBehindMemoryStore,
    WriteBehindProfileStore,
)
from companion.adapters.resilience.dirty_ledger import DirtyLedger
from companion.adapters.resilience.fallback_chat_model import FallbackChatModel
from companion.adapters.resilience.resilient_cache import ResilientCache
from companion.adapters.resilience.turn_spool import SqliteTurnSpool
from companion.adapters.sqlite.database import SqliteDatabase
from companion.adapters.sqlite.sqlite_conversation_store import SqliteConversationStore
from companion.adapters.sqlite.sqlite_memory_store import SqliteMemoryStore
from companion.adapters.sqlite.sqlite_profile_store import SqliteProfileStore
from companion.core import (
    ChatService,
    ConversationService,
    MemoryService,
    MemoryWorker,
    OnboardingService,
    ProfileService,
    RAGService,
    StatsService,
    TurnKeeper,
    TurnService,
    UserDataService,
    UserService,
)
from companion.domain.scoring import RankingWeights
from companion.main.settings import Settings
from companion.ports.cache import Cache
from companion.ports.chat_model import ChatModel
from companion.ports.conversation_store import ConversationStore
from companion.ports.embedder import Embedder
from companion.ports.speech_synthesizer import SpeechSynthesizer

DATABASE_FILE = "companion.db"
CACHE_LEDGER_FILE = "cache-dirty-keys"


def store_choice(settings: Settings) -> str:
    """Where memories live: PostgreSQL (DATABASE_URL), else Supabase, else embedded.

    With both set, the direct PostgreSQL connection wins: it reaches the same tables as
    Supabase's HTTP API with fewer hops.
    """
    if settings.database.url is not None:
        return "postgres"
    if settings.supabase.url is not None:
        return "supabase"
    return settings.companion.store


def backend_choices(settings: Settings) -> dict[str, str]:
    """Which adapter serves each port, decided from settings alone."""
    return {
        "store": store_choice(settings),
        "embedder": settings.companion.embedder,
        "chat": "openai" if settings.openai.configured else "offline",
        "cache": "redis" if settings.redis.active else "memory",
        "speech": "uplift" if settings.upliftai.api_key is not None else "none",
    }


def _sqlite_database(data_dir: Path, cache_mib: int) -> Iterator[SqliteDatabase]:
    database = SqliteDatabase.open(Path(data_dir) / DATABASE_FILE, cache_kib=cache_mib * 1024)
    try:
        yield database
    finally:
        database.close()


Closer = Callable[[], Awaitable[None]]


def _openai_chat_model(
    openai: dict[str, Any], fallback: ChatModel, closers: list[Closer]
) -> ChatModel:
    # Imported here, not at the top: `import companion.main.container` must not pull in
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


def _redis_cache(
    redis: dict[str, Any],
    companion: dict[str, Any],
    data_dir: str,
    fallback: Cache,
    closers: list[Closer],
) -> Cache:
    # Imported here: users without REDIS_URL never load the redis client.
    from companion.adapters.redis import RedisCache

    url = redis["url"]
    primary = RedisCache.from_url(
        url.get_secret_value() if isinstance(url, SecretStr) else url,
        default_ttl_seconds=companion["cache_ttl_seconds"],
    )
    closers.append(primary.aclose)
    # Keys this machine's processes could not repair in Redis outlive the process.
    ledger = DirtyLedger(Path(data_dir) / CACHE_LEDGER_FILE)
    return ResilientCache(primary, fallback, ledger=ledger)


def _speech(upliftai: dict[str, Any], closers: list[Closer]) -> SpeechSynthesizer:
    from companion.adapters.uplift import UpliftSpeechSynthesizer

    synthesizer = UpliftSpeechSynthesizer(
        upliftai["api_key"].get_secret_value(),
        base_url=upliftai["base_url"],
        voice_id=upliftai["voice_id"],
        output_format=upliftai["output_format"],
    )
    closers.append(synthesizer.aclose)
    return synthesizer


def _postgres_database(database: dict[str, Any], closers: list[Closer]) -> Any:
    from companion.adapters.postgres import PostgresDatabase

    # Nothing is sent until the first statement; the pool is closed by aclose_clients().
    db = PostgresDatabase.lazy(database["url"].get_secret_value())
    closers.append(db.close)
    return db


def _supabase_client(supabase: dict[str, Any], closers: list[Closer]) -> Any:
    from companion.adapters.postgres.supabase import SupabaseClient

    client = SupabaseClient(supabase["url"], supabase["service_role_key"].get_secret_value())
    closers.append(client.aclose)
    return client


def _write_behind(
    kind: str, connection: Any, batcher: DatabaseBatcher, delay: float, closers: list[Closer]
) -> WriteBehind:
    """The PostgreSQL or Supabase stores behind one write-behind buffer (and the memory
    store's reads behind the DatabaseBatcher)."""
    # Imported here: users of the embedded default never load asyncpg or supabase.
    if kind == "postgres":
        from companion.adapters import postgres as pg

        plain: tuple[Any, Any, Any, Any] = (
            pg.PostgresMemoryStore(connection),
            pg.PostgresConversationStore(connection),
            pg.PostgresProfileStore(connection),
            pg.PostgresWriteBatch(connection),
        )
    else:
        from companion.adapters.postgres import supabase as sb

        plain = (
            sb.SupabaseMemoryStore(connection),
            sb.SupabaseConversationStore(connection),
            sb.SupabaseProfileStore(connection),
            sb.SupabaseWriteBatch(connection),
        )
    memories, conversations, profiles, target = plain
    writes = WriteBehind(
        target,
        memories=BatchingMemoryStore(memories, batcher),
        conversations=conversations,
        profiles=profiles,
        delay=delay,
    )
    # Closed before the connection it writes through (closers run last-in, first-out).
    closers.append(writes.close)
    return writes


TURN_SPOOL_FILE = "turn-spool.db"


def _turn_spool(data_dir: str) -> SqliteTurnSpool:
    return SqliteTurnSpool(Path(data_dir) / TURN_SPOOL_FILE)


def _plain_conversations(writes: WriteBehind) -> ConversationStore:
    return writes.conversations


def _erasure_owner() -> str:
    """Who an erasure is on the journal's leases: this machine, and this process's id
    (so that workers here take the lease over should this process die)."""
    return f"{_machine_name()}:erase:{os.getpid()}"


def _machine_name() -> str:
    """This machine to the other workers on the journal: its host name (a container's
    own) and its boot id, so process ids mean the same to every worker of that name."""
    host = "".join(c for c in socket.gethostname() if c.isprintable() and c != ":")[:100]
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
    except OSError:
        boot = ""
    return f"{host or 'host'}/{boot[:8] or 'boot'}"


def _process_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (signal 0 checks, sends none)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists, but is not ours to signal
        return True
    return True


def _settler(writes: WriteBehind | None) -> Callable[..., Awaitable[None]] | None:
    return None if writes is None else writes.settle


async def aclose_clients(container: Container) -> None:
    """Close the network clients the container built (call at shutdown, before
    ``shutdown_resources``); safe to call when none were built, and twice."""
    closers: list[Closer] = container.gateways.closers()
    while closers:
        await closers.pop()()


async def shut_down(container: Container, *, within: float) -> bool:
    """Close an application: queued memory work finished within ``within`` seconds
    (what is not stays journalled for the next start), then the clients and resources.
    False if work was left."""
    try:
        finished: bool = await container.services.memory_worker().close(within=within)
    finally:
        await aclose_clients(container)
        result: Any = container.shutdown_resources()
        if result is not None:
            await result
    return finished


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
        temporal=retrieval["temporal_weight"],
        named=retrieval["named_weight"],
        answer=retrieval["answer_type_weight"],
        date_slack_days=retrieval["date_slack_days"],
    )


class Gateways(containers.DeclarativeContainer):
    """Adapters: storage, embeddings, cache, chat model, speech and clock."""

    config = providers.Configuration()

    clock = providers.Singleton(SystemClock)
    # Async clients to close at shutdown (see aclose_clients).
    closers: providers.Singleton[list[Closer]] = providers.Singleton(list)

    sqlite = providers.Resource(
        _sqlite_database,
        data_dir=config.paths.data_dir,
        cache_mib=config.companion.sqlite_cache_mib,
    )

    # One pool (PostgreSQL) or HTTP client (Supabase) per process, shared by the stores.
    postgres = providers.Singleton(_postgres_database, database=config.database, closers=closers)
    supabase = providers.Singleton(_supabase_client, supabase=config.supabase, closers=closers)
    batcher = providers.Singleton(DatabaseBatcher)

    # Networked stores: one write-behind buffer per process (a turn is one round trip).
    postgres_writes = providers.Singleton(
        _write_behind,
        "postgres",
        postgres,
        batcher,
        config.companion.write_delay_seconds,
        closers,
    )
    supabase_writes = providers.Singleton(
        _write_behind,
        "supabase",
        supabase,
        batcher,
        config.companion.write_delay_seconds,
        closers,
    )
    write_behind = providers.Selector(
        config.choices.store,
        sqlite=providers.Object(None),
        memory=providers.Object(None),
        postgres=postgres_writes,
        supabase=supabase_writes,
    )

    memory_store = providers.Selector(
        config.choices.store,
        sqlite=providers.Singleton(SqliteMemoryStore, sqlite),
        memory=providers.Singleton(InMemoryMemoryStore),
        postgres=providers.Singleton(WriteBehindMemoryStore, postgres_writes),
        supabase=providers.Singleton(WriteBehindMemoryStore, supabase_writes),
    )
    profile_store = providers.Selector(
        config.choices.store,
        sqlite=providers.Singleton(SqliteProfileStore, sqlite),
        memory=providers.Singleton(InMemoryProfileStore),
        postgres=providers.Singleton(WriteBehindProfileStore, postgres_writes),
        supabase=providers.Singleton(WriteBehindProfileStore, supabase_writes),
    )
    conversation_store = providers.Selector(
        config.choices.store,
        sqlite=providers.Singleton(SqliteConversationStore, sqlite),
        memory=providers.Singleton(InMemoryConversationStore),
        postgres=providers.Singleton(WriteBehindConversationStore, postgres_writes),
        supabase=providers.Singleton(WriteBehindConversationStore, supabase_writes),
    )
    # While a networked store is unreachable, turns are kept in a file of the data
    # directory and sent, straight to the store (not through the buffer), when it is back.
    spool = providers.Singleton(_turn_spool, config.paths.data_dir)
    # What `stats` reports: the pool of the configured database, and the batcher.
    pools = providers.Selector(
        config.choices.store,
        sqlite=providers.Dict(),
        memory=providers.Dict(),
        postgres=providers.Dict(postgres=postgres),
        supabase=providers.Dict(),
    )
    batching = providers.Selector(
        config.choices.store,
        sqlite=providers.Object(None),
        memory=providers.Object(None),
        postgres=memory_store,
        supabase=memory_store,
    )
    embedder = providers.Selector(
        config.choices.embedder,
        local=providers.Singleton(
            LocalEmbedder, weights_dir=config.companion.embedding_weights_dir
        ),
        hashing=providers.Singleton(HashingEmbedder),
        openai=providers.Singleton(_openai_embedder, openai=config.openai, closers=closers),
    )
    # The in-process cache: the only cache without Redis, the fallback in a Redis outage.
    # It keeps nothing longer than the TTL setting (a long-lived worker holds its last few
    # minutes' users); longer TTLs are for Redis, which every process reads.
    local_cache = providers.Singleton(
        InMemoryCache,
        max_entries=config.companion.cache_max_entries,
        default_ttl_seconds=config.companion.cache_ttl_seconds,
        max_ttl_seconds=config.companion.cache_ttl_seconds,
    )
    # One per process: the breaker's state and the keys to repair live in it.
    cache = providers.Selector(
        config.choices.cache,
        memory=providers.Singleton(ResilientCache, None, local_cache),
        redis=providers.Singleton(
            _redis_cache,
            redis=config.redis,
            companion=config.companion,
            data_dir=config.paths.data_dir,
            fallback=local_cache,
            closers=closers,
        ),
    )
    # Query vectors of an in-process model stay in this process (see RAGService).
    embedding_cache = providers.Selector(
        config.choices.embedder,
        local=local_cache,
        hashing=local_cache,
        openai=cache,
    )
    speech = providers.Selector(
        config.choices.speech,
        uplift=providers.Singleton(_speech, upliftai=config.upliftai, closers=closers),
        none=providers.Object(None),
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
        embedding_cache=gateways.embedding_cache,
    )
    users = providers.Factory(
        UserService, profiles=gateways.profile_store, clock=gateways.clock, cache=gateways.cache
    )
    memories = providers.Factory(
        MemoryService,
        store=gateways.memory_store,
        embedder=gateways.embedder,
        profiles=gateways.profile_store,
        rag=rag,
        clock=gateways.clock,
        conversations=gateways.conversation_store.provider,  # opened only if needed
    )
    profiles = providers.Factory(
        ProfileService, profiles=gateways.profile_store, users=users, clock=gateways.clock
    )
    conversations = providers.Factory(
        ConversationService,
        conversations=gateways.conversation_store,
        profiles=gateways.profile_store,
        clock=gateways.clock,
        cache=gateways.cache,
        memories=gateways.memory_store,
    )
    onboarding = providers.Factory(OnboardingService, profiles=profiles, memories=memories)
    # Networked stores only: what is said while the store is unreachable (TurnKeeper).
    keeper = providers.Selector(
        config.choices.store,
        sqlite=providers.Object(None),
        memory=providers.Object(None),
        postgres=providers.Singleton(
            TurnKeeper,
            gateways.spool,
            providers.Callable(_plain_conversations, gateways.postgres_writes),
        ),
        supabase=providers.Singleton(
            TurnKeeper,
            gateways.spool,
            providers.Callable(_plain_conversations, gateways.supabase_writes),
        ),
    )
    # Turns kept on this machine while a networked store was down (erasure clears them).
    spool = providers.Selector(
        config.choices.store,
        sqlite=providers.Object(None),
        memory=providers.Object(None),
        postgres=gateways.spool,
        supabase=gateways.spool,
    )
    user_data = providers.Factory(
        UserDataService,
        memories=gateways.memory_store,
        conversations=gateways.conversation_store,
        profiles=gateways.profile_store,
        cache=gateways.cache,
        clock=gateways.clock,
        owner=providers.Callable(_erasure_owner),
        spool=spool,
    )
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
        machine=providers.Callable(_machine_name),
        alive=_process_alive,
        lease_seconds=config.companion.memory_lease_seconds,
        keeper=keeper,
        parallel=config.companion.memory_parallel,
        max_queued=config.companion.memory_queue,
    )
    stats = providers.Factory(
        StatsService,
        memories=gateways.memory_store,
        pools=gateways.pools,
        cache=gateways.cache,
        batching=gateways.batching,
        conversations=gateways.conversation_store,
        keeper=keeper,
    )
    settle = providers.Callable(_settler, gateways.write_behind)
    # The one turn use case every way in drives (the agent, chat, the library, benches).
    turns = providers.Factory(
        TurnService,
        conversations=conversations,
        rag=rag,
        worker=memory_worker,
        settle=settle,
        keeper=keeper,
    )
    chat = providers.Factory(
        ChatService,
        users=users,
        conversations=conversations,
        profiles=profiles,
        turns=turns,
        chat_model=gateways.chat_model,
        worker=memory_worker,
        settle=settle,
        sweep_every=config.companion.recovery_sweep_seconds,
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
