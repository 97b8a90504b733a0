"""Logs are structured, carry the session's ids, and never contain a secret."""

from __future__ import annotations

import io
import json
import logging

import pytest
import structlog

from companion.main.logging import (
    REDACTED,
    bind_session,
    clear_session,
    configure_library_logging,
    configure_logging,
)

SECRET = "sk-live-9f8e7d6c5b4a3928"


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_json_events_with_session_ids() -> None:
    out = io.StringIO()
    configure_logging(level="INFO", fmt="json", stream=out)
    bind_session(user_id="u-1", session_id="s-1")
    try:
        structlog.get_logger("t").info("memory_saved", category="fact", n=2)
    finally:
        clear_session()
    (event,) = lines(out)
    assert event["event"] == "memory_saved"
    assert event["user_id"] == "u-1" and event["session_id"] == "s-1"
    assert event["n"] == 2 and event["level"] == "info"


def test_secrets_never_reach_the_log() -> None:
    out = io.StringIO()
    configure_logging(level="DEBUG", fmt="json", secrets=[SECRET, "plainpassword123"], stream=out)
    log = structlog.get_logger("t")
    log.info("request_sent", api_key=SECRET, headers={"Authorization": f"Bearer {SECRET}"})
    log.warning("connect_failed", url="postgresql://app:plainpassword123@127.0.0.1/db")
    log.info("echo", text=f"the key is {SECRET} and an uplift key sk_api_abc123def")
    log.info("jwt_seen", detail="token eyJhbGciOi.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl here")
    try:
        raise RuntimeError(f"upstream said: invalid key {SECRET}")
    except RuntimeError:
        log.exception("call_failed")
    text = out.getvalue()
    assert SECRET not in text
    assert "plainpassword123" not in text
    assert "sk_api_abc123def" not in text
    assert "eyJzdWIiOiIxMjM0In0" not in text
    assert text.count(REDACTED) >= 6
    events = lines(out)
    assert events[1]["url"] == f"postgresql://app:{REDACTED}@127.0.0.1/db"
    assert "call_failed" in text and "RuntimeError" in text  # the error itself still shows


def test_levels_filter() -> None:
    out = io.StringIO()
    configure_logging(level="WARNING", fmt="json", stream=out)
    log = structlog.get_logger("t")
    log.info("hidden")
    log.warning("shown")
    assert [e["event"] for e in lines(out)] == ["shown"]


def test_console_format_for_humans() -> None:
    out = io.StringIO()
    configure_logging(level="INFO", fmt="console", stream=out)
    structlog.get_logger("t").info("session_started", greeting="returning")
    assert "session_started" in out.getvalue() and "greeting=returning" in out.getvalue()


def test_library_logs_through_stdlib_are_redacted_whoever_writes_them() -> None:
    out = io.StringIO()
    configure_logging(level="DEBUG", fmt="json", secrets=[SECRET], stream=out)
    # A handler installed afterwards, as LiveKit's CLI and job processes do.
    theirs = io.StringIO()
    handler = logging.StreamHandler(theirs)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    livekit = logging.getLogger("livekit.agents")
    livekit.addHandler(handler)
    level = livekit.level
    livekit.setLevel(logging.DEBUG)  # `chat` quiets LiveKit; other tests may have run it
    try:
        livekit.warning("connecting to %s failed", f"wss://lk.example/rtc?access_token={SECRET}")
        logging.getLogger("httpx").info(
            "HTTP Request: POST %s", "https://u:hunter2pass@x.example/v1"
        )
        logging.getLogger("openai").debug("headers: %s", {"Authorization": f"Bearer {SECRET}"})
        try:
            raise ConnectionError(f"refused for key {SECRET}")
        except ConnectionError:
            livekit.exception("worker failed")
        logging.getLogger("asyncpg").warning("bad format %s %s", "only one")
    finally:
        livekit.removeHandler(handler)
        livekit.setLevel(level)
    for text in (out.getvalue(), theirs.getvalue()):
        assert SECRET not in text
        assert "hunter2pass" not in text
    assert "connecting to wss://lk.example/rtc?access_token=" in theirs.getvalue()
    assert "ConnectionError" in theirs.getvalue() and REDACTED in theirs.getvalue()
    assert "worker failed" in out.getvalue() and "bad format" in out.getvalue()


def test_a_librarys_traceback_is_one_line_unless_debugging() -> None:
    def pool_fails(level: str) -> str:
        out = io.StringIO()
        configure_logging(level=level, fmt="json", secrets=[SECRET], stream=out)
        try:
            raise OSError(f"connect to postgresql://app:{SECRET}@db:5432 refused")
        except OSError:
            logging.getLogger("asyncpg.pool").warning("Failed to restore the pool", exc_info=True)
        return out.getvalue()

    quiet = pool_fails("WARNING")
    assert "Traceback" not in quiet and SECRET not in quiet
    assert "Failed to restore the pool (OSError: connect to postgresql://" in quiet
    assert "Traceback" in pool_fails("DEBUG")  # asked for: all of it (still scrubbed)


def test_as_a_library_events_reach_the_applications_handlers_redacted_and_nothing_else(
    capsys: pytest.CaptureFixture[str],
) -> None:
    previous = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    structlog.reset_defaults()
    root.handlers[:] = []  # an application that configured no logging at all
    try:
        configure_library_logging([SECRET])
        structlog.get_logger("companion.core.memory_worker").warning(
            "memory_work_deferred", error=f"refused for key {SECRET}"
        )
        assert capsys.readouterr() == ("", "")  # not even the last-resort handler
        mine = io.StringIO()  # the application adds a handler: the events are there
        handler = logging.StreamHandler(mine)
        root.addHandler(handler)
        structlog.get_logger("companion.core.memory_worker").warning(
            "memory_work_deferred", error=f"refused for key {SECRET}"
        )
        root.removeHandler(handler)
    finally:
        structlog.configure(**previous)
        root.handlers[:], root.level = handlers, level
    said = mine.getvalue()
    assert "event='memory_work_deferred'" in said and REDACTED in said
    assert SECRET not in said
