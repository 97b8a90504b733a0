"""asyncpg and connection failures -> the domain's errors.

Decided by SQLSTATE; messages keep PostgreSQL's own text for statement errors (it names
columns and constraints, never the connection string) and drop it for connection errors
(it can name the host, the user or the password's absence):

=====================================================  ========================
SQLSTATE                                               domain error
=====================================================  ========================
23505 unique, 23P01 exclusion, 23503 foreign key       Conflict
22xxx data exception, 23502 not null, 23514 check,     InvalidInput
54xxx too large
42501 insufficient privilege (and RLS), 28xxx          AccessDenied
CM001 (companion_match_memories: another model)        EmbeddingModelMismatch
42P01, 42883, 42703, 3F000                             SchemaError
08xxx, 40001, 40P01, 53xxx, 57xxx, 58xxx, network      StoreUnavailable
anything else                                          StoreError
=====================================================  ========================
"""

from __future__ import annotations

import asyncpg  # type: ignore[import-untyped]

from companion.domain.errors import (
    AccessDenied,
    CompanionError,
    Conflict,
    EmbeddingModelMismatch,
    InvalidInput,
    SchemaError,
    StoreError,
    StoreUnavailable,
)

REINDEX_HINT = "run `companion-agent memories reindex` to re-embed them with the current model"
_MIGRATE_HINT = "run `companion-agent db migrate --dsn ...` to create or update the schema"
_EXACT: dict[str, type[CompanionError]] = {
    "23505": Conflict,
    "23P01": Conflict,
    "23503": Conflict,
    "23502": InvalidInput,
    "23514": InvalidInput,
    "42501": AccessDenied,
    "CM001": EmbeddingModelMismatch,
    "42P01": SchemaError,
    "42883": SchemaError,
    "42703": SchemaError,
    "3F000": SchemaError,
    "40001": StoreUnavailable,
    "40P01": StoreUnavailable,
}
_CLASSES: dict[str, type[CompanionError]] = {
    "22": InvalidInput,
    "54": InvalidInput,
    "28": AccessDenied,
    "08": StoreUnavailable,
    "53": StoreUnavailable,
    "57": StoreUnavailable,
    "58": StoreUnavailable,
}
_MAX_MESSAGE = 300


def translate(exc: BaseException) -> CompanionError:
    """The domain error for a failure of an asyncpg call (raise it ``from exc``)."""
    if isinstance(exc, CompanionError):
        return exc
    if not isinstance(exc, asyncpg.PostgresError):
        return connect_error(exc)
    state = str(getattr(exc, "sqlstate", "") or "")
    kind = _EXACT.get(state) or _CLASSES.get(state[:2], StoreError)
    message = str(getattr(exc, "message", "") or exc)[:_MAX_MESSAGE]
    if kind is StoreUnavailable or (kind is AccessDenied and state.startswith("28")):
        return kind(f"PostgreSQL is unavailable ({state}); try again later")
    if kind is EmbeddingModelMismatch:
        return EmbeddingModelMismatch(f"{message}; {REINDEX_HINT}")
    if kind is SchemaError:
        return SchemaError(
            f"the companion schema is missing or outdated ({message}); {_MIGRATE_HINT}"
        )
    if kind is AccessDenied:
        return AccessDenied(f"PostgreSQL refused this for the current user: {message}")
    return kind(f"PostgreSQL rejected the statement ({state}): {message}")


def connect_error(exc: BaseException) -> StoreError:
    """StoreUnavailable for a connection failure, saying what kind without its details.

    The driver's message can carry the host, the user name or other parts of the DSN.
    """
    if isinstance(
        exc, asyncpg.InvalidPasswordError | asyncpg.InvalidAuthorizationSpecificationError
    ):
        return StoreUnavailable("PostgreSQL refused the credentials of the connection string")
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return StoreUnavailable("the database named in the connection string does not exist")
    if isinstance(exc, TimeoutError):
        return StoreUnavailable("PostgreSQL did not answer in time")
    return StoreUnavailable(f"cannot reach PostgreSQL ({type(exc).__name__})")
