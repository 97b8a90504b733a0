"""Logging: structlog configured once at start, with secrets redacted from every line.

structlog events pass :class:`SecretRedactor` as a processor. Everything logged through
the standard library (LiveKit, openai, httpx, asyncpg, websockets: whoever installs the
handler, and whenever) is scrubbed as its record is made: :func:`configure_logging`
installs a log-record factory that renders the message, the traceback and the stack with
secrets replaced before any handler, filter or formatter sees them.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, TextIO

import structlog

_SECRET_KEY_RE = re.compile(
    r"(pass(word)?|secret|token|api_?key|apikey|authorization|service_role|jwt|dsn|credential)",
    re.IGNORECASE,
)
_SECRET_VALUE_RES = (
    re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}"),  # OpenAI-style keys
    re.compile(r"\bsk_api_[A-Za-z0-9_\-]{4,}"),  # Uplift keys
    re.compile(r"\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+"),  # JWTs
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._\-]{8,}"),
)
_URL_PASSWORD_RE = re.compile(r"(?P<scheme>[a-z][a-z0-9+.\-]*://)(?P<user>[^:/@\s]*):[^@/\s]+@")
REDACTED = "[REDACTED]"


class SecretRedactor:
    """A structlog processor that scrubs secrets from keys, values and nested data."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret containing another is replaced whole.
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        """``text`` with every known secret and secret-looking token replaced."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        for pattern in _SECRET_VALUE_RES:
            text = pattern.sub(REDACTED, text)
        return _URL_PASSWORD_RE.sub(rf"\g<scheme>\g<user>:{REDACTED}@", text)

    def _clean(self, key: str, value: Any) -> Any:
        if _SECRET_KEY_RE.search(key) and value not in (None, "", False):
            return REDACTED
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, dict):
            return {k: self._clean(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self._clean(key, v) for v in value)
        if isinstance(value, BaseException):
            return self.scrub(f"{type(value).__name__}: {value}")
        return value

    def __call__(
        self, logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key in list(event_dict):
            event_dict[key] = self._clean(key, event_dict[key])
        return event_dict


_plain_record_factory = logging.getLogRecordFactory()


class _ScrubbedRecords:
    """A log-record factory whose records hold only scrubbed text.

    The message is rendered once (``msg % args``) and scrubbed; a traceback is formatted
    and scrubbed into ``exc_text``, which every standard formatter uses as it is.
    """

    def __init__(self, redactor: SecretRedactor) -> None:
        self._redactor = redactor
        self._formatter = logging.Formatter()

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = _plain_record_factory(*args, **kwargs)
        scrub = self._redactor.scrub
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a bad format string: keep it, scrubbed
            message = f"{record.msg} {record.args}"
        record.msg, record.args = scrub(message), None
        if record.exc_info:
            record.exc_text = scrub(self._formatter.formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return record


class _OneLineLibraryErrors(logging.Filter):
    """A library's traceback (asyncpg's pool while the database is down, say) becomes one
    line on the record's message, unless the level is DEBUG: a terminal user's
    conversation shares the stream, and a failure the companion rides out is not news."""

    def __init__(self, redactor: SecretRedactor) -> None:
        super().__init__()
        self._scrub = redactor.scrub

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and not record.name.startswith("companion"):
            exc = record.exc_info[1]
            if exc is not None:
                said = self._scrub(str(exc))
                record.msg = f"{record.getMessage()} ({type(exc).__name__}: {said})"
                record.args = None
            record.exc_info, record.exc_text = None, None
        return True


def configure_logging(
    *,
    level: str = "WARNING",
    fmt: str = "auto",
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> None:
    """Configure structlog (and stdlib logging) once, at program start.

    ``fmt`` "auto" renders for humans on a terminal and JSON lines otherwise.
    """
    out = stream if stream is not None else sys.stderr
    use_console = fmt == "console" or (fmt == "auto" and out.isatty())
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=False)
        if use_console
        else structlog.processors.JSONRenderer()
    )
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    redactor = SecretRedactor(secrets)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redactor,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    # Libraries that log through stdlib go to the same stream, at the same level, and
    # every record is scrubbed as it is made, whichever handler later writes it.
    logging.setLogRecordFactory(_ScrubbedRecords(redactor))
    root = logging.getLogger()
    handler = logging.StreamHandler(out)
    if numeric > logging.DEBUG:
        handler.addFilter(_OneLineLibraryErrors(redactor))
    root.handlers[:] = [handler]
    root.setLevel(numeric)


def bind_session(*, user_id: str, session_id: str) -> None:
    """Bind the session's ids to every event logged in this context."""
    structlog.contextvars.bind_contextvars(user_id=user_id, session_id=session_id)


def clear_session() -> None:
    """Forget the ids bound by :func:`bind_session`."""
    structlog.contextvars.clear_contextvars()


def configure_library_logging(secrets: Iterable[str] = ()) -> None:
    """For the library: the companion's events go to the standard library's loggers
    (``companion.*``), whose handlers and levels stay the application's to set, with
    secrets redacted from every record. structlog is configured only if the application
    has not configured it; nothing is printed unless the application's logging says so.
    """
    redactor = SecretRedactor(secrets)
    if not structlog.is_configured():
        structlog.configure(
            processors=[
                structlog.contextvars.merge_contextvars,
                structlog.stdlib.filter_by_level,
                structlog.processors.format_exc_info,
                redactor,
                structlog.processors.KeyValueRenderer(key_order=["event"]),
            ],
            logger_factory=structlog.stdlib.LoggerFactory(),
            wrapper_class=structlog.stdlib.BoundLogger,
            cache_logger_on_first_use=False,
        )
    logging.setLogRecordFactory(_ScrubbedRecords(redactor))
    # A library's loggers print nothing unless the application's logging says so (not
    # even through the standard library's last-resort handler).
    logging.getLogger("companion").addHandler(_LIBRARY_HANDLER)


_LIBRARY_HANDLER = logging.NullHandler()
