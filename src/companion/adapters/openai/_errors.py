"""SDK errors to domain errors, shared by the chat model and the embedder."""

from __future__ import annotations

import openai

from companion.domain.errors import CompanionError


def translate(
    exc: openai.OpenAIError,
    *,
    what: str,
    failed: type[CompanionError],
    unavailable: type[CompanionError],
) -> CompanionError:
    """The domain error for an SDK error; never the SDK's message (it may echo the key).

    ``failed`` is for errors a retry will not fix (auth, a rejected request);
    ``unavailable`` for the ones that pass (timeouts, 429, 5xx, no connection).
    """
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return failed(
            f"{what} authentication failed: check OPENAI_API_KEY (HTTP {exc.status_code})"
        )
    if isinstance(exc, openai.APITimeoutError):
        return unavailable(f"the {what} did not answer in time")
    if isinstance(exc, openai.APIConnectionError):
        return unavailable(f"the {what} cannot be reached")
    if isinstance(exc, openai.RateLimitError):
        return unavailable(f"the {what} is rate limiting requests (HTTP 429)")
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code >= 500:
            return unavailable(f"the {what} server failed (HTTP {exc.status_code})")
        return failed(f"the {what} rejected the request (HTTP {exc.status_code})")
    return failed(f"the {what} failed ({type(exc).__name__})")
