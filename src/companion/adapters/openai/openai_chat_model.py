"""OpenAIChatModel: the ChatModel port over any OpenAI-compatible chat-completions endpoint.

Works with OpenAI itself and with local servers that speak the same API (Ollama, vLLM,
llama.cpp). SDK errors are translated at this boundary into ChatModelError /
ChatModelUnavailable with messages that never carry the key or the server's reply.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import openai
import structlog
from pydantic import ValidationError

from companion.adapters.openai import _prompts
from companion.adapters.openai._errors import translate
from companion.domain.errors import (
    ChatModelError,
    ChatModelUnavailable,
    CompanionError,
    InvalidInput,
)
from companion.domain.models import (
    ChatRequest,
    Memory,
    MemoryCandidate,
    ProfileDraft,
    UserProfile,
)
from companion.domain.validation import validate_candidate
from companion.ports.chat_model import ChatModel

__all__ = ["OpenAIChatModel"]

log = structlog.get_logger(__name__)

# A companion that answers late is worse than one that answers simply: 3 s to connect
# catches a dead or unreachable server fast (the app then falls back to the offline
# model), and 10 s per read bounds a stalled server while leaving a streamed reply all
# the time it needs as long as tokens keep coming. Two retries (the SDK's backoff, which
# honours Retry-After) ride out a brief 429/5xx without stretching a turn past ~30 s.
# openai.Timeout is the SDK's own httpx Timeout (openai 3 ships on httpx2, older on httpx).
DEFAULT_TIMEOUT = openai.Timeout(10, connect=3)
DEFAULT_MAX_RETRIES = 2
# Local servers (Ollama, llama.cpp) need no key, but the SDK insists on one.
_NO_KEY = "not-needed"


class OpenAIChatModel(ChatModel):
    """Replies and memory extraction from an OpenAI-compatible chat-completions endpoint."""

    def __init__(
        self,
        *,
        model: str,
        api_key: str | None = None,
        base_url: str | None = None,
        client: openai.AsyncOpenAI | None = None,
    ) -> None:
        self._model = model
        self._client = client or openai.AsyncOpenAI(
            api_key=api_key or _NO_KEY,
            base_url=base_url,
            timeout=DEFAULT_TIMEOUT,
            max_retries=DEFAULT_MAX_RETRIES,
        )
        # Flipped (once) when the server rejects json_schema; later calls go straight to
        # json_object instead of paying for a rejected request every time.
        self._json_schema_supported = True

    @property
    def name(self) -> str:
        """The model's name, for logs and stats."""
        return f"openai:{self._model}"

    async def ping(self) -> str:
        """Check the server answers and accepts the key (lists its models; no tokens)."""
        try:
            page = await self._client.models.list()
        except openai.OpenAIError as exc:
            raise _translate(exc) from None
        served = [m.id for m in page.data]
        if served and self._model not in served:
            return f"reachable, but it does not list {self._model!r} ({len(served)} models)"
        return "reachable, key accepted"

    async def aclose(self) -> None:
        """Close the HTTP client (its connection pool)."""
        await self._client.close()

    async def reply(self, request: ChatRequest) -> str:
        """The whole reply to the last user message."""
        try:
            completion = await self._client.chat.completions.create(
                model=self._model,
                messages=_chat_messages(request),
            )
        except openai.OpenAIError as exc:
            raise _translate(exc) from None
        return _content(completion)

    async def stream_reply(self, request: ChatRequest) -> AsyncIterator[str]:
        """The reply as the server writes it, one content delta at a time."""
        try:
            stream = await self._client.chat.completions.create(
                model=self._model,
                messages=_chat_messages(request),
                stream=True,
            )
        except openai.OpenAIError as exc:
            raise _translate(exc) from None
        try:
            async for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content
        except openai.OpenAIError as exc:
            raise _translate(exc) from None
        finally:
            await stream.close()

    async def extract_memories(
        self, text: str, known: Sequence[Memory] = ()
    ) -> list[MemoryCandidate]:
        """Memories worth keeping from one user utterance, in one structured-output call.

        ``known`` related stored memories go into the prompt as data, so the model reuses
        their keys for updates and corrections instead of inventing new ones.
        """
        raw = await self._extraction(text, known)
        try:
            document = json.loads(raw)
        except json.JSONDecodeError:
            raise ChatModelError("the chat model's extraction was not valid JSON") from None
        items = document.get("memories") if isinstance(document, dict) else None
        if not isinstance(items, list):
            raise ChatModelError("the chat model's extraction has no list of memories")
        found: list[MemoryCandidate] = []
        dropped = 0
        for item in items:
            try:
                parsed = _prompts.ExtractedItem.model_validate(item)
                found.append(
                    validate_candidate(
                        MemoryCandidate(
                            category=parsed.category,
                            text=parsed.text,
                            importance=parsed.importance,
                            key=parsed.key,
                            value=parsed.value,
                            forget=parsed.forget,
                        )
                    )
                )
            except (ValidationError, InvalidInput):
                dropped += 1
        if dropped:
            log.warning("extracted_memories_dropped", n=dropped, kept=len(found))
        return found

    async def build_profile(self, profile: UserProfile, memories: Sequence[Memory]) -> ProfileDraft:
        """A draft of the profile from the stored one and these memories (one call)."""
        raw = await self._structured(
            lambda with_schema: _prompts.profile_messages(
                profile, memories, with_schema=with_schema
            ),
            _prompts.PROFILE_FORMAT,
        )
        try:
            drafted = _prompts.DraftedProfile.model_validate_json(raw)
        except ValidationError:
            raise ChatModelError("the chat model's profile was not the expected JSON") from None
        return ProfileDraft(
            name=drafted.name,
            language=drafted.language,
            interests=tuple(drafted.interests),
            goals=tuple(drafted.goals),
            preferences={p.key: p.value for p in drafted.preferences},
            notes=drafted.notes,
        )

    async def _structured(self, messages: Callable[[bool], Any], schema_format: Any) -> str:
        """One structured-output call: the strict schema where the server takes it,
        else JSON mode with the schema in the prompt (remembered for later calls)."""
        if self._json_schema_supported:
            try:
                return await self._json_call(messages(False), schema_format)
            except openai.BadRequestError as exc:
                if not _rejects_json_schema(exc):
                    raise _translate(exc) from None
                self._json_schema_supported = False
                log.info("json_schema_unsupported_using_json_object", model=self._model)
        fmt = _prompts.JSON_OBJECT_FORMAT
        try:
            return await self._json_call(messages(True), fmt)
        except openai.BadRequestError as exc:
            raise _translate(exc) from None

    async def _json_call(self, messages: Any, response_format: Any) -> str:
        try:
            completion = await self._client.chat.completions.create(
                model=self._model,
                messages=messages,
                response_format=response_format,
                temperature=0,
            )
        except openai.BadRequestError:
            raise  # _structured decides: json_schema unsupported, or a real rejection
        except openai.OpenAIError as exc:
            raise _translate(exc) from None
        return _content(completion)

    async def _extraction(self, text: str, known: Sequence[Memory]) -> str:
        def messages(with_schema: bool) -> Any:
            prompt = _prompts.extraction_prompt(with_schema=with_schema, known=known)
            return [{"role": "system", "content": prompt}, {"role": "user", "content": text}]

        return await self._structured(messages, _prompts.JSON_SCHEMA_FORMAT)


def _chat_messages(request: ChatRequest) -> Any:
    return _prompts.messages(request)


def _content(completion: Any) -> str:
    try:
        content = completion.choices[0].message.content
    except (AttributeError, IndexError, TypeError):
        raise ChatModelError("the chat model returned no choices") from None
    if not isinstance(content, str):
        raise ChatModelError("the chat model returned no text")
    return content


def _rejects_json_schema(exc: openai.BadRequestError) -> bool:
    said = f"{exc.message} {exc.body}".lower()
    return "response_format" in said or "json_schema" in said


def _translate(exc: openai.OpenAIError) -> CompanionError:
    return translate(
        exc, what="chat model", failed=ChatModelError, unavailable=ChatModelUnavailable
    )
