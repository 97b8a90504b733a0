"""SupabaseClient: one supabase-py AsyncClient over one httpx client, shared by the stores.

The stores speak PostgREST through supabase-py's async query builders; this module owns
the client they share (timeouts, retries, closing) and turns every failure into one of the
domain's errors at the boundary (see :mod:`companion.adapters.postgres.supabase._errors`).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any, Protocol

import httpx
from postgrest import APIError, AsyncRequestBuilder, AsyncRPCFilterRequestBuilder
from supabase import AsyncClient, AsyncClientOptions, AsyncSupabaseException

from companion.adapters.postgres.supabase._errors import api_error, transport_error
from companion.domain.errors import ConfigurationError, StoreError

# Deliberate limits: a voice turn cannot wait minutes for a store. Connecting is quick or
# not happening; a hybrid search over a large user should answer well within the read
# timeout; waiting for a free pooled connection longer than a few seconds means overload.
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=3.0, pool=5.0)
DEFAULT_MAX_CONNECTIONS = 20

# The HTTP status of the last response seen by the current task. PostgREST errors carry a
# SQLSTATE or PGRST code, but gateway errors (an invalid API key, a proxy's 502 page) do
# not, and supabase-py's APIError drops the status: a response hook records it here.
# Each asyncio task runs in its own context, so concurrent requests never see each
# other's status.
_LAST_STATUS: ContextVar[int | None] = ContextVar("companion_supabase_status", default=None)


async def _remember_status(response: httpx.Response) -> None:
    _LAST_STATUS.set(response.status_code)


class _Response(Protocol):
    data: Any
    count: int | None


class _Executable(Protocol):
    async def execute(self) -> Any: ...


class SupabaseClient:
    """The Supabase project the stores share: one connection pool, closed once.

    Built with the service-role key, which bypasses row-level security: it belongs in the
    backend only, never in anything shipped to a user's device. Building the client
    sends nothing; the first store operation connects.

    ``retry`` keeps supabase-py's retries of idempotent reads (GET/HEAD answered 503/520
    or failing at the network level: three more attempts after 1, 2 and 4 s); tests and
    latency-critical callers turn it off. Writes and RPC calls are never retried.
    """

    def __init__(
        self,
        url: str,
        key: str,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        retry: bool = True,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        schema: str = "public",
    ) -> None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigurationError("SUPABASE_URL must be an http(s) URL")
        if not isinstance(key, str) or not key.strip():
            raise ConfigurationError("a Supabase service-role key is required")
        self._secrets = _secrets_of(url, key)
        # Our own httpx client, so that its timeouts and pool are ours and closing it
        # closes every connection: supabase-py's AsyncClient has no close of its own.
        self._http = httpx.AsyncClient(
            # As supabase-py's own client: concurrent requests share a connection.
            # (postgrest-py requires httpx[http2], so h2 is always installed.)
            http2=True,
            timeout=timeout,
            limits=httpx.Limits(max_connections=max_connections),
            event_hooks={"response": [_remember_status]},
        )
        options = AsyncClientOptions(
            schema=schema,
            httpx_client=self._http,
            postgrest_client_retry=retry,
            # A service-role backend never signs a user in: no session to keep or refresh.
            auto_refresh_token=False,
            persist_session=False,
        )
        try:
            # `acreate_client` is this constructor plus a read of the signed-in user's
            # session from storage, which a service-role backend never has.
            self._client = AsyncClient(url, key, options)
        except (AsyncSupabaseException, ValueError):  # yarl's ValueError: a malformed URL
            raise ConfigurationError("SUPABASE_URL or the Supabase key is invalid") from None
        self._closed = False

    @property
    def closed(self) -> bool:
        """True once :meth:`aclose` ran."""
        return self._closed

    def table(self, name: str) -> AsyncRequestBuilder:
        """A PostgREST query builder for one table."""
        self._check_open()
        return self._client.table(name)

    def rpc(self, function: str, params: Mapping[str, Any]) -> AsyncRPCFilterRequestBuilder:
        """A PostgREST call of one SQL function (``POST /rest/v1/rpc/<function>``)."""
        self._check_open()
        return self._client.rpc(function, dict(params))

    async def erase(self, function: str, user_id: str, *, what: str) -> int:
        """Call one of migration 0009's erase functions for this user: the rows deleted."""
        response = await self.execute(self.rpc(function, {"p_user_id": user_id}), what=what)
        count = response.data
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise StoreError(f"Supabase answered {what} with something other than a count")
        return count

    async def execute(self, query: _Executable, *, what: str) -> _Response:
        """Send one built query; every failure becomes a domain error.

        ``what`` names the operation in error messages ("saving a memory"). Messages
        never carry the key or URL credentials, and transport errors are raised
        ``from None`` because httpx's carry the request, headers included.
        """
        self._check_open()
        token = _LAST_STATUS.set(None)
        try:
            response: _Response = await query.execute()
        except APIError as exc:
            error = api_error(exc, _LAST_STATUS.get(), what=what, secrets=self._secrets)
            if any(secret in repr(exc) for secret in self._secrets):
                raise error from None  # the server echoed a secret: do not keep it around
            raise error from exc
        except httpx.HTTPError as exc:
            raise transport_error(exc, what=what) from None
        except ValueError:
            # A 2xx answer that is not PostgREST's JSON (a captive portal, a wrong URL).
            raise StoreError(f"Supabase sent an unreadable answer while {what}") from None
        finally:
            _LAST_STATUS.reset(token)
        return response

    async def aclose(self) -> None:
        """Close every connection; the stores built on this client fail afterwards."""
        if self._closed:
            return
        self._closed = True
        await self._http.aclose()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the Supabase client is closed")


def _secrets_of(url: str, key: str) -> tuple[str, ...]:
    """What must never appear in a message: the key, and the URL's user info if any."""
    secrets = [key]
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise ConfigurationError("SUPABASE_URL is not a valid URL") from None
    if parsed.userinfo:
        secrets.append(parsed.userinfo.decode("ascii", "replace"))
        if parsed.password:
            secrets.append(parsed.password)
    return tuple(s for s in secrets if s)
