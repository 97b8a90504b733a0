"""`companion-agent start|dev|console|connect|download-files`: LiveKit's commands.

They run on the companion's AgentServer (health server on 127.0.0.1) through LiveKit's
own CLI, which reads ``sys.argv``: every option that is not the companion's own is passed
through. Unlike LiveKit's CLI, ``start``/``dev``/``connect`` without a server to talk to
fail at once with one line and a non-zero status, instead of logging and exiting 0.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from companion.domain.errors import ConfigurationError
from companion.domain.validation import resolve_user_ref
from companion.inbound.cli._parser import PROG, UsageError
from companion.main.settings import Settings

# Each needs a server, and may be given it by an option instead of the environment.
_NEEDS_SERVER = frozenset({"start", "dev", "connect"})
_SERVER_SETTINGS = (
    ("LIVEKIT_URL", "--url", "url"),
    ("LIVEKIT_API_KEY", "--api-key", "api_key"),
    ("LIVEKIT_API_SECRET", "--api-secret", "api_secret"),
)


def _given(passed_on: Sequence[str], option: str) -> bool:
    return any(arg == option or arg.startswith(option + "=") for arg in passed_on)


def check_server_settings(command: str, settings: Settings, passed_on: Sequence[str]) -> None:
    """Raise one clear ConfigurationError when ``command`` has no LiveKit server to use."""
    if command not in _NEEDS_SERVER:
        return
    missing = [
        env
        for env, option, field in _SERVER_SETTINGS
        if getattr(settings.livekit, field) is None and not _given(passed_on, option)
    ]
    if missing:
        raise ConfigurationError(
            f"`{command}` needs a LiveKit server: set {', '.join(missing)} "
            "(or use `console` to talk to the agent without one)"
        )


def run_voice(args: argparse.Namespace, passed_on: Sequence[str], settings: Settings) -> int:
    """Run one of LiveKit's commands on the companion's agent server; the exit status."""
    command: str = args.command
    asking_help = any(arg in ("-h", "--help") for arg in passed_on)
    if not asking_help:
        check_server_settings(command, settings, passed_on)
    # Job processes read their settings from the environment, so the CLI's own options
    # travel there.
    os.environ["COMPANION_DATA_DIR"] = str(settings.companion.resolved_data_dir())
    os.environ["COMPANION_LOG_LEVEL"] = settings.companion.log_level
    if command == "console" and not asking_help:
        if not args.user:
            raise UsageError("console needs --user (a user UUID, or a name)")
        from companion.inbound.livekit.worker import CONSOLE_USER_ENV

        user_id, _name = resolve_user_ref(args.user)
        os.environ[CONSOLE_USER_ENV] = str(user_id)
    # No journal recovery here: it would hold up the worker's registration, and one
    # user's unworkable turn would stop it. Each job's session works its user's
    # leftovers as it starts, and sweeps the journal in the background while it lives.

    from livekit.agents import cli

    from companion.inbound.livekit.worker import build_server

    server = build_server(settings)
    # LiveKit's CLI sets up stdlib logging itself (its --log-level, its format).
    logging.getLogger().handlers.clear()
    sys.argv = [PROG, command, *passed_on]
    try:
        cli.run_app(server)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0
