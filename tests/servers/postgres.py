"""A throwaway PostgreSQL 15+ server with pgvector on 127.0.0.1, for tests and benchmarks.

The server is started once per test session (``postgres_server``), with the companion
schema migrated into database ``companion``; ``postgres_dsn`` empties the companion tables
before each test that uses it. Missing binaries fail the tests with the command that
installs them: a PostgreSQL suite is never silently skipped.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from companion.adapters.postgres.migrator import apply_migrations
from companion.domain.errors import CompanionError

PG_BIN = Path(os.environ.get("COMPANION_PG_BIN", "/usr/lib/postgresql/15/bin"))
INSTALL_HINT = "run `bash scripts/install-servers.sh` to install PostgreSQL 15 and pgvector"
COMPANION_TABLES = (
    "companion_memories",
    "companion_memory_vector_counts",
    "companion_profiles",
    "companion_turns",
    "companion_summaries",
    "companion_memory_claims",
)
_SETTINGS = (
    "-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
    " -c full_page_writes=off -c max_connections=100"
)


@dataclass
class PostgresServer:
    """A running server: superuser ``postgres`` over TCP, trust authentication."""

    root: Path
    port: int

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def dsn(self, database: str = "companion") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def pause(self) -> None:
        """Stop the server, keeping its data and port (a failover, a restart)."""
        _run([str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"])

    def resume(self) -> None:
        """Start a paused server again on the same port, with the same data."""
        options = f"{_SETTINGS} -p {self.port} -k {self.root}"
        _run(
            [
                str(PG_BIN / "pg_ctl"),
                *("-D", str(self.data_dir), "-o", options),
                *("-l", str(self.root / "server.log"), "-w", "-t", "30", "start"),
            ]
        )

    def stop(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            _run([str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"])
        shutil.rmtree(self.root, ignore_errors=True)


def _as_postgres(argv: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root: drop to the postgres user when root.
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _run(argv: list[str]) -> None:
    done = subprocess.run(_as_postgres(argv), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{Path(argv[0]).name} failed: {done.stderr.strip() or done.stdout}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server() -> PostgresServer:
    """initdb into a fresh temporary directory and start a server on a free port."""
    if not (PG_BIN / "initdb").exists() or not (PG_BIN / "pg_ctl").exists():
        raise RuntimeError(f"PostgreSQL binaries not found in {PG_BIN}: {INSTALL_HINT}")
    root = Path(tempfile.mkdtemp(prefix="companion-pg-"))
    root.chmod(0o755)  # the postgres user must reach the data and socket directories
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
    server = PostgresServer(root=root, port=0)
    try:
        _run(
            [
                str(PG_BIN / "initdb"),
                *("-D", str(server.data_dir), "-U", "postgres", "-A", "trust"),
                *("-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions"),
            ]
        )
        for _attempt in range(3):  # a free port can be taken before the server binds it
            server.port = _free_port()
            options = f"{_SETTINGS} -p {server.port} -k {root}"
            try:
                _run(
                    [
                        str(PG_BIN / "pg_ctl"),
                        *("-D", str(server.data_dir), "-o", options),
                        *("-l", str(root / "server.log"), "-w", "-t", "30", "start"),
                    ]
                )
                break
            except RuntimeError:
                if _attempt == 2:
                    raise
        # In a thread of its own: the caller may be inside a running event loop.
        with ThreadPoolExecutor(1) as worker:
            worker.submit(asyncio.run, _create_database(server)).result()
    except BaseException:
        server.stop()
        raise
    return server


async def _create_database(server: PostgresServer) -> None:
    conn = await asyncpg.connect(server.dsn("postgres"))
    try:
        await conn.execute("CREATE DATABASE companion")
    finally:
        await conn.close()
    try:
        await apply_migrations(server.dsn())
    except CompanionError as exc:  # e.g. pgvector missing: CREATE EXTENSION vector fails
        raise RuntimeError(f"{exc}; {INSTALL_HINT}") from exc


async def truncate(dsn: str) -> None:
    """Empty every companion table (between tests)."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"TRUNCATE {', '.join(COMPANION_TABLES)} RESTART IDENTITY")
    finally:
        await conn.close()


_server: PostgresServer | None = None


def running_server() -> PostgresServer:
    """The session's server, started on first use (stopped by ``postgres_server``)."""
    global _server
    if _server is None:
        try:
            _server = start_server()
        except RuntimeError as exc:
            pytest.fail(f"cannot start PostgreSQL for the tests: {exc}", pytrace=False)
    return _server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server (with pgvector and the companion schema) per test session."""
    global _server
    server = running_server()
    try:
        yield server
    finally:
        server.stop()
        _server = None


@pytest.fixture
async def postgres_dsn(postgres_server: PostgresServer) -> str:
    """The DSN of the migrated database, emptied for this test."""
    dsn = postgres_server.dsn()
    await truncate(dsn)
    return dsn
