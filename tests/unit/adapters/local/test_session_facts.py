"""What the user said earlier in the session answers their questions before it is stored.

The reply does not wait for the memory work, so the offline model reads the session's
own words from the request's history (the same patterns the memory work runs).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import make_memory

from companion.adapters.local.offline_chat_model import OfflineChatModel
from companion.adapters.local.session_facts import with_session_facts
from companion.domain.models import ChatMessage, ChatRequest, Memory, Role

USER = uuid.UUID(int=12)
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def request(said: list[str], memories: tuple[Memory, ...] = ()) -> ChatRequest:
    messages = []
    for line in said:
        messages += [ChatMessage(Role.USER, line), ChatMessage(Role.ASSISTANT, "Okay.")]
    return ChatRequest(messages=tuple(messages[:-1]), memories=memories, profile=None)


def reply(req: ChatRequest) -> str:
    return asyncio.run(OfflineChatModel().reply(req))


def home(value: str) -> Memory:
    return make_memory(USER, f"Lives in {value}", key="location.home", value=value)


def test_words_said_a_moment_ago_answer_before_they_are_stored() -> None:
    assert "Lahore" in reply(request(["I live in Lahore.", "Where do I live?"]))


def test_the_sessions_word_is_newer_than_what_is_stored() -> None:
    said = request(["I moved to Berlin.", "Where do I live?"], (home("Paris"),))
    assert "Berlin" in reply(said) and "Paris" not in reply(said)


def test_the_last_of_the_sessions_words_wins() -> None:
    said = ["I live in Paris.", "I moved to Berlin.", "I live in Paris.", "Where do I live?"]
    assert "Paris" in reply(request(said, (home("Berlin"),)))


def test_forgetting_in_the_session_hides_the_stored_memory_it_names_only() -> None:
    forgot = request(["Forget that I live in Paris.", "Where do I live?"], (home("Paris"),))
    assert "Paris" not in reply(forgot)
    other = request(["Forget that I live in Paris.", "Where do I live?"], (home("Berlin"),))
    assert "Berlin" in reply(other)


def test_stored_memories_are_not_doubled() -> None:
    stored = (home("Paris"),)
    found = with_session_facts(request(["I live in Paris.", "Where do I live?"], stored))
    assert found == list(stored)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=60), max_size=6))
def test_any_history_is_read_without_error_and_keeps_every_unnamed_memory(
    lines: list[str],
) -> None:
    stored = (make_memory(USER, "Went to the museum"),)  # no slot: nothing can replace it
    found = with_session_facts(request([*lines, "What do you know about me?"], stored))
    assert stored[0] in found
    assert all(m.key for m in found if m is not stored[0])
    assert all(m.updated_at.tzinfo is not None for m in found)
