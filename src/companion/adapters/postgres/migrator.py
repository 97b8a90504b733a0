"""The companion schema on PostgreSQL, as ordered SQL migrations, and the runner applying them.

The ``migrations/NNNN_<what>.sql`` files of this package are the schema (``supabase/migrations``
links here, where Supabase's CLI looks for them). They apply to a Supabase project (its
direct connection string) and to any PostgreSQL 15+ with pgvector alike:

- ``0001_roles_and_auth``: ``CREATE EXTENSION vector``; the Supabase roles ``anon``,
  ``authenticated`` and ``service_role`` (BYPASSRLS), the ``auth`` schema and
  ``auth.uid()`` (the ``sub`` of ``request.jwt.claims``), each created only when missing.
- ``0002_tables`` (schema ``public``): ``companion_profiles`` (one row per user),
  ``companion_memories`` (the memory fields; ``embedding vector`` of any dimension with
  ``embedding_model`` and ``embedding_dim``; ``history`` jsonb and ``valid_from``; a
  generated ``search tsvector`` over text, value and key), ``companion_memory_vector_counts``
  (vectors per user, model and dimension, kept by a trigger), ``companion_turns`` (the
  memory journal, ``processed_at`` NULL until its memory work is done) and
  ``companion_summaries``. Indexes: GIN on ``search``; HNSW (inner product) on
  ``embedding::vector(384)`` and ``::vector(1536)``, partial on ``embedding_dim``; b-trees
  for per-user listing, unique keys, thread windows and pending turns.
- ``0003_row_level_security``: RLS on every table; ``authenticated`` reads and writes only
  rows whose ``user_id = auth.uid()``; ``service_role`` and the tables' owner see all;
  ``anon`` nothing.
- ``0004_functions`` (all SECURITY INVOKER, so RLS applies to callers):
  ``companion_match_memories(p_user_id, p_terms, p_phrases, p_embedding, p_model, p_limit,
  p_categories, p_neighbours, p_expand, p_exact_up_to)`` returns candidate memory rows
  with ``lexical`` and ``dense`` scores (lexical + dense + thread neighbours in one call);
  ``companion_touch_memories(p_user_id, p_ids, p_when)``;
  ``companion_embedding_models(p_user_id)``. SQLSTATE ``CM001`` means the user's vectors
  come from another embedding model than the query's.

Applied migrations are recorded in ``companion_schema_migrations``; each is applied in its
own transaction under an advisory lock, so concurrent runs are safe and re-running is a
no-op.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

import asyncpg  # type: ignore[import-untyped]

from companion.adapters.postgres._errors import connect_error, translate
from companion.domain.errors import SchemaError, StoreError

# An arbitrary constant: the advisory lock that serialises concurrent migration runs.
_LOCK_ID = 0x636F6D70616E  # "compan"
_TABLE = "companion_schema_migrations"
_APPLIED = "SELECT name, checksum FROM companion_schema_migrations ORDER BY name"
_CREATE_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {_TABLE} ("
    " name text PRIMARY KEY,"
    " checksum text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())"
)


@dataclass(frozen=True, slots=True)
class Migration:
    """One SQL file of this package."""

    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class MigrationStatus:
    """Which migrations a database has, and which of this code's it lacks."""

    applied: tuple[str, ...]
    pending: tuple[str, ...]
    unknown: tuple[str, ...]  # applied there but not shipped here: a newer schema
    modified: tuple[str, ...] = ()  # applied from a file that has changed since

    @property
    def current(self) -> bool:
        return not self.pending and not self.unknown


def available_migrations() -> list[Migration]:
    """The migrations shipped with this package, in order."""
    files = resources.files("companion.adapters.postgres") / "migrations"
    return sorted(
        (
            Migration(name=entry.name.removesuffix(".sql"), sql=entry.read_text(encoding="utf-8"))
            for entry in files.iterdir()
            if entry.name.endswith(".sql")
        ),
        key=lambda migration: migration.name,
    )


async def apply_migrations(dsn: str) -> list[str]:
    """Apply every migration the database lacks; the names applied now, in order.

    Safe to run concurrently (an advisory lock serialises runs) and idempotent.
    """
    conn = await _connect(dsn)
    try:
        return await _apply(conn, available_migrations())
    except asyncpg.PostgresError as exc:
        raise translate(exc) from exc
    finally:
        await conn.close()


async def migration_status(dsn: str) -> MigrationStatus:
    """What is applied and what is pending, without changing anything."""
    conn = await _connect(dsn)
    try:
        exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", _TABLE)
        done = (
            {row["name"]: row["checksum"] for row in await conn.fetch(_APPLIED)} if exists else {}
        )
    except asyncpg.PostgresError as exc:
        raise translate(exc) from exc
    finally:
        await conn.close()
    shipped = {migration.name: migration.checksum for migration in available_migrations()}
    return MigrationStatus(
        applied=tuple(name for name in done if name in shipped),
        pending=tuple(name for name in shipped if name not in done),
        unknown=tuple(name for name in done if name not in shipped),
        modified=tuple(name for name in done if shipped.get(name, done[name]) != done[name]),
    )


async def _connect(dsn: str) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(dsn, statement_cache_size=0)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
        raise connect_error(exc) from None


async def _apply(conn: asyncpg.Connection, migrations: list[Migration]) -> list[str]:
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
    try:
        # Under the lock: two first runs must not both create the table.
        await conn.execute(_CREATE_TABLE)
        done = {row["name"]: row["checksum"] for row in await conn.fetch(_APPLIED)}
        applied: list[str] = []
        for migration in migrations:
            if migration.name in done:
                continue
            try:
                async with conn.transaction():
                    await conn.execute(migration.sql)
                    await conn.execute(
                        "INSERT INTO companion_schema_migrations (name, checksum) VALUES ($1, $2)",
                        migration.name,
                        migration.checksum,
                    )
            except asyncpg.PostgresError as exc:
                error = translate(exc)
                if isinstance(error, StoreError) and type(error) is not StoreError:
                    raise error from exc
                raise SchemaError(
                    f"migration {migration.name} failed ({exc.sqlstate}): {exc}"
                ) from exc
            applied.append(migration.name)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)
