"""Settings: one pydantic-settings model, read from the environment (and .env) at start.

Environment names are flat and documented in the README: a group's name is the prefix of
its variables (``OPENAI_API_KEY`` -> ``openai.api_key``, ``REDIS_ENABLED`` ->
``redis.enabled``, ``COMPANION_DATA_DIR`` -> ``companion.data_dir``). Nothing is read at
import time: call :func:`load_settings`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import platformdirs
from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LogFormat = Literal["auto", "console", "json"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


def _check_url(value: str | None, schemes: tuple[str, ...], what: str) -> str | None:
    if value is None or not value.strip():
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in schemes or not parts.netloc:
        # Never echo the value: a URL can carry a password.
        raise ValueError(f"{what} must be a {' or '.join(schemes)} URL")
    return value.strip()


class CompanionSettings(BaseModel):
    """Core settings (``COMPANION_*``)."""

    data_dir: Path | None = None
    log_level: LogLevel = "WARNING"
    log_format: LogFormat = "auto"
    embedder: Literal["local", "hashing", "openai"] = "local"
    embedding_weights_dir: Path | None = None
    store: Literal["sqlite", "memory"] = "sqlite"
    cache_max_entries: int = Field(default=10_000, ge=1, le=10_000_000)
    cache_ttl_seconds: float = Field(default=300.0, gt=0, le=7 * 86400)
    # PostgreSQL and Supabase only: how long writes may wait to ride along with the user's
    # next turn before they are sent on their own (see adapters/postgres/write_behind.py).
    write_delay_seconds: float = Field(default=10.0, ge=0, le=3600)
    # How often a long-lived process (chat, a LiveKit job, a library session) works the
    # journal's abandoned turns in the background.
    recovery_sweep_seconds: float = Field(default=30.0, gt=0, le=3600)
    # How long a process's claim on a user's memory work lasts unless renewed: how long a
    # killed process's users wait before another process takes their turns over.
    memory_lease_seconds: float = Field(default=60.0, ge=1, le=86400)
    # How many users' memory work one process runs at once, and how many turns may wait
    # for it before it sheds load (a shed turn stays journalled; the sweep works it).
    memory_parallel: int = Field(default=16, ge=1, le=1024)
    memory_queue: int = Field(default=1000, ge=1, le=1_000_000)
    # SQLite only: the page cache's ceiling per connection, in MiB.
    sqlite_cache_mib: int = Field(default=8, ge=1, le=65536)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    def resolved_data_dir(self) -> Path:
        """The data directory: the setting, else the platform's user data directory."""
        if self.data_dir is not None:
            return self.data_dir.expanduser()
        return Path(platformdirs.user_data_dir("companion-agent", appauthor=False))


class RetrievalSettings(BaseModel):
    """Retrieval ranking (``RETRIEVAL_*``); docs/benchmarks.md says how each was chosen."""

    lexical_weight: float = Field(default=0.5, ge=0)
    dense_weight: float = Field(default=0.5, ge=0)
    neighbour_weight: float = Field(default=0.4, ge=0, le=10)
    thread_weight: float = Field(default=0.3, ge=0, le=10)
    importance_weight: float = Field(default=0.05, ge=0, lt=1)
    recency_weight: float = Field(default=0.05, ge=0, lt=1)
    half_life_days: float = Field(default=30.0, gt=0)
    window: int = Field(default=1, ge=0, le=10)
    temporal_weight: float = Field(default=0.3, ge=0, le=10)
    named_weight: float = Field(default=0.1, ge=0, le=10)
    answer_type_weight: float = Field(default=0.1, ge=0, le=10)
    date_slack_days: float = Field(default=3.0, ge=0, le=366)
    expand: int = Field(default=10, ge=0, le=1000)
    phrases: bool = True
    candidate_limit: int = Field(default=50, ge=1, le=1000)
    top_k: int = Field(default=5, ge=1, le=100)


class OpenAISettings(BaseModel):
    """An OpenAI-compatible endpoint (``OPENAI_*``); absent means the offline model."""

    api_key: SecretStr | None = None
    base_url: str | None = None
    model: str = "gpt-4o-mini"
    # Used only with COMPANION_EMBEDDER=openai (see the README: switching embedders needs
    # `memories reindex`, so a key alone never changes how memories are embedded).
    embedding_model: str = "text-embedding-3-small"
    embedding_dimensions: int = Field(default=1536, ge=1, le=16_000)
    # Speech recognition for the voice agent in a room (/audio/transcriptions).
    stt_model: str = "gpt-4o-mini-transcribe"

    _url = field_validator("base_url")(
        lambda v: _check_url(v, ("http", "https"), "OPENAI_BASE_URL")
    )

    @property
    def configured(self) -> bool:
        return self.api_key is not None or self.base_url is not None


class DatabaseSettings(BaseModel):
    """A PostgreSQL DSN (``DATABASE_URL``)."""

    url: SecretStr | None = None

    @field_validator("url")
    @classmethod
    def _dsn(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            _check_url(value.get_secret_value(), ("postgresql", "postgres"), "DATABASE_URL")
        return value


class SupabaseSettings(BaseModel):
    """A Supabase project (``SUPABASE_URL``, ``SUPABASE_SERVICE_ROLE_KEY``)."""

    url: str | None = None
    service_role_key: SecretStr | None = None
    anon_key: SecretStr | None = None

    _url = field_validator("url")(lambda v: _check_url(v, ("http", "https"), "SUPABASE_URL"))


class RedisSettings(BaseModel):
    """A Redis server (``REDIS_URL``, ``REDIS_ENABLED``)."""

    url: SecretStr | None = None
    enabled: bool | None = None

    @field_validator("url")
    @classmethod
    def _redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            _check_url(value.get_secret_value(), ("redis", "rediss", "unix"), "REDIS_URL")
        return value

    @property
    def active(self) -> bool:
        """Redis is used when a URL is set, unless REDIS_ENABLED is false."""
        return self.url is not None and self.enabled is not False


class UpliftAISettings(BaseModel):
    """Uplift AI's realtime TTS (``UPLIFTAI_*``)."""

    base_url: str = "wss://api.upliftai.org"
    api_key: SecretStr | None = None
    voice_id: str = "v_meklc281"
    output_format: str = "PCM_22050_16"

    _url = field_validator("base_url")(
        lambda v: _check_url(v, ("ws", "wss", "http", "https"), "UPLIFTAI_BASE_URL")
    )


class LiveKitSettings(BaseModel):
    """A LiveKit server (``LIVEKIT_*``)."""

    url: str | None = None
    api_key: SecretStr | None = None
    api_secret: SecretStr | None = None
    # Where the agent server's health endpoint listens: this machine only, by default.
    health_host: str = "127.0.0.1"

    _url = field_validator("url")(
        lambda v: _check_url(v, ("ws", "wss", "http", "https"), "LIVEKIT_URL")
    )


class Settings(BaseSettings):
    """Every setting of companion, grouped by concern."""

    model_config = SettingsConfigDict(
        env_nested_delimiter="_",
        env_nested_max_split=1,
        extra="ignore",
        case_sensitive=False,
        env_file=None,
    )

    companion: CompanionSettings = CompanionSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    openai: OpenAISettings = OpenAISettings()
    database: DatabaseSettings = DatabaseSettings()
    supabase: SupabaseSettings = SupabaseSettings()
    redis: RedisSettings = RedisSettings()
    upliftai: UpliftAISettings = UpliftAISettings()
    livekit: LiveKitSettings = LiveKitSettings()

    @model_validator(mode="after")
    def _weights(self) -> Settings:
        r = self.retrieval
        if r.lexical_weight + r.dense_weight <= 0:
            raise ValueError("retrieval lexical and dense weights must not both be zero")
        if r.importance_weight + r.recency_weight >= 1:
            raise ValueError("retrieval importance and recency weights must sum to less than 1")
        if self.supabase.url is not None and self.supabase.service_role_key is None:
            raise ValueError("SUPABASE_URL needs SUPABASE_SERVICE_ROLE_KEY (backend only)")
        if self.companion.embedder == "openai" and not self.openai.configured:
            raise ValueError("COMPANION_EMBEDDER=openai needs OPENAI_API_KEY or OPENAI_BASE_URL")
        return self

    def secret_values(self) -> list[str]:
        """Every configured secret, so the log redactor can scrub them anywhere."""
        found: list[str] = []
        for group in (
            self.openai,
            self.database,
            self.supabase,
            self.redis,
            self.upliftai,
            self.livekit,
        ):
            for name in type(group).model_fields:
                value = getattr(group, name)
                if isinstance(value, SecretStr) and value.get_secret_value():
                    found.append(value.get_secret_value())
        return found


def load_settings(*, env_file: Path | None = None, **overrides: object) -> Settings:
    """Read settings from the environment (and ``env_file`` if given), then apply overrides.

    Overrides are nested dicts by group, e.g. ``companion={"data_dir": path}``.
    """
    settings = Settings(_env_file=env_file)  # type: ignore[call-arg]
    if not overrides:
        return settings
    merged = settings.model_dump()
    for group, values in overrides.items():
        if not isinstance(values, dict):
            raise TypeError(f"override for {group!r} must be a dict")
        merged[group] = {**merged[group], **values}
    return Settings.model_validate(merged)
