"""Reading more rows than one PostgREST answer may hold.

Supabase caps every answer at the project's "max rows" (1000 unless changed), silently:
asking for 5000 rows returns 1000. A read without a limit, or with a limit above a page,
goes page by page (``limit``/``offset``) until a page comes back short, which is one
request for any read that fits in a page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from companion.adapters.postgres.schema_json.codec import Row, rows_of
from companion.adapters.postgres.supabase.client import SupabaseClient
from companion.domain.errors import InvalidInput

DEFAULT_PAGE_SIZE = 1000


def check_page(size: object) -> int:
    """A page size: a positive integer."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise InvalidInput(f"page size must be a positive integer, got {size!r}")
    return size


async def fetch_pages(
    client: SupabaseClient,
    page: Callable[[int, int], Any],
    offset: int,
    limit: int | None,
    page_size: int,
    *,
    what: str,
) -> list[Row]:
    """Up to ``limit`` rows (all when None) from ``offset`` on.

    ``page(start, size)`` builds the query for ``size`` rows from row ``start``; it must
    order the rows completely, or pages could overlap or skip rows.
    """
    rows: list[Row] = []
    start, remaining = offset, limit
    while remaining is None or remaining > 0:
        size = page_size if remaining is None else min(page_size, remaining)
        response = await client.execute(page(start, size), what=what)
        got = rows_of(response.data)[:size]
        rows.extend(got)
        if len(got) < size:
            break
        start += size
        if remaining is not None:
            remaining -= size
    return rows
