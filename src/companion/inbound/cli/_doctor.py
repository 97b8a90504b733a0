"""``companion-agent doctor``: is each configured backend reachable and set up right?

Every check exercises the port the way the companion will (a store read, an embedding, a
cache round trip), so it works for every adapter; backends with more to verify (schema
migrations, pgvector, the Redis breaker) add their own lines. A check never raises: a
failure is a row with its reason, and the exit status is 1 when any configured check
failed. Nothing is written except a cache probe key, deleted again.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import TextIO

from companion.domain.errors import CompanionError
from companion.main.container import Container, backend_choices
from companion.main.settings import Settings

_NOBODY = uuid.UUID(int=0)


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the report."""

    name: str
    backend: str
    status: str  # "ok", "fail" or "off" (not configured)
    detail: str
    ms: float | None = None


Probe = Callable[[], Awaitable[str]]


async def _run(name: str, backend: str, probe: Probe) -> Check:
    started = time.perf_counter()
    try:
        detail = await probe()
    except CompanionError as exc:
        return Check(name, backend, "fail", str(exc), _ms(started))
    except Exception as exc:  # a doctor reports what is broken; it does not crash on it
        return Check(name, backend, "fail", f"{type(exc).__name__}: {exc}", _ms(started))
    return Check(name, backend, "ok", detail, _ms(started))


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


async def diagnose(container: Container, settings: Settings) -> list[Check]:
    """Run every check, in the order a turn uses the backends."""
    choices = backend_choices(settings)
    gateways = container.gateways
    checks: list[Check] = []

    async def store() -> str:
        memories = gateways.memory_store()
        await memories.count(_NOBODY)
        conversations = gateways.conversation_store()
        pending = await conversations.pending_turns(1000)
        parked = await conversations.parked_turns(None, 1000)
        detail = f"reachable; {len(pending)} turn(s) waiting for memory work"
        if parked:
            # Not a failure of the store: the turns are kept, and `memories retry` or
            # `memories reindex` puts them back once what stopped them is fixed.
            reasons = sorted({p.reason.split(":", 1)[0] for p in parked})
            detail += (
                f"; {len(parked)} parked ({', '.join(reasons)}):"
                " see `stats`, then `memories retry --user U`"
            )
        return detail

    checks.append(await _run("store", choices["store"], store))
    checks.extend(await _store_details(container, choices["store"], settings))

    async def embedder() -> str:
        model = gateways.embedder()
        (vector,) = await model.embed(["doctor: is the embedding model working?"])
        if vector.dimensions != model.dimensions:
            raise CompanionError(
                f"vectors have {vector.dimensions} dimensions, the model says {model.dimensions}"
            )
        return f"{model.model}, {model.dimensions} dimensions"

    checks.append(await _run("embedder", choices["embedder"], embedder))

    async def chat() -> str:
        model = gateways.chat_model()
        ping = getattr(model, "ping", None)
        if ping is None:
            return f"{model.name} (runs in-process)"
        said: str = await ping()
        return f"{model.name}: {said}"

    checks.append(await _run("chat model", choices["chat"], chat))

    async def cache() -> str:
        c = gateways.cache()
        key = f"doctor:{uuid.uuid4()}"
        await c.set(key, b"ok", 30)
        got = await c.get(key)
        await c.delete(key)
        if got != b"ok":
            raise CompanionError("a value written to the cache did not read back")
        stats = getattr(c, "stats", None)
        state = stats().get("state") if stats is not None else None
        return "write, read and delete work" + (f"; breaker {state}" if state else "")

    checks.append(await _run("cache", choices["cache"], cache))
    checks.extend(_voice_settings(settings))
    return checks


async def _store_details(container: Container, store: str, settings: Settings) -> list[Check]:
    """Schema checks the store's own technology offers."""
    if store == "sqlite":
        database = container.gateways.sqlite()
        return [
            Check(
                "schema",
                "sqlite",
                "ok",
                f"version {database.schema_version} at {database.path}",
            )
        ]
    if store == "postgres" and settings.database.url is not None:
        return await _postgres_details(container, settings.database.url.get_secret_value())
    return []


async def _postgres_details(container: Container, dsn: str) -> list[Check]:
    from companion.main.operations import migration_status

    async def schema() -> str:
        status = await migration_status(dsn)
        if status.unknown:
            raise CompanionError(
                f"migrated by a newer companion-agent ({', '.join(status.unknown)})"
            )
        if status.pending:
            raise CompanionError(
                f"{len(status.pending)} migration(s) pending: run `companion-agent db migrate`"
            )
        changed = (
            f"; changed since applied: {', '.join(status.modified)}" if status.modified else ""
        )
        return f"{len(status.applied)} migration(s) applied, none pending{changed}"

    database = container.gateways.postgres()

    async def pgvector() -> str:
        version = await database.fetchval(
            "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
        )
        if version is None:
            raise CompanionError("the pgvector extension is not installed in this database")
        return f"pgvector {version}"

    async def dimensions() -> str:
        embedder = container.gateways.embedder()
        rows = await database.fetch(
            "SELECT embedding_model, embedding_dim, count(*) AS n FROM companion_memories"
            " WHERE embedding IS NOT NULL GROUP BY 1, 2 ORDER BY 3 DESC"
        )
        other = [r for r in rows if r["embedding_model"] != embedder.model]
        if other:
            found = ", ".join(
                f"{r['n']} by {r['embedding_model']} ({r['embedding_dim']}-d)" for r in other
            )
            raise CompanionError(
                f"stored vectors from another model ({found}); the embedder is"
                f" {embedder.model} ({embedder.dimensions}-d): run `memories reindex`"
            )
        n = sum(r["n"] for r in rows)
        return f"{n} vector(s), all {embedder.model} ({embedder.dimensions}-d)"

    return [
        await _run("schema", "postgres", schema),
        await _run("pgvector", "postgres", pgvector),
        await _run("dimensions", "postgres", dimensions),
    ]


def _voice_settings(settings: Settings) -> list[Check]:
    checks = []
    lk = settings.livekit
    if lk.url is None:
        checks.append(
            Check("livekit", "-", "off", "LIVEKIT_URL is not set (console and chat work)")
        )
    elif lk.api_key is None or lk.api_secret is None:
        checks.append(
            Check("livekit", "livekit", "fail", "LIVEKIT_API_KEY and LIVEKIT_API_SECRET are needed")
        )
    else:
        checks.append(Check("livekit", "livekit", "ok", "URL, key and secret are set"))
    return checks


def render(checks: list[Check], out: TextIO, *, as_json: bool) -> None:
    """The report: a table, or a JSON document."""
    if as_json:
        ok = not any(c.status == "fail" for c in checks)
        json.dump({"ok": ok, "checks": [asdict(c) for c in checks]}, out, indent=2)
        out.write("\n")
        return
    rows = [("CHECK", "BACKEND", "STATUS", "TIME", "DETAIL")]
    rows += [
        (c.name, c.backend, c.status.upper(), "" if c.ms is None else f"{c.ms:.0f} ms", c.detail)
        for c in checks
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)]
        out.write("  ".join([*cells, row[4]]).rstrip() + "\n")


async def run_doctor(
    container: Container, settings: Settings, out: TextIO, *, as_json: bool
) -> int:
    """Print the report; 1 when a configured backend failed its check."""
    checks = await diagnose(container, settings)
    render(checks, out, as_json=as_json)
    return 1 if any(c.status == "fail" for c in checks) else 0
