"""The domain's errors: every failure a caller of companion can tell apart.

Adapters translate SDK and driver errors into these at the boundary
(``raise StoreUnavailable(...) from exc``, or ``from None`` where the original message
could carry a secret). Messages never contain secrets.

Hierarchy::

    CompanionError
    ├── InvalidInput                 bad input at a boundary (UUID, size, argument, file)
    │   └── InvalidUserId            not a UUID (or a name that cannot map to one)
    ├── AccessDenied                 the write guard refused: not this session's user
    ├── NotFound                     a memory, profile or session that does not exist
    ├── Conflict                     a write clashes with what is stored (duplicate id or key)
    ├── ConfigurationError           settings that cannot work together
    ├── StoreError                   a storage backend failed
    │   ├── StoreUnavailable         it cannot be reached now (retry later)
    │   └── SchemaError              its schema is newer/unknown or a migration failed
    ├── EmbeddingError               the embedding model failed
    │   ├── ModelUnavailable         weights missing or unreadable (says how to get them)
    │   ├── EmbeddingUnavailable     a remote embedding service cannot be reached now
    │   └── EmbeddingModelMismatch   vectors from two models mixed in one search
    ├── ChatModelError               the chat model failed
    │   └── ChatModelUnavailable     it cannot be reached now (the app falls back to offline)
    ├── CacheError                   the cache backend failed
    │   └── CacheUnavailable         it cannot be reached now (the app uses the in-process cache)
    └── SpeechError                  speech synthesis failed (``code``: the service's error code)
        ├── SpeechUnavailable        the service cannot be reached, timed out or dropped (retry)
        ├── SpeechAuthError          the service refused the API key (do not retry)
        ├── SpeechRateLimited        too many requests now (retry after a backoff)
        ├── SpeechRequestRejected    this request is invalid: text, voice, format (do not retry)
        └── SpeechSynthesisFailed    the service failed on this text (a retry may succeed)
"""

from __future__ import annotations


class CompanionError(Exception):
    """Base of every error companion raises on purpose."""


class InvalidInput(CompanionError, ValueError):
    """Input rejected at a boundary; nothing was written."""


class InvalidUserId(InvalidInput):
    """A user id that is not a UUID (and not a usable name)."""


class AccessDenied(CompanionError, PermissionError):
    """The session tried to read or write another user's data."""


class NotFound(CompanionError, LookupError):
    """The requested object does not exist (for this user)."""


class Conflict(CompanionError):
    """A write clashes with what is stored: a duplicate id, or a key already in use."""


class ConfigurationError(CompanionError):
    """Settings that cannot work, e.g. a malformed URL or a missing companion key."""


class StoreError(CompanionError):
    """A storage backend failed."""


class StoreUnavailable(StoreError):
    """The storage backend cannot be reached or is locked; the operation may be retried."""


class SchemaError(StoreError):
    """The stored schema is unknown (newer than this code) or a migration failed."""


class EmbeddingError(CompanionError):
    """The embedding model failed."""


class ModelUnavailable(EmbeddingError):
    """The embedding model's weights are missing or unreadable."""


class EmbeddingUnavailable(EmbeddingError):
    """A remote embedding service cannot be reached now; the operation may be retried."""


class EmbeddingModelMismatch(EmbeddingError):
    """Vectors from different embedding models were mixed; run `memories reindex`."""


class ChatModelError(CompanionError):
    """The chat model failed."""


class ChatModelUnavailable(ChatModelError):
    """The chat model cannot be reached now."""


class CacheError(CompanionError):
    """The cache backend failed."""


class CacheUnavailable(CacheError):
    """The cache backend cannot be reached now (or timed out); reads fall back, nothing is lost."""


class SpeechError(CompanionError):
    """Speech synthesis failed; ``code`` is the service's error code when it sent one."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class SpeechUnavailable(SpeechError):
    """The speech service cannot be reached, timed out, or dropped the connection mid-way."""


class SpeechAuthError(SpeechError):
    """The speech service refused the API key; retrying with the same key cannot help."""


class SpeechRateLimited(SpeechError):
    """The speech service is rate-limiting this key; retry after a backoff."""


class SpeechRequestRejected(SpeechError):
    """The speech service refused this request (too long, duplicate id, unknown voice)."""


class SpeechSynthesisFailed(SpeechError):
    """The speech service failed to synthesize this text; a retry may succeed."""
