"""PostgREST and transport failures -> the domain's errors.

A PostgREST error body is ``{code, message, details, hint}``; ``code`` is a PostgreSQL
SQLSTATE (``23505``) or one of PostgREST's own (``PGRST205``). Errors from in front of
PostgREST (Supabase's gateway, a proxy) may have no code at all, so the HTTP status
decides when the code does not:

=====================================================  ==================
code / status                                          domain error
=====================================================  ==================
CM001 (companion_match_memories: another model)        EmbeddingModelMismatch
23505 unique, 23P01 exclusion, 23503 foreign key, 409  Conflict
22xxx data exception, 23502 not null, 23514 check,     InvalidInput
54xxx too large, 413
42501, 28xxx, 0Lxxx, 0Pxxx, PGRST301-303, 401, 403     AccessDenied
P0002 no data, PGRST116 no row                         NotFound
42P01, 42883, 42703, 3F000, PGRST2xx                   SchemaError
08xxx, 40001, 40P01, 53xxx, 57xxx, 58xxx, PGRST000-3,  StoreUnavailable
408, 429, 5xx, timeouts, network errors
anything else                                          StoreError
=====================================================  ==================

A code the table does not name falls back to the status (a 500 is worth retrying).
"""

from __future__ import annotations

import httpx
from postgrest import APIError

from companion.domain.errors import (
    AccessDenied,
    CompanionError,
    Conflict,
    EmbeddingModelMismatch,
    InvalidInput,
    NotFound,
    SchemaError,
    StoreError,
    StoreUnavailable,
)

_MAX_MESSAGE = 300

_EXACT: dict[str, type[CompanionError]] = {
    "CM001": EmbeddingModelMismatch,  # raised on purpose by companion_match_memories
    "23505": Conflict,
    "23P01": Conflict,
    "23503": Conflict,
    "23502": InvalidInput,
    "23514": InvalidInput,
    "42501": AccessDenied,
    "PGRST301": AccessDenied,
    "PGRST302": AccessDenied,
    "PGRST303": AccessDenied,
    "P0002": NotFound,
    "PGRST116": NotFound,
    "42P01": SchemaError,
    "42883": SchemaError,
    "42703": SchemaError,
    "3F000": SchemaError,
    "40001": StoreUnavailable,
    "40P01": StoreUnavailable,
    "PGRST000": StoreUnavailable,
    "PGRST001": StoreUnavailable,
    "PGRST002": StoreUnavailable,
    "PGRST003": StoreUnavailable,
}
# SQLSTATE classes (the first two characters) and PostgREST code families.
_PREFIXES: tuple[tuple[str, type[CompanionError]], ...] = (
    ("PGRST2", SchemaError),
    ("22", InvalidInput),
    ("54", InvalidInput),
    ("28", AccessDenied),
    ("0L", AccessDenied),
    ("0P", AccessDenied),
    ("08", StoreUnavailable),
    ("53", StoreUnavailable),
    ("57", StoreUnavailable),
    ("58", StoreUnavailable),
)
_WHAT_IT_MEANS: dict[type[CompanionError], str] = {
    EmbeddingModelMismatch: (
        "the stored vectors come from another embedding model"
        " (run `companion-agent memories reindex`)"
    ),
    Conflict: "Supabase reports a conflict with a stored row",
    InvalidInput: "Supabase rejected the data as invalid",
    AccessDenied: "Supabase refused access (check the service-role key)",
    NotFound: "Supabase found nothing",
    SchemaError: "Supabase lacks a table, column or function (are the migrations applied?)",
    StoreUnavailable: "Supabase is unavailable",
    StoreError: "Supabase failed",
}


def error_class(code: str | None, status: int | None) -> type[CompanionError]:
    """The domain error for a PostgREST error code, else for the HTTP status."""
    if code:
        if code in _EXACT:
            return _EXACT[code]
        for prefix, error in _PREFIXES:
            if code.startswith(prefix):
                return error
        if status is None and code.isdigit() and len(code) == 3:
            # supabase-py puts the status in `code` when the body was not PostgREST's.
            status = int(code)
    if status is None:
        return StoreError
    if status in (401, 403):
        return AccessDenied
    if status == 409:
        return Conflict
    if status == 413:
        return InvalidInput
    if status in (408, 429) or status >= 500:
        return StoreUnavailable
    return StoreError


def api_error(
    exc: APIError, status: int | None, *, what: str, secrets: tuple[str, ...]
) -> CompanionError:
    """The domain error for a PostgREST error answer, its message free of secrets."""
    code = exc.code if isinstance(exc.code, str) else None
    error = error_class(code, status)
    detail = scrub(str(exc.message or ""), secrets)
    label = code or (str(status) if status is not None else "no code")
    message = f"{_WHAT_IT_MEANS[_family(error)]} while {what} ({label})"
    if detail:
        message += f": {detail}"
    return error(message[:_MAX_MESSAGE])


def transport_error(exc: httpx.HTTPError, *, what: str) -> StoreError:
    """StoreUnavailable for timeouts and network failures, StoreError for the rest.

    Only the exception's type is named: httpx messages can echo the URL.
    """
    if isinstance(exc, httpx.TimeoutException):
        return StoreUnavailable(f"Supabase timed out while {what} ({type(exc).__name__})")
    if isinstance(exc, httpx.TransportError):
        return StoreUnavailable(f"Supabase is unreachable while {what} ({type(exc).__name__})")
    return StoreError(f"Supabase request failed while {what} ({type(exc).__name__})")


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every secret replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _family(error: type[CompanionError]) -> type[CompanionError]:
    for known in _WHAT_IT_MEANS:
        if issubclass(error, known):
            return known
    return StoreError
