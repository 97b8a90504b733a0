"""Schema migrations: numbered .sql files shipped with the package, applied in order."""

from __future__ import annotations

import re
import sqlite3
import time
from dataclasses import dataclass
from importlib import resources

from companion.domain.errors import SchemaError

_PACKAGE = "companion.adapters.sqlite"
_FILE_RE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered schema step."""

    version: int
    name: str
    sql: str


def load_migrations() -> list[Migration]:
    """The migrations shipped with this package, by version; versions must run 1, 2, 3 …"""
    folder = resources.files(_PACKAGE).joinpath("migrations")
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _FILE_RE.match(entry.name)
        if match is None:
            continue
        found.append(
            Migration(
                version=int(match.group(1)),
                name=entry.name.removesuffix(".sql"),
                sql=entry.read_text(encoding="utf-8"),
            )
        )
    found.sort(key=lambda m: m.version)
    expected = list(range(1, len(found) + 1))
    if [m.version for m in found] != expected:
        # A gap would leave some databases without a step; refuse rather than guess.
        raise SchemaError(
            "companion's SQLite migrations are not numbered 0001, 0002, …: "
            + ", ".join(m.name for m in found)
        )
    return found


def split_statements(script: str) -> list[str]:
    """Split a SQL script into complete statements (trigger bodies stay whole).

    ``executescript`` would COMMIT the migration's transaction before running, so each
    statement is executed on its own inside it instead.
    """
    statements: list[str] = []
    buffer = ""
    for piece in script.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    # What is left after the last ';' is whitespace or comments; the split added a ';'.
    rest = buffer.removesuffix(";")
    if _strip_comments(rest):
        raise SchemaError("a migration ends with an incomplete SQL statement")
    return [s for s in statements if _strip_comments(s.removesuffix(";"))]


def _strip_comments(sql: str) -> str:
    lines = [line.split("--", 1)[0] for line in sql.splitlines()]
    return "\n".join(lines).strip()


def user_version(conn: sqlite3.Connection) -> int:
    """The schema version recorded in the database header."""
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def _too_new(found: int, latest: int) -> SchemaError:
    return SchemaError(
        f"database schema version {found} is newer than this companion ({latest}); "
        "upgrade companion"
    )


def migrate(conn: sqlite3.Connection, migrations: list[Migration]) -> int:
    """Apply pending migrations, one transaction each; return the resulting version.

    The connection must be in autocommit mode (``isolation_level=None``). Each step takes
    the write lock first and then re-reads the version, so two processes opening a fresh
    file at once apply each migration exactly once.
    """
    latest = migrations[-1].version if migrations else 0
    version = user_version(conn)
    if version > latest:
        raise _too_new(version, latest)
    while version < latest:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = user_version(conn)
            if version > latest:
                raise _too_new(version, latest)
            if version == latest:
                conn.execute("COMMIT")
                break
            step = migrations[version]  # versions are 1..latest, so index = version
            _apply(conn, step)
            conn.execute("COMMIT")
            version = step.version
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return version


def _apply(conn: sqlite3.Connection, step: Migration) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"
    )
    try:
        for statement in split_statements(step.sql):
            conn.execute(statement)
    except sqlite3.Error as exc:
        raise SchemaError(f"SQLite migration {step.name} failed: {exc}") from exc
    # PRAGMA takes no parameters; the version is an int we parsed from a file name.
    conn.execute(f"PRAGMA user_version = {int(step.version)}")
    conn.execute(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
        (step.version, step.name, time.time_ns() // 1_000),
    )
