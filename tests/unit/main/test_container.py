"""The container wires every port, chooses adapters from settings, and can be overridden."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from pydantic import ValidationError
from tests.servers.openai_peer import OpenAIPeer

from companion.adapters.local.offline_chat_model import OfflineChatModel
from companion.adapters.memory import HashingEmbedder, InMemoryMemoryStore, InMemoryProfileStore
from companion.adapters.resilience.fallback_chat_model import FallbackChatModel
from companion.adapters.sqlite.sqlite_memory_store import SqliteMemoryStore
from companion.main.container import (
    DATABASE_FILE,
    aclose_clients,
    backend_choices,
    build_container,
)
from companion.main.settings import load_settings


def test_every_dependency_is_wired(tmp_path: Path) -> None:
    container = build_container(load_settings(companion={"data_dir": tmp_path}))
    container.check_dependencies()


async def test_embedded_default_is_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    container = build_container(
        load_settings(companion={"data_dir": tmp_path, "embedder": "hashing"})
    )
    try:
        assert isinstance(container.gateways.memory_store(), SqliteMemoryStore)
        assert (tmp_path / DATABASE_FILE).exists()
    finally:
        container.shutdown_resources()


async def test_settings_choose_in_memory_and_nothing_is_written(tmp_path: Path) -> None:
    container = build_container(
        load_settings(companion={"data_dir": tmp_path, "store": "memory", "embedder": "hashing"})
    )
    user = uuid.uuid4()
    saved = await container.services.memories().save(user, text="Likes tea")
    store = container.gateways.memory_store()
    assert isinstance(store, InMemoryMemoryStore)
    assert await store.get(user, saved.memory.id) == saved.memory
    assert not (tmp_path / DATABASE_FILE).exists()


async def test_override_swaps_an_adapter_for_every_service(tmp_path: Path) -> None:
    container = build_container(load_settings(companion={"data_dir": tmp_path}))
    store, embedder = InMemoryMemoryStore(), HashingEmbedder()
    with (
        container.gateways.memory_store.override(store),
        container.gateways.profile_store.override(InMemoryProfileStore()),
        container.gateways.embedder.override(embedder),
    ):
        user = uuid.uuid4()
        result = await container.services.memories().save(user, text="Likes green tea")
        assert await store.get(user, result.memory.id) == result.memory
        found = await container.services.rag().retrieve(user, "green tea")
        assert [s.memory.id for s in found] == [result.memory.id]
    assert embedder.calls >= 2
    assert not (tmp_path / DATABASE_FILE).exists()


def test_building_a_container_opens_nothing(tmp_path: Path) -> None:
    build_container(load_settings(companion={"data_dir": tmp_path / "never"}))
    assert not (tmp_path / "never").exists()


def test_bad_store_setting_is_rejected() -> None:
    with pytest.raises(ValueError, match="store"):
        load_settings(companion={"store": "mongodb"})


async def test_an_openai_key_chooses_the_openai_model_behind_the_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-container")
    container = build_container(load_settings(companion={"data_dir": tmp_path}))
    model = container.gateways.chat_model()
    assert isinstance(model, FallbackChatModel)
    assert model.name == "openai:gpt-4o-mini"
    assert container.gateways.chat_model() is model  # one client per process
    await aclose_clients(container)
    await aclose_clients(container)  # closing twice is harmless


async def test_without_an_endpoint_the_offline_model_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    container = build_container(load_settings(companion={"data_dir": tmp_path}))
    assert isinstance(container.gateways.chat_model(), OfflineChatModel)
    await aclose_clients(container)


def test_settings_alone_choose_the_store(tmp_path: Path) -> None:
    dsn = {"url": "postgresql://app:pw@127.0.0.1:9/db"}
    supabase = {"url": "http://127.0.0.1:9", "service_role_key": "service-key"}
    assert backend_choices(load_settings())["store"] == "sqlite"
    assert backend_choices(load_settings(database=dsn))["store"] == "postgres"
    assert backend_choices(load_settings(supabase=supabase))["store"] == "supabase"
    # Both: the direct connection reaches the same tables with fewer hops.
    assert backend_choices(load_settings(database=dsn, supabase=supabase))["store"] == "postgres"
    with pytest.raises(ValidationError, match="SUPABASE_URL needs SUPABASE_SERVICE_ROLE_KEY"):
        load_settings(supabase={"url": "http://127.0.0.1:9"})


async def test_remote_stores_are_built_without_connecting(tmp_path: Path) -> None:
    from companion.adapters.postgres.database_batcher import BatchingMemoryStore
    from companion.adapters.postgres.supabase import SupabaseMemoryStore, SupabaseWriteBatch
    from companion.adapters.postgres.write_behind import WriteBehind, WriteBehindMemoryStore

    # Nothing listens on port 9: building the stores must not need the server.
    settings = load_settings(
        companion={"data_dir": tmp_path},
        supabase={"url": "http://127.0.0.1:9", "service_role_key": "service-key"},
    )
    container = build_container(settings)
    assert isinstance(container.gateways.memory_store(), WriteBehindMemoryStore)
    writes = container.gateways.write_behind()
    assert isinstance(writes, WriteBehind) and isinstance(writes._target, SupabaseWriteBatch)
    assert isinstance(writes.memories, BatchingMemoryStore)
    assert isinstance(writes.memories._store, SupabaseMemoryStore)
    await aclose_clients(container)


async def test_openai_embedder_is_chosen_only_when_asked_for(openai_peer: OpenAIPeer) -> None:
    base = {"base_url": openai_peer.base_url, "embedding_model": "all-minilm"}
    plain = build_container(load_settings(openai=base))
    assert backend_choices(load_settings(openai=base))["embedder"] == "local"
    await aclose_clients(plain)
    settings = load_settings(
        companion={"embedder": "openai"}, openai={**base, "embedding_dimensions": 3}
    )
    container = build_container(settings)
    embedder = container.gateways.embedder()
    assert embedder.model == "openai:all-minilm:3"
    await aclose_clients(container)


def test_openai_embedder_without_an_endpoint_is_a_settings_error() -> None:
    with pytest.raises(ValidationError, match="COMPANION_EMBEDDER=openai needs OPENAI_API_KEY"):
        load_settings(companion={"embedder": "openai"})


async def test_query_vectors_of_an_in_process_model_stay_out_of_the_shared_cache(
    tmp_path: Path,
) -> None:
    container = build_container(
        load_settings(companion={"data_dir": tmp_path, "embedder": "hashing"})
    )
    try:
        rag = container.services.rag()
        await rag.embed_query("where does my sister live?")
        await rag.embed_query("where does my sister live?")
        local = container.gateways.local_cache()
        assert local.hits == 1 and len(local) == 1
        shared = container.gateways.cache().stats()
        assert shared["hits"] == 0 and shared["misses"] == 0
    finally:
        await aclose_clients(container)
        container.shutdown_resources()


async def test_uplift_is_the_agents_voice_when_its_key_is_set(tmp_path: Path) -> None:
    from companion.inbound.livekit.livekit_tts import SpeechSynthesizerTTS
    from companion.inbound.livekit.models import voice_tts

    plain = build_container(load_settings(companion={"data_dir": tmp_path}))
    assert voice_tts(plain) is None  # text only: nothing to speak with
    settings = load_settings(
        companion={"data_dir": tmp_path},
        upliftai={
            "api_key": "sk_api_test-0123456789",
            "base_url": "ws://127.0.0.1:9",
            "output_format": "ULAW_8000_8",
        },
    )
    container = build_container(settings)
    voice = voice_tts(container)  # built without connecting
    assert isinstance(voice, SpeechSynthesizerTTS)
    assert voice.sample_rate == 8000
    await aclose_clients(container)
