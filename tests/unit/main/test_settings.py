"""Settings honour the documented environment names, and never echo secrets in errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from companion.main.settings import Settings, load_settings

ALL_NAMES = [
    "COMPANION_DATA_DIR",
    "COMPANION_LOG_LEVEL",
    "COMPANION_EMBEDDER",
    "COMPANION_STORE",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "DATABASE_URL",
    "SUPABASE_URL",
    "SUPABASE_SERVICE_ROLE_KEY",
    "REDIS_URL",
    "REDIS_ENABLED",
    "UPLIFTAI_BASE_URL",
    "UPLIFTAI_API_KEY",
    "LIVEKIT_URL",
    "LIVEKIT_API_KEY",
    "LIVEKIT_API_SECRET",
    "RETRIEVAL_HALF_LIFE_DAYS",
    "RETRIEVAL_TEMPORAL_WEIGHT",
    "RETRIEVAL_NAMED_WEIGHT",
    "RETRIEVAL_DATE_SLACK_DAYS",
    "RETRIEVAL_ANSWER_TYPE_WEIGHT",
]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ALL_NAMES:
        monkeypatch.delenv(name, raising=False)


def test_defaults_are_the_embedded_backends() -> None:
    s = load_settings()
    assert s.companion.store == "sqlite"
    assert s.companion.embedder == "local"
    assert not s.openai.configured
    assert not s.redis.active
    assert s.secret_values() == []
    assert s.companion.resolved_data_dir().name == "companion-agent"


def test_documented_names_work_as_written(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env = {
        "COMPANION_DATA_DIR": str(tmp_path),
        "COMPANION_LOG_LEVEL": "debug",
        "OPENAI_API_KEY": "sk-test-0123456789",
        "OPENAI_BASE_URL": "http://127.0.0.1:11434/v1",
        "DATABASE_URL": "postgresql://app:pw@127.0.0.1:5432/companion",
        "SUPABASE_URL": "http://127.0.0.1:54321",
        "SUPABASE_SERVICE_ROLE_KEY": "service-role-secret",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "REDIS_ENABLED": "false",
        "UPLIFTAI_BASE_URL": "ws://127.0.0.1:9000",
        "UPLIFTAI_API_KEY": "sk_api_abcdef",
        "LIVEKIT_URL": "ws://127.0.0.1:7880",
        "LIVEKIT_API_KEY": "lk-key",
        "LIVEKIT_API_SECRET": "lk-secret-value",
        "RETRIEVAL_HALF_LIFE_DAYS": "7",
        "RETRIEVAL_TEMPORAL_WEIGHT": "0.5",
        "RETRIEVAL_NAMED_WEIGHT": "0",
        "RETRIEVAL_DATE_SLACK_DAYS": "1.5",
        "RETRIEVAL_ANSWER_TYPE_WEIGHT": "0.2",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    s = load_settings()
    assert s.companion.resolved_data_dir() == tmp_path
    assert s.companion.log_level == "DEBUG"
    assert (
        s.openai.api_key is not None and s.openai.api_key.get_secret_value() == "sk-test-0123456789"
    )
    assert s.openai.base_url == "http://127.0.0.1:11434/v1"
    assert s.database.url is not None
    assert s.supabase.url == "http://127.0.0.1:54321"
    assert s.redis.enabled is False and not s.redis.active
    assert s.upliftai.base_url == "ws://127.0.0.1:9000"
    assert s.livekit.url == "ws://127.0.0.1:7880"
    assert s.retrieval.half_life_days == 7
    assert (s.retrieval.temporal_weight, s.retrieval.named_weight) == (0.5, 0)
    assert s.retrieval.date_slack_days == 1.5
    assert s.retrieval.answer_type_weight == 0.2
    secrets = set(s.secret_values())
    assert {
        "sk-test-0123456789",
        "service-role-secret",
        "sk_api_abcdef",
        "lk-secret-value",
    } <= secrets
    assert "sk-test-0123456789" not in repr(s)


def test_redis_is_on_when_a_url_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    assert load_settings().redis.active


def test_a_bad_url_is_rejected_without_echoing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://root:hunter2secret@db/x")
    with pytest.raises(ValidationError) as info:
        load_settings()
    assert "hunter2secret" not in str(info.value.errors()[0]["msg"])
    assert "DATABASE_URL" in str(info.value)


def test_overrides_are_validated() -> None:
    with pytest.raises(ValidationError):
        load_settings(companion={"cache_max_entries": 0})
    with pytest.raises(ValidationError):
        load_settings(retrieval={"date_slack_days": 400})
    with pytest.raises(ValidationError):
        load_settings(retrieval={"temporal_weight": -1})
    with pytest.raises(ValidationError):
        Settings.model_validate(
            {
                "retrieval": {
                    "lexical_weight": 0,
                    "dense_weight": 0,
                    "importance_weight": 0,
                    "recency_weight": 0,
                }
            }
        )
