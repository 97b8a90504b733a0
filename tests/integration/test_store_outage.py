"""PostgreSQL stopped mid-session: the companion keeps answering, keeps what is said on
this machine, and sends it, in order, when the database is back, even after the process
that heard it was killed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tests.servers.postgres import PostgresServer, start_server
from tests.servers.redis import RedisServer

from companion.domain.models import Role
from companion.main.container import aclose_clients, build_container
from companion.main.settings import Settings, load_settings

ADA = __import__("uuid").UUID("00000000-0000-4000-8000-0000000000a8")


@pytest.fixture
def server() -> PostgresServer:
    database = start_server()  # this test's own: it is stopped and started again
    yield database  # type: ignore[misc]
    database.stop()


def settings_for(tmp_path: Path, server: PostgresServer, redis: RedisServer) -> Settings:
    return load_settings(
        companion={"data_dir": tmp_path, "embedder": "hashing", "memory_lease_seconds": 1},
        database={"url": server.dsn()},
        redis={"url": redis.url},
    )


@pytest.mark.slow
async def test_a_session_goes_on_through_an_outage_and_a_kill_loses_nothing_it_answered(
    tmp_path: Path, server: PostgresServer, redis_server: RedisServer
) -> None:
    settings = settings_for(tmp_path, server, redis_server)
    first = build_container(settings)
    chat = first.services.chat()
    session = await chat.start(ADA)
    assert await chat.turn(session, "My name is Ada.")
    await first.services.memory_worker().drain()

    server.pause()  # PostgreSQL is gone mid-session
    for said in ("I live in Oslo.", "I have a dog called Rex."):
        reply = await chat.turn(session, said)
        assert reply.strip() and "Traceback" not in reply  # answered, as if nothing happened
    keeper = first.services.keeper()
    assert keeper is not None and await keeper.waiting() >= 2  # on this machine's disk
    assert session.turns == 6

    # kill -9: the process's memory (its write-behind buffer, its claims) is gone.
    writes = first.gateways.write_behind()
    await first.services.memory_worker().close(within=0.5)
    writes._pending.clear()
    await aclose_clients(first)
    first.shutdown_resources()

    server.resume()
    await asyncio.sleep(1.2)  # the killed process's claim on Ada runs out
    second = build_container(settings)
    try:
        chat = second.services.chat()
        again = await chat.start(ADA)  # a clean end is not known: what was left is worked
        keeper = second.services.keeper()
        assert keeper is not None and await keeper.waiting() == 0
        store = second.gateways.memory_store()
        home = await store.find_by_key(ADA, "location.home")
        dog = await store.find_by_key(ADA, "pet.dog.rex")
        assert home is not None and home.value == "Oslo"
        assert dog is not None and dog.value == "Rex"
        journal = second.gateways.conversation_store()
        said = [t.text for t in await journal.turns(ADA, session.session_id) if t.role is Role.USER]
        assert said == ["My name is Ada.", "I live in Oslo.", "I have a dog called Rex."]
        assert await journal.pending_turns(10) == []
        assert "Oslo" in await chat.turn(again, "Where do I live?")
        await chat.end(again)
    finally:
        await second.services.memory_worker().close(within=10)
        await aclose_clients(second)
        second.shutdown_resources()
