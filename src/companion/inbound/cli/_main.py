"""The program behind ``companion-agent``: parsing, settings, dispatch, one-line errors.

Errors reach the user as one line on stderr and a non-zero exit status (2 for bad input,
1 for a failure of a backend), never as a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

import structlog
from pydantic import ValidationError

from companion import __version__
from companion.core.validation_errors import first_problem
from companion.domain.errors import (
    AccessDenied,
    CompanionError,
    ConfigurationError,
    InvalidInput,
    ModelUnavailable,
    NotFound,
)
from companion.domain.validation import resolve_user_ref
from companion.inbound.cli._parser import PROG, VOICE_COMMANDS, UsageError, build_parser
from companion.main.logging import SecretRedactor, configure_logging
from companion.main.settings import Settings, load_settings

log = structlog.get_logger(__name__)

_SHUTDOWN_DRAIN_SECONDS = 10.0


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, object] = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = args.data_dir
    if getattr(args, "log_level", None):
        overrides["log_level"] = args.log_level
    try:
        return load_settings(companion=overrides) if overrides else load_settings()
    except ValidationError as exc:
        where, problem = first_problem(exc, default="settings", separator="_")
        raise ConfigurationError(f"setting {where.upper()}: {problem}") from None


async def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "bench":
        from companion.inbound.cli._bench import run_bench

        return await run_bench(args, settings, sys.stdout)
    if args.command == "say":
        from companion.inbound.cli._say import run_say

        return await run_say(
            settings,
            args.text,
            Path(args.out),
            voice=args.voice,
            output_format=args.format,
            stdout=sys.stdout,
        )
    if args.command == "db":
        return await _db(args, settings)
    from companion.main.container import build_container, shut_down

    if args.command in ("doctor", "stats"):
        return await _diagnostics(args, settings)
    user_id, _name = resolve_user_ref(args.user)
    container = build_container(settings)
    worker = container.services.memory_worker()
    try:
        # What this user said that an earlier process never turned into memories (a
        # crash, kill -9, an outage) is worked first, so the command sees it. Never
        # another user's, and never fatal: a turn that cannot be worked now is left for
        # a sweep, one that never can is parked. Chat does it as its session starts;
        # reindex and retry after fixing what parked them.
        if (
            args.command == "onboard"
            or (args.command == "memories" and args.action not in ("reindex", "retry"))
            or (args.command == "users" and args.action == "export")
        ):
            await worker.recover(user_id=user_id, retry_now=True)
        if args.command == "onboard":
            from companion.inbound.cli._onboard import run_onboard

            return await run_onboard(
                container, user_id, args.file, as_json=args.json, out=sys.stdout
            )
        if args.command == "chat":
            from companion.inbound.cli._chat import default_streams, run_chat

            stdin, stdout = default_streams()
            return await run_chat(container, user_id, stdin=stdin, stdout=stdout)
        if args.command == "users":
            from companion.inbound.cli._users import run_users

            return await run_users(container, user_id, args, sys.stdout)
        from companion.inbound.cli._memories import run_memories

        return await run_memories(container, user_id, args, sys.stdout)
    finally:
        # Bounded: what is not done in time stays journalled for the next start.
        await shut_down(container, within=_SHUTDOWN_DRAIN_SECONDS)


async def _db(args: argparse.Namespace, settings: Settings) -> int:
    if args.db_action != "migrate":
        raise UsageError("db needs an action: migrate")
    from companion.inbound.cli._db import run_db_migrate

    dsn = args.dsn or (settings.database.url.get_secret_value() if settings.database.url else None)
    if not dsn:
        raise ConfigurationError("db migrate needs --dsn or DATABASE_URL")
    return await run_db_migrate(dsn, sys.stdout)


async def _diagnostics(args: argparse.Namespace, settings: Settings) -> int:
    """``doctor`` and ``stats``: no journal recovery first, they must work when it cannot."""
    from companion.main.container import aclose_clients, build_container

    container = build_container(settings)
    try:
        if args.command == "doctor":
            from companion.inbound.cli._doctor import run_doctor

            return await run_doctor(container, settings, sys.stdout, as_json=args.json)
        from companion.inbound.cli._stats import run_stats

        user_id = resolve_user_ref(args.user)[0] if args.user else None
        return await run_stats(container, user_id, sys.stdout, as_json=args.json)
    finally:
        await aclose_clients(container)
        result = container.shutdown_resources()
        if result is not None:
            await result


def run(argv: Sequence[str] | None = None) -> int:
    """Run the console script; returns the exit status."""
    parser = build_parser()
    redactor = SecretRedactor()
    try:
        args, passed_on = parser.parse_known_args(argv)
        if passed_on and args.command not in VOICE_COMMANDS:
            raise UsageError(f"unrecognized arguments: {' '.join(passed_on)}")
        if args.version:
            print(f"{PROG} {__version__}")
            return 0
        if args.command is None:
            parser.print_help()
            return 2
        if args.command == "memories" and args.action is None:
            raise UsageError(
                "memories needs an action: list, search, forget, export, import or reindex"
            )
        if args.command == "users" and args.action is None:
            raise UsageError("users needs an action: export or erase")
        settings = _settings(args)
        redactor = SecretRedactor(settings.secret_values())
        configure_logging(
            level=settings.companion.log_level,
            fmt=settings.companion.log_format,
            secrets=settings.secret_values(),
        )
        if args.command in VOICE_COMMANDS:
            from companion.inbound.cli._voice import run_voice

            return run_voice(args, passed_on, settings)
        return asyncio.run(_dispatch(args, settings))
    except UsageError as exc:
        _error(str(exc), redactor)
        return 2
    except (InvalidInput, NotFound, AccessDenied, ConfigurationError, ModelUnavailable) as exc:
        _error(str(exc), redactor)
        return 2
    except CompanionError as exc:
        _error(str(exc), redactor)
        return 1
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        log.debug("unexpected_error", exc_info=True)
        _error(f"unexpected {type(exc).__name__}: {exc}", redactor)
        return 1


def _error(message: str, redactor: SecretRedactor) -> None:
    print(f"{PROG}: error: {redactor.scrub(message)}", file=sys.stderr)
