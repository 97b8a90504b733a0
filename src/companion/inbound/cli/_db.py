"""``companion-agent db migrate --dsn postgresql://...``: create or update the schema.

Works on any PostgreSQL 15+ with pgvector: self-hosted, or a Supabase project through its
direct connection string. Idempotent, and safe to run from several places at once.
Failures raise domain errors (StoreUnavailable, SchemaError) whose messages never quote
the DSN; the entry point prints them as one line.
"""

from __future__ import annotations

from typing import TextIO

from companion.domain.errors import InvalidInput
from companion.main.operations import apply_migrations, migration_status


async def run_db_migrate(dsn: str, out: TextIO) -> int:
    """Apply the pending migrations and say which were applied and which already were."""
    if not dsn.startswith(("postgresql://", "postgres://")):
        raise InvalidInput("--dsn must be a postgresql:// connection string")
    before = await migration_status(dsn)
    if before.unknown:
        out.write(
            "The database has migrations this version does not know "
            f"({', '.join(before.unknown)}): it was migrated by a newer companion-agent.\n"
        )
    applied = await apply_migrations(dsn)
    already = [name for name in before.applied if name not in applied]
    for name in already:
        out.write(f"already applied  {name}\n")
    for name in applied:
        out.write(f"applied          {name}\n")
    if applied:
        out.write(f"Schema is up to date: {len(applied)} migration(s) applied now.\n")
    else:
        out.write("Schema is up to date: nothing to apply.\n")
    return 0
