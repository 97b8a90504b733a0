"""One line from a pydantic ValidationError: where the first problem is, and what it is."""

from __future__ import annotations

from pydantic import ValidationError


def first_problem(exc: ValidationError, *, default: str, separator: str = ".") -> tuple[str, str]:
    """The location of the first error (joined with ``separator``) and its message.

    Only the field path and pydantic's rule are used, never the input value, which may be
    long, or a secret.
    """
    first = exc.errors()[0]
    where = separator.join(str(p) for p in first["loc"]) or default
    return where, str(first["msg"])
