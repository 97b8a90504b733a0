"""Fixtures shared by the Supabase wire-format suites (test_supabase_wire*.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import respx
from tests.integration._supabase_wire import KEY, REST, URL

from companion.adapters.postgres.supabase import SupabaseClient


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    """PostgREST of a made-up project, answered by respx (routes set by each test)."""
    with respx.mock(base_url=REST, assert_all_called=False) as router:
        yield router


@pytest.fixture
async def client() -> AsyncIterator[SupabaseClient]:
    """One SupabaseClient for that project, without retries, closed after the test."""
    shared = SupabaseClient(URL, KEY, retry=False)
    yield shared
    await shared.aclose()
